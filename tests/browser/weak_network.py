"""A weak mobile network on the media path, on loopback only: coturn (Debian's turnserver)
with a configuration of its own on free ports, and a UDP proxy in front of it that loses,
delays and throttles the datagrams of the one page given the proxy's port as its TURN
server. With MEDIATION_ICE_TRANSPORT_POLICY=relay every media packet of that page crosses
the proxy; everyone else reaches coturn directly, on a clean path.

Nothing global (no ``tc netem`` on lo): other tests run beside these, on the same machine.
The proxy runs its own asyncio loop in a thread (Playwright's sync API holds the test's),
keeps a bounded number of flows and packets in flight, and stops by itself after
``lifetime`` seconds if nobody stops it first."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser.conftest import stop
from tests.conftest import require_service

TURNSERVER = shutil.which("turnserver") or shutil.which("turnserver", path="/usr/sbin:/sbin")


@dataclass(frozen=True)
class Profile:
    """What the network does to each datagram, in each direction (up and down alike)."""

    loss: float = 0.0  # share dropped at random
    delay: float = 0.0  # one way, seconds
    jitter: float = 0.0  # ± seconds around ``delay`` (no reordering: a link keeps order)
    rate: float | None = None  # bits a second each way; None: no cap
    queue: float = 0.5  # seconds of datagrams the link holds at ``rate``; more are dropped
    outage: bool = False  # everything dropped (a lift, a tunnel)


CLEAN = Profile()
# A phone on a weak 4G/3G cell: some loss, a long and uneven delay, little bandwidth.
MOBILE = Profile(loss=0.05, delay=0.150, jitter=0.050, rate=300_000)
# Worse: the edge of the cell.
HARSH = Profile(loss=0.18, delay=0.400, jitter=0.100, rate=300_000)
OUTAGE = Profile(outage=True)


@dataclass
class Direction:
    """What one direction of the proxy saw and did."""

    seen: int = 0
    dropped: int = 0  # at random, by the queue, or in an outage
    sent: int = 0
    sent_bytes: int = 0
    busy_until: float = 0.0  # when the link is free again (the rate cap)
    last_due: float = 0.0  # when the last datagram leaves (order kept)


@dataclass
class Counts:
    up: Direction = field(default_factory=Direction)  # page -> coturn
    down: Direction = field(default_factory=Direction)  # coturn -> page

    def __str__(self) -> str:
        return " ".join(
            f"{name}: {d.seen} seen, {d.dropped} dropped, {d.sent} sent ({d.sent_bytes} B);"
            for name, d in (("up", self.up), ("down", self.down))
        )


MAX_FLOWS = 64  # a browser's TURN allocations (a few per connection, more in restarts)
MAX_PENDING = 20_000  # datagrams in flight, whatever the profile


class ImpairmentProxy:
    """``with ImpairmentProxy(target) as proxy:`` listens on 127.0.0.1:``proxy.port`` and
    forwards to ``target`` through ``proxy.profile`` (replaceable at any time), one
    upstream socket per client address so the TURN server sees each allocation apart."""

    def __init__(
        self,
        target: tuple[str, int],
        profile: Profile = CLEAN,
        *,
        lifetime: float = 600.0,
        seed: int = 0,
    ) -> None:
        self.target = target
        self.profile = profile
        self.lifetime = lifetime
        self.counts = Counts()
        self.port = 0
        self.flows = 0
        # Each page socket's datagrams sent up and down, by its port.
        self.by_flow: dict[int, list[int]] = {}
        self._random = random.Random(seed)
        self._pending = 0
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    def __enter__(self) -> ImpairmentProxy:
        self._thread = threading.Thread(target=self._run, name="impairment-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            raise RuntimeError(f"the proxy did not start: {self._failure!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            # Its loop may close meanwhile (the lifetime ran out): nothing left to stop then.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # told to the starting thread
            self._failure = error
            self._ready.set()

    async def _serve(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # Each page socket's own socket toward the TURN server (being opened: _Opening).
        upstreams: dict[tuple[str, int], asyncio.DatagramTransport | _Opening] = {}
        opening: set[asyncio.Task] = set()
        proxy = self

        class Downstream(asyncio.DatagramProtocol):
            """Toward the page: datagrams from the page open (or use) its upstream."""

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                upstream = upstreams.get(addr)
                if upstream is None:
                    if len(upstreams) >= MAX_FLOWS:
                        proxy.counts.up.dropped += 1
                        return
                    upstreams[addr] = _Opening()
                    task = loop.create_task(open_upstream(addr, data))
                    opening.add(task)
                    task.add_done_callback(opening.discard)
                    proxy.flows += 1
                    return
                proxy._pass(proxy.counts.up, data, upstream, None, addr[1])

        class Upstream(asyncio.DatagramProtocol):
            def __init__(self, client: tuple[str, int]) -> None:
                self.client = client

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                proxy._pass(proxy.counts.down, data, listening, self.client, self.client[1])

        async def open_upstream(addr: tuple[str, int], first: bytes) -> None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: Upstream(addr), remote_addr=self.target
            )
            waiting = upstreams[addr]
            upstreams[addr] = transport
            held = waiting.held if isinstance(waiting, _Opening) else []
            for datagram in [first, *held]:
                self._pass(self.counts.up, datagram, transport, None, addr[1])

        listening, _ = await loop.create_datagram_endpoint(Downstream, local_addr=("127.0.0.1", 0))
        self.port = listening.get_extra_info("sockname")[1]
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), self.lifetime)
        except TimeoutError:
            pass  # stopped by itself: a test that forgot it does not leave it running
        finally:
            listening.close()
            for upstream in upstreams.values():
                if not isinstance(upstream, _Opening):
                    upstream.close()

    def _pass(
        self,
        direction: Direction,
        data: bytes,
        transport: asyncio.DatagramTransport | _Opening,
        to: tuple[str, int] | None,
        flow: int,
    ) -> None:
        """One datagram through the profile: lost, queued behind the rate cap (dropped when
        the queue is full), then delayed, in order."""
        if isinstance(transport, _Opening):  # its upstream is being opened: counted then
            transport.held.append(data)
            return
        direction.seen += 1
        profile = self.profile
        if profile.outage or self._random.random() < profile.loss or self._pending >= MAX_PENDING:
            direction.dropped += 1
            return
        assert self._loop is not None
        now = self._loop.time()
        leaves = now
        if profile.rate:
            start = max(now, direction.busy_until)
            if start - now > profile.queue:
                direction.dropped += 1
                return
            leaves = direction.busy_until = start + 8 * len(data) / profile.rate
        spread = self._random.uniform(-profile.jitter, profile.jitter) if profile.jitter else 0.0
        due = max(leaves + max(0.0, profile.delay + spread), direction.last_due)
        direction.last_due = due
        self._pending += 1

        def deliver() -> None:
            self._pending -= 1
            if transport.is_closing():
                return
            direction.sent += 1
            direction.sent_bytes += len(data)
            self.by_flow.setdefault(flow, [0, 0])[to is not None] += 1
            if to is None:
                transport.sendto(data)
            else:
                transport.sendto(data, to)

        if due <= now:
            deliver()
        else:
            self._loop.call_at(due, deliver)


class _Opening:
    """An upstream socket being opened: what arrives meanwhile waits for it."""

    def __init__(self) -> None:
        self.held: list[bytes] = []


# -- coturn ----------------------------------------------------------------------------------


@dataclass
class Turn:
    port: int
    secret: str
    log: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def settings(self) -> dict[str, str]:
        """The server's and the recorder's settings: media through this TURN server only."""
        return {
            "MEDIATION_ICE_TURN_URLS": self.url,
            "MEDIATION_TURN_SECRET": self.secret,
            "MEDIATION_ICE_TRANSPORT_POLICY": "relay",
        }


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stun_answers(port: int, timeout: float = 0.5) -> bool:
    """A STUN binding request (RFC 5389) to 127.0.0.1:``port`` is answered."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout)
        probe.sendto(request, ("127.0.0.1", port))
        try:
            answer, _ = probe.recvfrom(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == transaction


# A port found free may be taken before coturn binds it (every such helper here finds a
# port, then binds it): coturn then says so and keeps trying the same port for ever, so a
# start that reads this is stopped and made again on another port.
TAKEN = "Cannot bind local socket"
STARTS = 4


@contextmanager
def turn_server(folder: Path, within: float = 60.0) -> Iterator[Turn]:
    """coturn on a free loopback port with its REST-API secret (as deploy/coturn/
    turnserver.conf, without TLS), relaying between loopback peers; stopped at the end.
    Without the Debian package the test is skipped, except under CI=true."""
    if TURNSERVER is None:
        require_service("coturn (Debian package)", FileNotFoundError("turnserver"))
    secret = secrets.token_urlsafe(24)
    deadline = time.monotonic() + within
    for start in range(1, STARTS + 1):
        port = _free_udp_port()
        log, out = folder / f"turnserver-{start}.log", folder / f"turnserver-{start}.out"
        conf = folder / f"turnserver-{start}.conf"
        conf.write_text(_configuration(port, secret, log, folder / f"turnserver-{start}.pid"))
        handle = out.open("w")
        process = subprocess.Popen(
            [TURNSERVER, "-c", str(conf)], stdout=handle, stderr=subprocess.STDOUT, cwd=folder
        )
        try:
            while not stun_answers(port):
                if TAKEN in out.read_text(errors="replace") and start < STARTS:
                    break  # the port was taken meanwhile: another one
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"coturn did not answer: {out.read_text()[-2000:]}")
            else:
                yield Turn(port, secret, log, process)
                return
        finally:
            stop(process, within=10)
            handle.close()
    raise RuntimeError(f"coturn found every port taken ({STARTS} tries)")


