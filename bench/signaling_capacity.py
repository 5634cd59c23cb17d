"""Benchmark: how many room connections one signaling process holds while relaying WebRTC
messages with p99 under 50 ms and nothing lost, side by side with a minimal Node socket.io
relay from the npm registry, in the same run (issue 18's goal: 5,000 clients, at least a
quarter of Node's relay rate, and connecting them in at most twice the time the bare
Flask-SocketIO relay takes).

The platform runs as users run it (``mediation run``: gevent, one process, SQLite unless
``--backend postgresql``). Rooms of four (mediator, two parties, a relative), everyone
admitted and identified, so every pair may exchange media. The load generator
(bench/node/load.js, the official socket.io-client) logs everyone in with a session cookie,
opens all connections, then relays ~500-byte "signal" messages to a room mate at rising
rates (each for ``--seconds``); the relay rate of a run is the highest rate whose p99 stayed
under 50 ms with no message lost. Two references get the same clients and messages but
check nothing (no login, no layout): the Node relay, and the same relay on the platform's
own stack (bench/flask_relay.py, Flask-SocketIO on gevent): the platform's distance from the
second is the price of its checks, the second's distance from Node the price of the stack.

The rate ladder is coarse and the machine shared, so the server's CPU time per relayed
message (read from /proc around each step, at the same rate for all three servers) and per
connection are reported beside it: the steadier figure. All three must have negotiated the
same WebSocket extensions (none: per-message deflate costs the Python servers ~40 µs a
message and twice the memory, and the Node relay does not compress), or the run is unfair
and says so.

    .venv/bin/python bench/signaling_capacity.py                  # 1,000 and 5,000 clients, 3 runs
    .venv/bin/python bench/signaling_capacity.py --clients 200 --runs 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_app

from mediation.booking.models import SessionParticipant
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.rooms.models import Room, RoomMember
from tests.browser.conftest import free_port, serve
from tests.factories import make_institution, make_mediating_case, make_mediator, make_user
from tests.signaling.conftest import open_session

BUDGET_MS = 50
GOAL_CLIENTS = 5000
GOAL_SHARE = 0.25  # of Node's relay rate, one process
GOAL_CONNECT = 2.0  # at most this many times the bare Flask-SocketIO relay's connect time
RATES = [250, 500, 1000, 2000, 4000, 8000, 16000, 32000]
SERVERS = {
    "platform": "platform (gevent)",
    "flask": "Flask-SocketIO relay",
    "node": "Node socket.io relay",
}
ROOM_SIZE = 4


def seed_rooms(app, count: int) -> list[dict]:
    """``count`` rooms in progress, everyone already admitted and cleared; one load-generator
    client per participant, paired with a room mate."""
    institution = make_institution()
    clients: list[dict] = []
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    now = utcnow()
    for _ in range(count):
        case = make_mediating_case(make_mediator(institution))
        session = open_session(case)
        session.participants.append(
            SessionParticipant(user_id=make_user().id, role="guest", side="applicant")
        )
        db.session.flush()
        db.session.add(Room(session_id=session.id, started_at=now - timedelta(minutes=1)))
        for p in session.participants:
            db.session.add(
                RoomMember(
                    participant_id=p.id,
                    session_id=session.id,
                    role=p.role,
                    side=None if p.role == "mediator" else (p.side or _side(case, p)),
                    admitted_at=now,
                    identity_confirmed_at=now,
                    warning_acknowledged_at=now,
                    epoch=0,
                )
            )
        members = list(session.participants)
        for i, p in enumerate(members):
            peer = members[(i + 1) % len(members)]
            cookie = serializer.dumps({"_user_id": p.user.get_id(), "_fresh": True})
            clients.append(
                {
                    "auth": {"session": session.id},
                    "cookie": f"{cookie_name}={cookie}",
                    "id": p.id,
                    "peer": peer.id,
                }
            )
        db.session.commit()
    return clients


def _side(case, participant: SessionParticipant) -> str:
    applicant, _ = case.party_users()
    return "applicant" if participant.user_id == applicant.id else "respondent"


def load(url: str, clients: list[dict], seconds: float, folder: str, pid: int) -> dict:
    config = Path(folder) / f"load-{time.monotonic_ns()}.json"
    config.write_text(
        json.dumps(
            {
                "url": url,
                "clients": clients,
                "rates": RATES,
                "seconds": seconds,
                "budgetMs": BUDGET_MS,
                "concurrency": 50,
                "pid": pid,
            }
        )
    )
    done = subprocess.run(
        ["node", str(ROOT / "bench/node/load.js"), str(config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


class Relay:
    """A reference relay that checks nothing: ``node`` (bench/node/relay.js) or ``flask``
    (bench/flask_relay.py), on a free loopback port."""

    def __init__(self, kind: str, folder: str) -> None:
        self.port = free_port()
        self.log = open(Path(folder) / f"{kind}-relay.log", "w")  # noqa: SIM115
        if kind == "node":
            command = ["node", str(ROOT / "bench/node/relay.js"), str(self.port)]
        else:
            command = [sys.executable, str(ROOT / "bench/flask_relay.py"), str(self.port)]
        self.process = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "NODE_PATH": str(ROOT / "node_modules"),
                "PYTHONPATH": str(ROOT),
            },
        )
        self.url = f"http://127.0.0.1:{self.port}"
        # A deadline, not a count of tries: on a loaded machine Python with gevent and Flask
        # can take a minute to start.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=1):  # noqa: S310 - loopback
                    return
            except OSError:
                time.sleep(0.2)
        self.process.kill()
        raise RuntimeError(f"the {kind} relay did not start")

    def __enter__(self) -> tuple[str, int]:
        return self.url, self.process.pid

    def __exit__(self, *_) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@contextmanager
def profiled(pid: int, folder: str | None, name: str) -> Iterator[None]:
    """py-spy sampling ``pid`` meanwhile (collapsed stacks, for a flame graph or a count)."""
    if folder is None:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).parent / "py-spy"
    output = Path(folder) / f"platform-{name}.txt"
    command = [str(spy), "record", "-p", str(pid), "-o", str(output), "-f", "raw", "-r", "200"]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


def server_pid(url: str) -> int:
    """The process of ``mediation run`` serving ``url`` (it execs ``signaling.server``)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"signaling.server" in words and port.encode() in words:
            return int(entry.name)
    raise RuntimeError(f"no server process for {url}")


