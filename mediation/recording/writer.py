"""One participant's recording: the VP8 and Opus frames the browser sent, muxed into WebM as
they arrive, without decoding or re-encoding (PyAV).

The file's clock starts with its first frame (the first sound held, or the first picture),
which is when the room may begin to say "recording" (``layout.recording_state``): a file
timed from the offer would also count the seconds its connection took to set up. Each
stream's first frame is placed at its arrival time; later frames follow the stream's own RTP
clock, so jitter does not stretch the file.
Nothing is written until the first video key frame (the header needs the picture size) or,
for someone without a camera, until ``AUDIO_ONLY_AFTER`` seconds of sound. Clusters are
closed every second, so a killed writer leaves a playable file missing at most about one
second.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

VIDEO_CLOCK = Fraction(1, 90_000)
AUDIO_CLOCK = Fraction(1, 48_000)
AUDIO_ONLY_AFTER = 3.0
MAX_HELD = 500  # audio frames held before the header (10 s of 20 ms frames)


def vp8_key_frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) if ``data`` is a VP8 key frame (RFC 6386 section 9.1), else None."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


@dataclass
class _Clock:
    """Maps a stream's RTP timestamps to the file's time base."""

    rate: Fraction
    first_rtp: int | None = None
    offset: int = 0  # the first frame's place in the file, in the stream's clock
    last: int = -1

    def place(self, rtp: int, arrived: float, opened: float) -> int:
        if self.first_rtp is None:
            self.first_rtp = rtp
            self.offset = max(0, round((arrived - opened) / self.rate))
        pts = self.offset + (rtp - self.first_rtp)
        pts = max(pts, self.last + 1)  # strictly increasing, whatever the network did
        self.last = pts
        return pts


class WebmWriter:
    def __init__(self, path: Path, opened: float | None = None) -> None:
        self.path = path
        # When the file's time begins (monotonic seconds): given, or its first frame's arrival.
        self.opened = opened
        self.container = None
        self.video = None
        self.audio = None
        self.disk_full = False  # closing found the disk full: the file ends early
        self._held: list[tuple[bytes, int, float]] = []
        self._video_clock = _Clock(VIDEO_CLOCK)
        self._audio_clock = _Clock(AUDIO_CLOCK)
        self._first_audio: float | None = None
        self.end = 0.0  # seconds of the file written so far

    @property
    def started(self) -> bool:
        return self.container is not None

    @property
    def empty(self) -> bool:
        """Nothing to write, even at ``close``: no file has begun and no sound is held (the
        pictures before a first key frame are not kept)."""
        return self.container is None and not self._held

    def add_video(self, data: bytes, rtp: int, arrived: float | None = None) -> None:
        arrived = time.monotonic() if arrived is None else arrived
        if self.container is None:
            size = vp8_key_frame_size(data)
            if size is None:
                return  # undecodable until the first key frame
            self._open(size, arrived)
        if self.video is None:
            return  # opened without video (no camera at first): sound only
        pts = self._video_clock.place(rtp, arrived, self.opened)
        self._mux(self.video, data, pts, VIDEO_CLOCK, key=vp8_key_frame_size(data) is not None)

    def add_audio(self, data: bytes, rtp: int, arrived: float | None = None) -> None:
        arrived = time.monotonic() if arrived is None else arrived
        if self.container is None:
            self._first_audio = self._first_audio or arrived
            self._held.append((data, rtp, arrived))
            del self._held[:-MAX_HELD]
            if arrived - self._first_audio >= AUDIO_ONLY_AFTER:
                self._open(None, arrived)
            return
        pts = self._audio_clock.place(rtp, arrived, self.opened)
        self._mux(self.audio, data, pts, AUDIO_CLOCK, key=True)

    def close(self) -> float:
        """Finish the file (cues, duration); returns its duration in seconds."""
        if self.container is None and self._held:
            self._open(None, self._held[-1][2])  # sound only, shorter than the wait for a picture
        if self.container is not None:
            container, self.container = self.container, None
            try:
                container.close()
            except OSError as error:  # e.g. the disk is full: the cues cannot be written
                if error.errno != errno.ENOSPC:
                    raise
                # What was written stays, playable to its last cluster (written through);
                # the file is not whole, and is recorded so (``disk_full``).
                self.disk_full = True
        return self.end

    def _open(self, size: tuple[int, int] | None, arrived: float) -> None:
        if self.opened is None:  # the file's time begins with the first frame it keeps
            self.opened = min(arrived, self._held[0][2]) if self._held else arrived
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(
            str(self.path),
            mode="w",
            format="webm",
            # A cluster a second: what a crash can cost. Written through at once.
            options={
                "cluster_time_limit": "1000",
                "flush_packets": "1",
                # Do not hold packets back waiting for a paused stream (a camera turned
                # off): what is written is what a crash keeps (microseconds).
                "max_interleave_delta": "500000",
            },
        )
        if size is not None:
            # Encoder contexts only describe the streams: nothing is encoded.
            self.video = self.container.add_stream("libvpx", rate=30)
            self.video.width, self.video.height = size
            self.video.pix_fmt = "yuv420p"
        self.audio = self.container.add_stream("libopus", rate=48_000)
        self.audio.layout = "stereo"
        held, self._held = self._held, []
        for data, rtp, arrived in held:
            self.add_audio(data, rtp, arrived)

    def _mux(self, stream, data: bytes, pts: int, clock: Fraction, *, key: bool) -> None:
        packet = av.Packet(data)
        packet.stream = stream
        packet.time_base = clock
        packet.pts = packet.dts = pts
        packet.is_keyframe = key
        self.container.mux(packet)
        self.end = max(self.end, float(pts * clock))