def _configuration(port: int, secret: str, log: Path, pidfile: Path) -> str:
    low = 40000 + secrets.randbelow(200) * 100  # relay ports of its own
    return "\n".join(
        [
            f"listening-port={port}",
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"min-port={low}",
            f"max-port={low + 99}",
            "realm=mediation.test",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            "fingerprint",
            "no-tls",
            "no-dtls",
            "no-tcp-relay",
            "no-cli",
            "no-multicast-peers",
            "allow-loopback-peers",
            "simple-log",
            "verbose",  # each allocation, permission and channel: for a failure's report
            f"log-file={log}",
            f"pidfile={pidfile}",
            "",
        ]
    )


# Run first in the page on the weak network: its TURN server is the proxy (the server's
# TURN URL, its port replaced), and what its media connections do is counted in
# window.netLog: connections made, ICE restarts offered, "restart" asked of a peer (in all,
# and by peer), and each ICE state the connections went through, with the time.
_HOOK = """
(() => {
  const Native = window.RTCPeerConnection;
  const log = window.netLog = {made: 0, iceRestarts: 0, restartAsked: 0, asked: {}, states: []};
  const via = (url) => PROXY === null ? url : url.replace(/:TURN(?=[?/]|$)/, ':' + PROXY);
  function Wrapped(config, ...rest) {
    if (config && config.iceServers) {
      config = Object.assign({}, config, {iceServers: config.iceServers.map((s) =>
        Object.assign({}, s, {urls: [].concat(s.urls).map(via)}))});
    }
    const pc = new Native(config, ...rest);
    const n = ++log.made;
    pc.addEventListener('iceconnectionstatechange', () =>
      log.states.push([n, pc.iceConnectionState, Date.now()]));
    const createOffer = pc.createOffer.bind(pc);
    pc.createOffer = (options) => {
      if (options && options.iceRestart) log.iceRestarts++;
      return createOffer(options);
    };
    return pc;
  }
  Wrapped.prototype = Native.prototype;
  window.RTCPeerConnection = Wrapped;
  let realIo = null;
  Object.defineProperty(window, 'io', {
    configurable: true,
    get: () => realIo,
    set: (io) => {
      realIo = Object.assign((...args) => {
        const s = io(...args);
        const emit = s.emit.bind(s);
        s.emit = (event, data, ...more) => {
          if (event === 'signal' && data && data.kind === 'restart') {
            log.restartAsked++;
            log.asked[data.to] = (log.asked[data.to] || 0) + 1;
          }
          return emit(event, data, ...more);
        };
        return s;
      }, io);
    },
  });
})();
"""


def page_hook(turn_port: int, proxy_port: int | None) -> str:
    """The init script for a page: counts what its connections do (window.netLog); with
    ``proxy_port``, its TURN server is reached through the proxy."""
    return _HOOK.replace("PROXY", "null" if proxy_port is None else str(proxy_port)).replace(
        ":TURN", f":{turn_port}"
    )