def cpu_at(result: dict, rate: int) -> float | None:
    """Server CPU µs per relayed message at the step of ``rate`` (None if not reached)."""
    step = next((s for s in result["steps"] if s["rate"] == rate), None)
    return step and step["cpuPerMessageUs"]


def best_rate(result: dict) -> tuple[float, float | None]:
    """The highest rate that held (p99 under budget, nothing lost) and its p99."""
    good = [
        s
        for s in result["steps"]
        if s["lost"] == 0 and s["p99"] is not None and s["p99"] <= BUDGET_MS
    ]
    return (good[-1]["rate"], good[-1]["p99"]) if good else (0, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1000,5000", help="comma-separated client counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per rate step")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--only", choices=list(SERVERS), action="append", help="these servers")
    parser.add_argument(
        "--profile",
        metavar="FOLDER",
        help="py-spy record the platform into FOLDER (collapsed stacks), with its log",
    )
    parser.add_argument("--logs", metavar="FOLDER", help="keep the platform's logs in FOLDER")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="for the platform"
    )
    args = parser.parse_args()
    if args.profile and not (Path(sys.executable).parent / "py-spy").exists():
        parser.error("--profile needs py-spy beside this Python: pip install py-spy")
    levels = [int(n) for n in args.clients.split(",")]
    rooms = -(-max(levels) // ROOM_SIZE)

    rows = []
    with fresh_app(args.backend) as app, tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        clients = seed_rooms(app, rooms)
        print(f"seeded {rooms} rooms in {time.monotonic() - started:.0f} s", file=sys.stderr)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        for level in levels:
            chosen = clients[:level]
            bare = [{**c, "auth": {"participant": c["id"]}, "cookie": None} for c in chosen]
            results: dict[str, list[dict]] = {which: [] for which in SERVERS}
            for run in range(args.runs):
                # Rotate the order, so that none always runs on a warmer machine.
                order = list(SERVERS)[run % 3 :] + list(SERVERS)[: run % 3]
                for which in [w for w in order if not args.only or w in args.only]:
                    if which == "platform":
                        settings = dict(e.split("=", 1) for e in args.env)
                        with serve(url, Path(app.instance_path), settings=settings) as server:
                            pid = server_pid(server)
                            with profiled(pid, args.profile, f"{level}-{run + 1}"):
                                result = load(server, chosen, args.seconds, folder, pid)
                            results[which].append(result)
                        if args.profile or args.logs:
                            port = server.rsplit(":", 1)[1]
                            log = Path(app.instance_path) / f"server-{port}.log"
                            keep = Path(args.profile or args.logs)
                            keep.mkdir(parents=True, exist_ok=True)
                            shutil.copy(log, keep / f"platform-{level}-{run + 1}.log")
                    else:
                        with Relay(which, folder) as (relay, pid):
                            results[which].append(load(relay, bare, args.seconds, folder, pid))
                    last = results[which][-1]
                    print(
                        f"  {level} clients, {which}, run {run + 1}: {summary(last)}",
                        file=sys.stderr,
                    )
            common = common_rate(results)
            for which in [w for w in SERVERS if results[w]]:
                runs = results[which]
                rates = [best_rate(r) for r in runs]
                p99s = [p for _, p in rates if p is not None]
                cpus = [c for c in (cpu_at(r, common) for r in runs) if c is not None]
                rows.append(
                    {
                        "server": SERVERS[which],
                        "clients": level,
                        "connected": statistics.median(r["connected"] for r in runs),
                        "connect_s": statistics.median(r["connectSeconds"] for r in runs),
                        "connect_ms": statistics.median(
                            1000 * r["connectCpu"] / max(1, r["connected"]) for r in runs
                        ),
                        "rate": statistics.median(rate for rate, _ in rates),
                        "p99": statistics.median(p99s) if p99s else None,
                        "cpu_rate": common,
                        "cpu_us": statistics.median(cpus) if cpus else None,
                        "extensions": sorted({e for r in runs for e in r["extensions"]}),
                    }
                )

    print(
        f"\nSignaling relay capacity: rooms of {ROOM_SIZE}, ~500-byte messages, "
        f"medians of {args.runs} runs, {args.seconds:.0f} s per rate step ({args.backend})\n"
    )
    header = f"relay msg/s (p99 < {BUDGET_MS} ms, 0 lost)"
    cpu = "CPU µs/msg (at msg/s)"
    print(
        f"| {'server':<22} | clients | connected | connect s | CPU ms/connect "
        f"| {header} | p99 ms | {cpu} | WebSocket extensions |"
    )
    print(
        f"|{'-' * 24}|---------|-----------|-----------|----------------"
        f"|{'-' * (len(header) + 2)}|--------|{'-' * (len(cpu) + 2)}|---|"
    )
    for r in rows:
        p99 = f"{r['p99']:.1f}" if r["p99"] is not None else "-"
        at = f"{r['cpu_us']:.0f} ({r['cpu_rate']})" if r["cpu_us"] is not None else "-"
        print(
            f"| {r['server']:<22} | {r['clients']:>7} | {r['connected']:>9.0f} "
            f"| {r['connect_s']:>9.1f} | {r['connect_ms']:>14.2f} "
            f"| {r['rate']:>{len(header)}.0f} | {p99:>6} | {at:>{len(cpu)}} "
            f"| {', '.join(r['extensions'])} |"
        )
    if args.only:
        return 0  # a partial run has no verdict
    return verdict(rows, max(levels))


def verdict(rows: list[dict], level: int) -> int:
    def row(which: str) -> dict:
        return next(r for r in rows if r["clients"] == level and r["server"] == SERVERS[which])

    python, flask, node = row("platform"), row("flask"), row("node")
    share = python["rate"] / node["rate"] if node["rate"] else 0
    stack = flask["rate"] / node["rate"] if node["rate"] else 0
    connect = python["connect_s"] / flask["connect_s"] if flask["connect_s"] else float("inf")
    print(
        f"\nAt {level} clients the platform held {python['connected']:.0f} connections and "
        f"relayed {share:.0%} of Node's rate (goal: {GOAL_CLIENTS} connections, "
        f"{GOAL_SHARE:.0%}); Flask-SocketIO relaying with no checks at all: {stack:.0%}. "
        f"Connecting took {connect:.1f}x the bare Flask-SocketIO relay's time "
        f"(goal: at most {GOAL_CONNECT:.0f}x)."
    )
    if python["cpu_us"] is not None and node["cpu_us"]:
        print(
            f"Server CPU per relayed message at {python['cpu_rate']} msg/s: platform "
            f"{python['cpu_us']:.0f} µs, Flask-SocketIO relay {flask['cpu_us'] or 0:.0f} µs, "
            f"Node {node['cpu_us']:.0f} µs ({node['cpu_us'] / python['cpu_us']:.2f}x)."
        )
    fair = python["extensions"] == flask["extensions"] == node["extensions"]
    if not fair:
        print("UNFAIR: the servers negotiated different WebSocket extensions")
    met = (
        fair
        and level >= GOAL_CLIENTS
        and python["connected"] >= GOAL_CLIENTS
        and share >= GOAL_SHARE
        and connect <= GOAL_CONNECT
    )
    print("goal met" if met else "GOAL MISSED")
    return 0 if met else 1


def common_rate(results: dict[str, list[dict]]) -> int:
    """The highest rate step every run of every server went through with nothing lost:
    where their CPU per message is compared (idle work, pings, is spread over fewer
    messages at higher rates, so only the same rate compares)."""
    reached = [
        {s["rate"] for s in r["steps"] if s["lost"] == 0} for runs in results.values() for r in runs
    ]
    common = set.intersection(*reached) if reached else set()
    return max(common) if common else RATES[0]


def summary(result: dict) -> str:
    rate, p99 = best_rate(result)
    last = result["steps"][-1] if result["steps"] else {}
    cpu = ", ".join(
        f"{s['rate']}: {s['cpuPerMessageUs']:.0f}"
        for s in result["steps"]
        if s.get("cpuPerMessageUs") is not None
    )
    return (
        f"{result['connected']}/{result['clients']} connected in {result['connectSeconds']:.1f} s "
        f"({result['extensions']}); "
        f"held {rate} msg/s (p99 {p99 if p99 is None else round(p99, 1)} ms); stopped at "
        f"{last.get('rate')} msg/s: p99 {last.get('p99') and round(last['p99'], 1)} ms, "
        f"{last.get('lost')} lost; errors {result['errors']}; CPU µs/msg by rate {{{cpu}}}"
    )


if __name__ == "__main__":
    sys.exit(main())
