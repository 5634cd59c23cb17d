"""The web process: pages and Socket.IO on gevent.

``mediation run`` applies migrations and then starts this module as a new interpreter
(``python -m signaling.server``), because gevent has to patch sockets, threads and timers
before anything else imports them. On Werkzeug's threading server a loaded signaling server
loses messages (DESIGN.md, "Measured: Socket.IO servers"); on gevent one process holds
thousands of WebSocket connections, each a greenlet. psycopg 3 notices the patching and
waits for PostgreSQL cooperatively; the Redis message queue does the same through the
patched socket module.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402  (after patching, on purpose)
import gc  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402


def tune_garbage_collector() -> None:
    """Keep the collector's pauses short enough for signaling (bench/signaling_capacity.py).

    A full collection walks every tracked object: ~140,000 after start-up plus ~170 per open
    connection, 50-120 ms at 1,000 connections, long enough to break a p99 of 50 ms. What
    start-up built lives as long as the process, so it is frozen out of collections; a larger
    first generation lets the short-lived objects of each relayed message die young instead of
    being promoted, and full collections come ten times less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 10, 100)


class CollectorWatch:
    """How long the garbage collector pauses the process, per generation: logged every
    ``every`` seconds while it collects, when ``MEDIATION_GC_WATCH`` is set (for tuning with
    bench/signaling_capacity.py; the settings above were chosen with it)."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._started = 0.0
        self._since = time.monotonic()
        self._pauses: list[list[float]] = [[], [], []]
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
            return
        self._pauses[info["generation"]].append(now - self._started)
        if time.monotonic() - self._since >= self.every:
            self._since = time.monotonic()
            summary = "; ".join(
                f"gen{g}: {len(p)} x, {1000 * sum(p):.0f} ms, max {1000 * max(p, default=0):.1f} ms"
                for g, p in enumerate(self._pauses)
            )
            logging.getLogger(__name__).info("garbage collector: %s", summary)
            self._pauses = [[], [], []]


def display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def start_recorder(url: str) -> None:
    """The embedded defaults' recorder: a child process (asyncio and aiortc never run in
    this one), stopped with the server."""
    import atexit
    import subprocess
    import sys

    parent = str(os.getpid())
    recorder = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "mediation.cli", "recorder", "--url", url, "--parent", parent]
    )
    atexit.register(recorder.terminate)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mediation run")
    parser.add_argument("--host", default=os.environ.get("MEDIATION_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MEDIATION_PORT", "5000")))
    args = parser.parse_args(argv)

    from mediation import create_app
    from mediation.extensions import socketio

    app = create_app()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if app.config["EMBEDDED_WORKER"]:
        from mediation.worker import start_thread

        start_thread(app)  # a greenlet here: its sleeps and I/O yield to the server
    if app.config["REDIS_URL"]:
        from mediation.rooms import cache

        # Rooms changed by the other web processes: their readings here are dropped.
        readings = app.extensions[cache.KEY]
        url, channel = app.config["REDIS_URL"], app.config["SOCKETIO_CHANNEL"]
        origin = app.extensions[cache.KEY + ".publisher"].origin  # its own: passed over
        socketio.start_background_task(cache.listen, readings, url, channel, origin=origin)
    if app.config["EMBEDDED_RECORDER"]:
        start_recorder(f"http://{display_host(args.host)}:{args.port}")
    print(f"Mediation platform running at http://{display_host(args.host)}:{args.port}/")
    print(f"Server: gevent, Socket.IO async mode {socketio.async_mode}", flush=True)
    tune_garbage_collector()
    if os.environ.get("MEDIATION_GC_WATCH"):
        CollectorWatch()
    socketio.run(app, host=args.host, port=args.port, log_output=False)


if __name__ == "__main__":
    main()
