"""How the recorder gets the browsers' encoded frames from aiortc instead of decoded pictures.

aiortc reassembles each received frame (its jitter buffer) and hands it to a decoder made by
``aiortc.rtcrtpreceiver.get_decoder``; whatever the decoder returns is what the track's
``recv()`` gives. The recorder process replaces that factory with one whose "decoder" returns
the encoded frame itself, so VP8 and Opus go into the file as they came: no decoding, no
encoding, a small share of a core per stream. Until a video stream's first key frame the
decoder reports an error, which makes aiortc ask the sender for one (RTCP PLI).

Also here: loopback host candidates, which aioice leaves out, for a recorder on the same
machine as the browsers (tests, a demo on one computer).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

import aioice.ice
import av
from aiortc import rtcrtpreceiver

from .writer import vp8_key_frame_size


@dataclass(frozen=True)
class EncodedFrame:
    kind: str  # "audio" or "video"
    data: bytes
    timestamp: int  # RTP clock, counted from the stream's first frame


class PassthroughDecoder:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.key_frame_seen = kind == "audio"

    def decode(self, encoded_frame) -> list[EncodedFrame]:
        if not self.key_frame_seen:
            if vp8_key_frame_size(encoded_frame.data) is None:
                # aiortc answers a decoder error with a picture loss indication: the
                # browser sends a key frame.
                raise av.error.InvalidDataError(errno.EINVAL, "waiting for a key frame")
            self.key_frame_seen = True
        return [EncodedFrame(self.kind, bytes(encoded_frame.data), encoded_frame.timestamp)]


def _passthrough_decoder(codec) -> PassthroughDecoder:
    if codec.mimeType.lower() not in ("video/vp8", "audio/opus"):
        raise ValueError(f"the recorder keeps VP8 and Opus only, not {codec.mimeType}")
    return PassthroughDecoder(codec.mimeType.split("/")[0].lower())


_original_host_addresses = aioice.ice.get_host_addresses


def _with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    addresses = _original_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    if use_ipv4 and "127.0.0.1" not in addresses:
        addresses.append("127.0.0.1")
    return addresses


def install(*, loopback: bool) -> None:
    """Patch aiortc (and aioice) in this process: only the recorder process calls it."""
    rtcrtpreceiver.get_decoder = _passthrough_decoder
    if loopback:
        aioice.ice.get_host_addresses = _with_loopback
