"""What reaches the Socket.IO port before the room's handlers: frames and packets checked.

python-engineio and python-socketio trust their peer more than a public server may: a frame
that is not an Engine.IO packet, invalid or deeply nested JSON, an event that is not a list
starting with a name, a binary attachment, a packet type clients never send: each raised
inside the libraries and wrote a traceback of ~3 KB, and the connection went on (issue 15,
finding 5). Here every such frame or packet closes the connection it came on, with one short
log line at most, and those lines are throttled. No client of the platform sends any of them
(the browser's socket.io-client, python-socketio in the recorder and the tests).

- ``SafeJSON`` is the JSON module of both libraries: nesting deeper than ``MAX_DEPTH`` is
  invalid JSON (the C decoder's RecursionError was not).
- ``CheckedPacket`` is python-socketio's packet class (its ``serializer`` option): a packet a
  client may not send fails to decode with ``MalformedPacketError``.
- ``Guard`` wraps the Engine.IO server's message and WebSocket handlers: a malformed packet
  or frame, or more packets than ``SOCKET_LIMIT_PACKETS`` on one connection, closes it; and
  no WebSocket is compressed (``without_compression``).
"""

from __future__ import annotations

import errno
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from socketio import packet as sio

from signaling.limits import Bucket, parse_limit

log = logging.getLogger(__name__)

MAX_DEPTH = 32  # the room's events nest three levels; an SDP payload is a string
# A JSON string, escapes included (unrolled: linear time on any input).
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
# Names python-socketio dispatches to the namespace's lifecycle handlers: a client sending
# them as events would run on_connect or on_disconnect on a live connection.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect"})
# Engine.IO packet types a client may send over WebSocket: CLOSE, PING, PONG, MESSAGE,
# UPGRADE, NOOP ("b", base64 binary, belongs to long-polling, which is not offered).
_FRAME_TYPES = frozenset("123456")


class MalformedPacketError(ValueError):
    """A frame or packet no client of the platform sends."""


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # the common case, at the speed of str.count
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


class SafeJSON:
    """The ``json`` module for python-engineio and python-socketio (their ``json`` option)."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(text, bytes | bytearray):
            text = text.decode()  # UnicodeDecodeError is a ValueError
        if _too_deep(text):
            raise ValueError("JSON nested too deeply")
        try:
            return json.loads(text, *args, **kwargs)
        except RecursionError:  # pragma: no cover - MAX_DEPTH stops far earlier
            raise ValueError("JSON nested too deeply") from None


class CheckedPacket(sio.Packet):
    """python-socketio's packet, refusing what the platform's clients never send: binary
    packets and attachments, CONNECT_ERROR and unknown types, an event that is not a list
    starting with a name (or names a lifecycle event), an ack that is not a list."""

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str):
            raise MalformedPacketError("binary packet")
        try:
            attachments = super().decode(encoded_packet)
        except (ValueError, TypeError, RecursionError) as problem:
            raise MalformedPacketError(type(problem).__name__) from None
        kind, data = self.packet_type, self.data
        if attachments:
            raise MalformedPacketError("binary attachments")
        if kind == sio.EVENT:
            if not (isinstance(data, list) and data and isinstance(data[0], str)):
                raise MalformedPacketError("an event is a list starting with its name")
            if data[0] in RESERVED_EVENTS:
                raise MalformedPacketError("reserved event name")
        elif kind == sio.ACK:
            if not isinstance(data, list):
                raise MalformedPacketError("an ack is a list")
        elif kind == sio.CONNECT:
            if data is not None and not isinstance(data, dict):
                raise MalformedPacketError("connect data is an object")
        elif kind != sio.DISCONNECT:
            raise MalformedPacketError("packet type")
        return 0


class ThrottledLog:
    """At most one line per ``every`` seconds; the lines left out are counted in the next."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last = -every
        self._left_out = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            self._left_out += 1
            return
        if self._left_out:
            message += " (%d more like it not logged)"
            args = (*args, self._left_out)
        self._last, self._left_out = now, 0
        log.warning(message, *args)


