"""The WebM writer, fed with real VP8 and Opus frames; its files opened with PyAV."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from mediation.recording.writer import WebmWriter, vp8_key_frame_size
from tests.recording.media import opus_frames, probe, vp8_frames


def feed(writer: WebmWriter, seconds: float, *, late: float = 0.0, video: bool = True) -> None:
    """Frames in the order they would arrive: 15 pictures and 50 sound frames a second."""
    events = [(i * 0.02, "a", f, i * 960) for i, f in enumerate(opus_frames(seconds))]
    if video:
        events += [(i / 15, "v", f, i * 6000) for i, f in enumerate(vp8_frames(seconds))]
    for at, kind, frame, rtp in sorted(events, key=lambda e: e[0]):
        add = writer.add_video if kind == "v" else writer.add_audio
        add(frame, rtp, arrived=at + late)


def test_frames_are_kept_as_sent_with_their_timing(tmp_path):
    writer = WebmWriter(tmp_path / "a.webm", opened=0.0)
    feed(writer, 6, late=0.5)
    assert abs(writer.close() - 6.5) < 0.1
    found = probe(tmp_path / "a.webm")
    assert found["codecs"] == ["opus", "vp8"]
    assert abs(found["duration"] - 6.5) < 0.1  # starts where the first frame arrived
    assert found["video_frames"] == 90


def test_someone_without_a_camera_is_recorded_as_sound(tmp_path):
    writer = WebmWriter(tmp_path / "a.webm", opened=0.0)
    feed(writer, 5, video=False)
    writer.close()
    found = probe(tmp_path / "a.webm")
    assert found["codecs"] == ["opus"] and abs(found["duration"] - 5) < 0.1


def test_pictures_before_the_first_key_frame_are_dropped(tmp_path):
    frames = vp8_frames(1)
    assert vp8_key_frame_size(frames[0]) == (320, 240)
    assert vp8_key_frame_size(frames[1]) is None
    writer = WebmWriter(tmp_path / "a.webm", opened=0.0)
    writer.add_video(frames[1], 6000, arrived=0.1)
    assert not writer.started and writer.empty  # closed now, it would write nothing
    writer.add_video(frames[0], 0, arrived=0.2)
    assert writer.started and not writer.empty


def test_sound_shorter_than_the_wait_for_a_picture_is_written_at_close(tmp_path):
    writer = WebmWriter(tmp_path / "a.webm", opened=0.0)
    writer.add_audio(opus_frames(1)[0], 0, arrived=0.1)
    assert not writer.started and not writer.empty
    writer.close()
    assert probe(tmp_path / "a.webm")["codecs"] == ["opus"]


def test_a_killed_writer_leaves_a_playable_file_missing_about_a_second(tmp_path):
    """kill -9 in the middle: no trailer, no cues; what was written still plays."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {os.getcwd()!r})
        from pathlib import Path
        from mediation.recording.writer import WebmWriter
        from tests.recording.test_writer import feed
        writer = WebmWriter(Path({str(tmp_path / "killed.webm")!r}), opened=0.0)
        feed(writer, 6)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert done.returncode == -signal.SIGKILL
    found = probe(tmp_path / "killed.webm")
    assert found["codecs"] == ["opus", "vp8"]
    assert 6 - 1.5 <= found["duration"] <= 6
    assert found["video_frames"] >= 60
