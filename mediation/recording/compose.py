"""After a session: one video of everyone side by side, with everyone's sound mixed, for
easier review (H.264 and AAC in MP4, which every browser plays).

Each participant's files are placed on one timeline by their start times. This module
regularises them (the latest picture at each tick, silence and black where someone was not
recorded) and lets ffmpeg's filters do the rest through PyAV: ``xstack`` puts the pictures
side by side, ``amix`` mixes the sound.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

FPS = 15
TILE = (320, 180)
RATE = 48_000
CHUNK = RATE // FPS  # sound samples per picture


@dataclass(frozen=True)
class Part:
    path: Path
    offset: float  # seconds from the start of the timeline


def _frames(parts: list[Part], kind: str) -> Iterator[tuple[float, av.frame.Frame]]:
    for part in parts:
        with av.open(str(part.path)) as container:
            streams = [s for s in container.streams if s.type == kind]
            if not streams:
                continue
            for frame in container.decode(streams[0]):
                if frame.time is not None:
                    yield part.offset + frame.time, frame


class _Pictures:
    """A participant's pictures: the latest one at any time, or black."""

    def __init__(self, parts: list[Part]) -> None:
        self.frames = _frames(parts, "video")
        self.next = next(self.frames, None)
        self.current: av.VideoFrame | None = None
        self.until = -1.0
        self.black = av.VideoFrame(*TILE, "yuv420p")
        for plane, value in zip(self.black.planes, (16, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)

    def at(self, t: float) -> av.VideoFrame:
        while self.next is not None and self.next[0] <= t:
            at, frame = self.next
            self.current = frame.reformat(width=TILE[0], height=TILE[1], format="yuv420p")
            self.until = at + 1.0  # a picture holds at most a second: then black
            self.next = next(self.frames, None)
        return self.current if self.current is not None and t <= self.until else self.black


class _Sound:
    """A participant's sound, as 16-bit mono samples on the timeline (silence where none)."""

    def __init__(self, parts: list[Part]) -> None:
        self.frames = _frames(parts, "audio")
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self.buffer = bytearray()
        self.start = 0  # sample index of buffer[0]
        self.done = False

    def take(self, first: int, count: int) -> bytes:
        while not self.done and self.start + len(self.buffer) // 2 < first + count:
            item = next(self.frames, None)
            if item is None:
                self.done = True
                break
            at, frame = item
            for piece in self.resampler.resample(frame):
                place = round(at * RATE)
                end = self.start + len(self.buffer) // 2
                if place > end:  # a gap: silence until this frame
                    self.buffer += bytes(2 * (place - end))
                self.buffer += bytes(piece.planes[0])[: 2 * piece.samples]
        wanted = bytearray()
        if first > self.start:
            drop = min(len(self.buffer), 2 * (first - self.start))
            del self.buffer[:drop]
            self.start += drop // 2
            self.start = max(self.start, first)
        wanted += self.buffer[: 2 * count]
        del self.buffer[: 2 * count]
        self.start += len(wanted) // 2
        return bytes(wanted) + bytes(2 * count - len(wanted))


def _grid(count: int) -> tuple[int, str]:
    columns = 1 if count == 1 else 2 if count <= 4 else 3
    cells = [f"{(i % columns) * TILE[0]}_{(i // columns) * TILE[1]}" for i in range(count)]
    return columns, "|".join(cells)


def compose(tracks: list[list[Part]], output: Path, duration: float) -> float:
    """Write ``output``; ``tracks`` is one list of parts per participant. Returns seconds."""
    count = len(tracks)
    pictures = [_Pictures(parts) for parts in tracks]
    sounds = [_Sound(parts) for parts in tracks]

    video_graph = av.filter.Graph()
    video_in = [
        video_graph.add_buffer(
            width=TILE[0], height=TILE[1], format="yuv420p", time_base=Fraction(1, FPS)
        )
        for _ in range(count)
    ]
    video_out = video_graph.add("buffersink")
    if count == 1:
        video_in[0].link_to(video_out)
    else:
        _, layout = _grid(count)
        stack = video_graph.add("xstack", f"inputs={count}:layout={layout}:fill=black")
        for i, source in enumerate(video_in):
            source.link_to(stack, 0, i)
        stack.link_to(video_out)
    video_graph.configure()

    audio_graph = av.filter.Graph()
    audio_in = [
        audio_graph.add_abuffer(
            format="s16", sample_rate=RATE, layout="mono", time_base=Fraction(1, RATE)
        )
        for _ in range(count)
    ]
    audio_out = audio_graph.add("abuffersink")
    mix = audio_graph.add("amix", f"inputs={count}:normalize=0")
    for i, source in enumerate(audio_in):
        source.link_to(mix, 0, i)
    mix.link_to(audio_out)
    audio_graph.configure()

    output.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(output), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        columns, _ = _grid(count)
        rows = -(-count // columns)
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height = TILE[0] * columns, TILE[1] * rows
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "veryfast", "crf": "28"}
        audio = out.add_stream("aac", rate=RATE)
        audio.layout = "mono"
        ticks = round(duration * FPS)
        for tick in range(ticks):
            t = tick / FPS
            for source, participant in zip(video_in, pictures, strict=True):
                frame = participant.at(t)
                frame.pts, frame.time_base = tick, Fraction(1, FPS)
                source.push(frame)
            while (stacked := _pull(video_out)) is not None:
                out.mux(video.encode(stacked))
            for source, participant in zip(audio_in, sounds, strict=True):
                chunk = av.AudioFrame(format="s16", layout="mono", samples=CHUNK)
                chunk.planes[0].update(participant.take(tick * CHUNK, CHUNK))
                chunk.sample_rate, chunk.pts = RATE, tick * CHUNK
                chunk.time_base = Fraction(1, RATE)
                source.push(chunk)
            while (mixed := _pull(audio_out)) is not None:
                out.mux(audio.encode(mixed))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return ticks / FPS


def _pull(sink):
    try:
        return sink.pull()
    except (av.error.BlockingIOError, av.error.EOFError):
        return None