class _CheckedWebSocket:
    """A WebSocket as Engine.IO's handler sees it: a frame that is not an Engine.IO packet
    reads as the end of the connection (python-engineio decodes it outside any ``try``)."""

    def __init__(self, ws: Any, refuse: Callable[[str], None]) -> None:
        self._ws = ws
        self._refuse = refuse

    def wait(self) -> Any:
        data = self._ws.wait()
        if isinstance(data, str) and (not data or data[0] not in _FRAME_TYPES):
            self._refuse("not an Engine.IO packet")
            return None  # engineio closes the connection as if the client had
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


def without_compression(environ: dict) -> None:
    """No per-message deflate: simple-websocket accepts the extension whenever a client
    offers it (browsers and socket.io-client always do). Signaling messages are small and
    mostly SDP and ICE text: compressing each cost ~40 µs of CPU per message and per
    recipient, and the compressor state of 5,000 connections doubled the process's memory
    (398 to 844 MB; issue 18). Taking the offer out of the handshake before simple-websocket
    reads it (it rebuilds the request from the environ's headers) leaves it unanswered, and
    the connection goes on uncompressed, as the WebSocket RFC 7692 provides."""
    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


def _end_connection(environ: dict) -> None:
    """End the TCP connection a WebSocket ran on, once it has ended. On gevent, simple-websocket
    works on a duplicate of the socket, and gevent's server then read what the client sent
    next as a new HTTP request, logging each as an invalid request line, in the client's
    words. A reset connection is what gevent closes without a word (simple-websocket does
    the same on Werkzeug and gunicorn)."""
    if environ.get("SERVER_SOFTWARE", "").startswith("gevent"):
        raise ConnectionResetError(errno.ECONNRESET, "the WebSocket has ended")


class Guard:
    """Installed on the Socket.IO server by ``install``."""

    def __init__(self, server: Any, packets_limit: str) -> None:
        self.server = server
        self.eio = server.eio
        self.limit = parse_limit(packets_limit)
        self.log = ThrottledLog()
        self._budgets: dict[str, Bucket] = {}
        # engineio.Server.on: the Socket.IO server registered its own handlers there.
        self._on_message = self.eio.handlers["message"]
        self._on_disconnect = self.eio.handlers["disconnect"]
        self.eio.on("message", self.on_message)
        self.eio.on("disconnect", self.on_disconnect)
        websocket = self.eio._async.get("websocket")  # the async driver's WebSocket class
        if websocket is not None:
            guard = self

            def checked(handler: Callable, eio_server: Any) -> Callable:
                app = websocket(
                    lambda ws: handler(_CheckedWebSocket(ws, guard.refused_frame)), eio_server
                )

                def serve(environ: dict, start_response: Callable) -> Any:
                    without_compression(environ)
                    result = app(environ, start_response)
                    _end_connection(environ)
                    return result

                return serve

            self.eio._async = {**self.eio._async, "websocket": checked}

    def _address(self, eio_sid: str | None) -> str:
        environ = self.server.environ.get(eio_sid) if eio_sid else None
        return (environ or {}).get("REMOTE_ADDR", "?")

    def refused_frame(self, why: str) -> None:
        self.log.warning("Socket.IO: closed a connection: %s", why)

    def on_message(self, eio_sid: str, data: Any) -> Any:
        if eio_sid not in self.server.environ:
            return None  # a packet that was waiting when its connection was closed
        budget = self._budgets.get(eio_sid)
        if budget is None:
            budget = self._budgets[eio_sid] = Bucket(self.limit)
        if not budget.take():
            self.log.warning(
                "Socket.IO: closed a connection from %s: over %s packets",
                self._address(eio_sid),
                self.limit,
            )
            self.eio.disconnect(eio_sid)
            return None
        try:
            if not isinstance(data, str) or not data:  # an empty one is not even decoded
                raise MalformedPacketError("binary or empty packet")
            return self._on_message(eio_sid, data)
        except MalformedPacketError as problem:
            self.log.warning(
                "Socket.IO: closed a connection from %s: malformed packet (%s)",
                self._address(eio_sid),
                problem,
            )
            self.eio.disconnect(eio_sid)
            return None

    def on_disconnect(self, eio_sid: str, *args: Any) -> Any:
        self._budgets.pop(eio_sid, None)
        return self._on_disconnect(eio_sid, *args)


def install(server: Any, packets_limit: str) -> Guard:
    return Guard(server, packets_limit)
