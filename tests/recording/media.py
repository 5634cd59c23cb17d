"""Real VP8 and Opus frames for recording tests, made with PyAV's encoders: what a browser
sends, without a browser."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import av


def vp8_frames(seconds: float, fps: int = 15, size: tuple[int, int] = (320, 240)) -> list[bytes]:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height = size
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, fps)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    frames = []
    for i in range(round(seconds * fps)):
        frame = av.VideoFrame(size[0], size[1], "yuv420p")
        for plane in frame.planes:  # a picture that changes every frame
            plane.update(bytes([(i * 7 + plane.line_size) % 255]) * plane.buffer_size)
        frame.pts = i
        frames += [bytes(p) for p in encoder.encode(frame)]
    frames += [bytes(p) for p in encoder.encode(None)]
    return frames


def opus_frames(seconds: float) -> list[bytes]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = 48_000
    encoder.layout = "stereo"
    encoder.format = "s16"
    frames = []
    samples = 960  # 20 ms
    for i in range(round(seconds * 50)):
        tone = [round(math.sin((i * samples + n) * 0.05) * 8000) for n in range(samples)]
        frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        frame.planes[0].update(struct.pack(f"<{2 * samples}h", *(x for t in tone for x in (t, t))))
        frame.sample_rate = 48_000
        frame.pts = i * samples
        frames += [bytes(p) for p in encoder.encode(frame)]
    return frames


def probe(path) -> dict:
    """What PyAV finds in a file: its streams' codecs, where its first packet is and its
    duration (to the end of the last packet), and how many video frames decode."""
    with av.open(str(path)) as container:
        codecs = sorted(s.codec_context.name for s in container.streams)
        start, end = None, 0.0
        decoded = 0
        for packet in container.demux():
            if packet.pts is None:
                continue
            at = float(packet.pts * packet.time_base)
            start = at if start is None else min(start, at)
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            if packet.stream.type == "video":
                decoded += len(packet.decode())
    return {"codecs": codecs, "start": start, "duration": end, "video_frames": decoded}
