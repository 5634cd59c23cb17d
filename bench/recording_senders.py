"""Light participants for bench/recording_capacity.py: aiortc peers that join a room through
the platform's own signaling (the room namespace, logged in by their session cookie, as a
browser does) and send the recorder pre-encoded VP8 (320x180, 15 frames a second, what the
platform's client sends the recorder) and Opus (20 ms frames), paced in real time.

Nothing is encoded while the benchmark runs: the frames are made once with PyAV and sent
again and again (their RTP clock keeps counting), so a sender costs its packetizing and
SRTP only and the benchmark measures the recorder, not its senders. All of them run in one
asyncio loop in a thread of the benchmark's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import threading
import time

import av
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from mediation.recording.passthrough import install
from tests.recording.media import opus_frames, vp8_frames

RECORDER = 0
VIDEO_FPS = 15


class PacketTrack(MediaStreamTrack):
    """Encoded frames in a loop, each at its time: aiortc sends an ``av.Packet`` as it is
    (``Encoder.pack``), without encoding."""

    def __init__(self, kind: str, frames: list[bytes], interval: float, clock: int) -> None:
        super().__init__()
        self.kind = kind
        self.frames = frames
        self.interval = interval
        self.step = round(interval * clock)
        self.time_base = fractions.Fraction(1, clock)
        self.count = 0
        self.start: float | None = None

    async def recv(self) -> av.Packet:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.count * self.interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.frames[self.count % len(self.frames)])
        packet.pts = packet.dts = self.count * self.step
        packet.time_base = self.time_base
        self.count += 1
        return packet


class Sender:
    """One participant: its connection to the room and, while the layout joins it to the
    recorder, a peer connection sending to it."""

    def __init__(self, url: str, client: dict, media: tuple[list[bytes], list[bytes]]) -> None:
        self.url = url
        self.client = client
        self.media = media
        self.version = 0
        self.epoch: int | None = None
        self.pc: RTCPeerConnection | None = None
        self.sio = socketio.AsyncClient(reconnection=False)
        self.turn = asyncio.Lock()  # events one at a time, in order
        self.sio.on("welcome", self.on_welcome, namespace="/room")
        self.sio.on("layout", self.on_layout, namespace="/room")
        self.sio.on("signal", self.on_signal, namespace="/room")

    @property
    def connected(self) -> bool:
        return self.pc is not None and self.pc.connectionState == "connected"

    async def start(self) -> None:
        await self.sio.connect(
            self.url,
            headers={"Cookie": self.client["cookie"]},
            auth=self.client["auth"],
            namespaces=["/room"],
            transports=["websocket"],
        )

    async def stop(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        await self.sio.disconnect()

    async def on_welcome(self, welcome: dict) -> None:
        await self.on_layout(welcome["layout"])

    async def on_layout(self, layout: dict) -> None:
        async with self.turn:
            if layout["version"] < self.version:
                return
            self.version = layout["version"]
            wanted = RECORDER in layout["peers"]
            epoch = layout.get("epochs", {}).get(str(RECORDER))
            if self.pc is not None and (not wanted or epoch != self.epoch):
                await self.pc.close()
                self.pc = None
            self.epoch = epoch

    async def on_signal(self, message: dict) -> None:
        # An offer may overtake the layout that joins us to the recorder (layouts go out in
        # batches, signals at once): it is answered whatever this side knows yet.
        if message.get("from") != RECORDER or message.get("kind") != "offer":
            return  # aiortc puts every candidate into the description: no trickle
        async with self.turn:
            if self.pc is not None:
                await self.pc.close()
            self.epoch = message.get("epoch", self.epoch)
            # No STUN server (aiortc's default is a public one): host candidates on one machine.
            self.pc = pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            await pc.setRemoteDescription(RTCSessionDescription(**message["payload"]))
            video, audio = self.media
            pc.addTrack(PacketTrack("audio", audio, 0.02, 48_000))
            pc.addTrack(PacketTrack("video", video, 1 / VIDEO_FPS, 90_000))
            await pc.setLocalDescription(await pc.createAnswer())
            answer = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
            version = max(self.version, message.get("version", 0))
            await self.sio.emit(
                "signal",
                {"to": RECORDER, "kind": "answer", "payload": answer, "version": version},
                namespace="/room",
            )


class Senders:
    """Every sender of a run, in one asyncio loop in a thread of this process."""

    media: tuple[list[bytes], list[bytes]] | None = None

    def __init__(self, url: str, clients: list[dict]) -> None:
        if Senders.media is None:
            install(loopback=True)  # loopback candidates, as the recorder offers them
            Senders.media = (vp8_frames(10, VIDEO_FPS, (320, 180)), opus_frames(10))
        self.senders = [Sender(url, c, Senders.media) for c in clients]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._call(self._start())

    def _call(self, coroutine, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> None:
        # One after another, as people arrive (32 WebSocket handshakes at once on a busy
        # machine failed with "Unexpected connection error"), each tried a few times.
        for sender in self.senders:
            for attempt in range(5):
                try:
                    await sender.start()
                    break
                except socketio.exceptions.ConnectionError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(1)

    def connected(self) -> int:
        return sum(s.connected for s in self.senders)

    def close(self) -> None:
        async def stop_all():
            for sender in self.senders:
                with contextlib.suppress(Exception):
                    await sender.stop()

        self._call(stop_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
