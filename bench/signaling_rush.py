"""Benchmark: the 9 o'clock rush. How many rooms a minute can start, each in under 3 s
(p99 of arrival to ready) with nothing lost, on one platform process, on two behind nginx
with each session pinned to one of them, and with the same messages on a Node socket.io
relay, in the same run (issue 18; goal: two pinned processes at least 1.6x one, the platform
at least 0.25x Node).

A room of four (mediator, two parties, a relative) arrives: all four connect at once, the
mediator admits and identifies each party as the roster shows them, the parties acknowledge
the warning, and every pair the layout joins negotiates: offer, answer and ``--candidates``
candidates each way (bench/node/rush.js, the official socket.io-client). Rooms arrive at a
rising rate, each step for ``--seconds``; a ready room keeps a trickle of candidates until
the step ends. A step holds when the p99 of arrival-to-ready is under 3 s, every room got
ready and no relayed message was lost; the figure of a run is the highest rate held before
the first that failed (at least ``MIN_STEPS`` steps run, for the CPU figures).

The server processes' CPU (user + system, from /proc) is read around every step and divided
by the relayed messages: steadier than the rate ladder on a shared machine. With two
processes, a third one on the same Redis but without clients (``idle``) shows what a process
costs the others when it gets no connections: with rooms pinned, only what must cross
processes (room changes, ~1 small message per change) reaches it. Beside it, the CPU of the
whole setup per room (web processes, the load generator, PostgreSQL, Redis, nginx): the
machine's cores divided by it are the most rooms a minute any number of processes can reach
here, printed beside the two-process goal.

Two references get the same rooms and messages with no login, no database and no checks:
the Node relay, and the same protocol on the platform's own stack (``flask``,
bench/flask_rush_relay.py, Flask-SocketIO on gevent). The second is the stack's ceiling:
the platform cannot come closer to Node than it does, whatever the platform does. Two of
those behind the same nginx (``flask2``) show how two processes that check and share nothing
scale on this machine: the most the platform's two could show here.

    .venv/bin/python bench/signaling_rush.py                 # 3 runs, PostgreSQL, Redis
    .venv/bin/python bench/signaling_rush.py --runs 1 --seconds 10   # a quick look
    .venv/bin/python bench/signaling_rush.py --setups one,flask,node     # against the references
    .venv/bin/python bench/signaling_rush.py --setups one,two,flask,flask2  # scaling out
    .venv/bin/python bench/signaling_rush.py --setups one,oneq,two    # what Redis alone costs
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_app

from mediation.booking.models import SessionParticipant
from mediation.extensions import db
from tests.browser.conftest import _environment, free_port, stop
from tests.factories import make_institution, make_mediating_case, make_mediator, make_user
from tests.signaling.conftest import open_session

READY_BUDGET_MS = 3000
MIN_STEPS = 3
# Rooms a minute. Doubling below 120, then finer: with doubling steps only, two processes at
# 1.7x one would read as 1x (the ladder cannot show the 1.6x goal unless it is 2x).
RATES = [4, 8, 15, 30, 60, 120, 180, 240, 360, 480, 720, 960, 1440, 1920, 2880, 3840]
SETUPS = {
    "one": "platform, 1 process",
    "oneq": "platform, 1 process on Redis",
    "two": "platform, 2 pinned (nginx)",
    "idle": "platform, 2 pinned + 1 idle",
    "flask": "bare Flask-SocketIO, same pattern",
    "flask2": "bare Flask-SocketIO, 2 pinned (nginx)",
    "node": "Node socket.io, same pattern",
}
# The references get rooms without logins (bench/node/rush_relay.js, bench/flask_rush_relay.py).
REFERENCES = ("flask", "flask2", "node")
TICK = os.sysconf("SC_CLK_TCK")


def seed_rooms(app, count: int) -> list[list[dict]]:
    """``count`` sessions whose hours have begun, nobody in the room yet: four people each,
    logged in (a cookie per person)."""
    institution = make_institution()
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    rooms = []
    for _ in range(count):
        case = make_mediating_case(make_mediator(institution))
        session = open_session(case)
        session.participants.append(
            SessionParticipant(user_id=make_user().id, role="guest", side="applicant")
        )
        db.session.flush()
        room = []
        for p in session.participants:
            cookie = serializer.dumps({"_user_id": p.user.get_id(), "_fresh": True})
            room.append(
                {
                    "auth": {"session": session.id},
                    "cookie": f"{cookie_name}={cookie}",
                    "id": p.id,
                    "role": p.role,
                    "session": session.id,
                }
            )
        rooms.append(room)
    db.session.commit()
    return rooms


def node_rooms(count: int, first: int) -> list[list[dict]]:
    """The same rooms for the Node relay: ids only, nothing to log in to."""
    rooms = []
    for n in range(first, first + count):
        roles = ["mediator", "party", "party", "guest"]
        ids = [4 * n + i + 1 for i in range(4)]
        rooms.append(
            [
                {"auth": {"participant": i, "session": n, "role": r}, "id": i}
                | {"role": r, "session": n}
                for i, r in zip(ids, roles, strict=True)
            ]
        )
    return rooms


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker that ended between the listing and the read
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICK


def helpers_of(parents: list[int], name: str | None = None) -> list[int]:
    """The children of ``parents`` (nginx's workers), or every process called ``name``
    (PostgreSQL's backends, Redis): what else the setup makes the machine do."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError):
            continue
        comm, ppid = head.split("(", 1)[1], int(tail.split()[1])
        if (name is not None and comm == name) or (name is None and ppid in parents):
            found.append(int(stat.parent.name))
    return found


def services_pids(backend: str, queue) -> list[int]:
    """PostgreSQL's processes (when it is the database) and Redis's (with two processes)."""
    pids = helpers_of([], "postgres") if backend == "postgresql" else []
    return pids + (helpers_of([], "redis-server") if queue is not None else [])


def generator_seconds() -> float:
    """CPU of the ended, reaped children: the load generator, one per step."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for(url: str, process: subprocess.Popen, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} stopped")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {within} s")


class Queue:
    """Counts what the web processes publish on Redis (Socket.IO's queue and the rooms'
    change notices): with rooms pinned, only what must cross processes."""

    def __init__(self, url: str, channel: str) -> None:
        import threading

        import redis

        self.count = 0
        self._pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(channel + "*")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            if self._pubsub.get_message(timeout=0.1) is not None:
                self.count += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()


@contextmanager
def platform(database: str, instance: Path, folder: str, count: int, redis: str | None):
    """``count`` web processes (``mediation run``); yields their pids, ports and a counter of
    what they publish on Redis."""
    with ExitStack() as stack:
        pids, ports = [], []
        channel = f"rush-{os.getpid()}-{time.monotonic_ns()}"
        queue = Queue(redis, channel) if redis else None
        if queue is not None:
            stack.callback(queue.close)
        for _ in range(count):
            port = free_port()
            env = {**_environment(database, instance), "MEDIATION_PORT": str(port)}
            if redis:
                env |= {"MEDIATION_REDIS_URL": redis, "MEDIATION_SOCKETIO_CHANNEL": channel}
            log = stack.enter_context(open(Path(folder) / f"server-{port}.log", "w"))
            command = [str(Path(sys.executable).parent / "mediation"), "run", "--no-migrate"]
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(stop, process)
            wait_for(f"http://127.0.0.1:{port}/healthz", process)
            pids.append(process.pid)
            ports.append(port)
        yield pids, ports, queue


@contextmanager
def nginx(ports: list[int], folder: str):
    """nginx on a loopback port, hashing the session to one of ``ports``."""
    prefix = Path(folder) / f"nginx-{time.monotonic_ns()}"
    prefix.mkdir()
    port = free_port()
    template = Template((ROOT / "bench/nginx/socketio.conf.template").read_text())
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in ports)
    config = prefix / "nginx.conf"
    config.write_text(template.safe_substitute(PREFIX=prefix, PORT=port, SERVERS=servers))
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "stderr.log", "w"),  # noqa: SIM115
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process)
        yield process.pid, port
    finally:
        stop(process)


@contextmanager
def reference(setup: str, folder: str):
    """A reference relay of the same pattern: the Node one, or the bare Flask-SocketIO one."""
    port = free_port()
    log = open(Path(folder) / f"rush-{setup}.log", "w")  # noqa: SIM115
    if setup == "node":
        command = ["node", str(ROOT / "bench/node/rush_relay.js"), str(port)]
    else:
        command = [sys.executable, str(ROOT / "bench/flask_rush_relay.py"), str(port)]
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NODE_PATH": str(ROOT / "node_modules"), "PYTHONPATH": str(ROOT)},
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", process)
        yield process.pid, port
    finally:
        stop(process)
        log.close()


def load(url: str, rooms: list, rate: int, args, folder: str) -> dict:
    config = Path(folder) / f"rush-{time.monotonic_ns()}.json"
    config.write_text(
        json.dumps(
            {
                "url": url,
                "rate": rate,
                "seconds": args.seconds,
                "timeoutMs": 15000,
                "trickleMs": 2000,
                "candidates": args.candidates,
                "rooms": rooms,
            }
        )
    )
    done = subprocess.run(
        ["node", str(ROOT / "bench/node/rush.js"), str(config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def held(step: dict) -> bool:
    return (
        step["ready"] == step["rooms"]
        and step["lost"] == 0
        and step["p99"] is not None
        and step["p99"] <= READY_BUDGET_MS
    )


def ladder(setup: str, app, args, folder: str) -> dict:
    """One run of one setup: rising rates until one fails; CPU per relayed message of each
    step from /proc (busy processes, and the idle one apart)."""
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    instance = Path(app.instance_path)
    steps = []
    around: list[int] = []  # nginx and its workers
    with ExitStack() as stack:
        if setup == "flask2":
            # What two pinned processes give on this machine when they check nothing and
            # share nothing: the most any two processes of this stack can show here.
            relays = [stack.enter_context(reference("flask", folder)) for _ in range(2)]
            master, port = stack.enter_context(nginx([p for _, p in relays], folder))
            around = [master, *helpers_of([master])]
            busy, idle, url, queue = [r for r, _ in relays], [], f"http://127.0.0.1:{port}", None
        elif setup in REFERENCES:
            pid, port = stack.enter_context(reference(setup, folder))
            busy, idle, url, queue = [pid], [], f"http://127.0.0.1:{port}", None
        else:
            count = {"one": 1, "oneq": 1, "two": 2, "idle": 3}[setup]
            redis = args.redis if setup != "one" else None
            pids, ports, queue = stack.enter_context(
                platform(database, instance, folder, count, redis)
            )
            busy, idle = pids[:2], pids[2:]
            if count == 1:
                url = f"http://127.0.0.1:{ports[0]}"
            else:
                master, port = stack.enter_context(nginx(ports[:2], folder))
                around = [master, *helpers_of([master])]
                url = f"http://127.0.0.1:{port}"
        # Warm-up, not counted: the first requests prepare statements, caches and templates.
        warm = node_rooms(1, 10**6) if setup in REFERENCES else seed_rooms(app, 1)
        load(url, warm, 60, args, folder)
        first = 0
        for rate in RATES:
            count = max(2, round(rate * args.seconds / 60))
            if setup in REFERENCES:
                rooms = node_rooms(count, first)
                first += count
            else:
                rooms = seed_rooms(app, count)
            # The databases and Redis count for the platform only (the references use none).
            services = [] if setup in REFERENCES else services_pids(args.backend, queue)
            before, before_idle = cpu_seconds(busy), cpu_seconds(idle)
            before_all = cpu_seconds(around + services) + generator_seconds()
            published = queue.count if queue else 0
            step = load(url, rooms, rate, args, folder)
            step["cpu_s"] = cpu_seconds(busy) - before
            step["setup_cpu_s"] = (
                step["cpu_s"]
                + cpu_seconds(idle)
                - before_idle
                + cpu_seconds(around + services)
                + generator_seconds()
                - before_all
            )
            step["published"] = (queue.count if queue else 0) - published
            step["cpu_ms_per_room"] = 1e3 * step["cpu_s"] / step["rooms"]
            step["idle_cpu_s"] = cpu_seconds(idle) - before_idle
            step["us_per_msg"] = 1e6 * step["cpu_s"] / max(1, step["received"])
            steps.append(step)
            print(f"    {setup} {rate}/min: {summary(step)}", file=sys.stderr)
            # At least MIN_STEPS, so that the CPU figures rest on more than a room or two.
            if not held(step) and len(steps) >= MIN_STEPS:
                break
    best = None
    for step in steps:  # the highest rate before the first that failed
        if not held(step):
            break
        best = step
    # CPU over every step: what the setup spent per room and per relayed message.
    rooms = sum(s["rooms"] for s in steps)
    relayed = max(1, sum(s["received"] for s in steps))
    cpu, idle_cpu = sum(s["cpu_s"] for s in steps), sum(s["idle_cpu_s"] for s in steps)
    setup_cpu = sum(s["setup_cpu_s"] for s in steps)
    return {
        "rate": best["rate"] if best else 0,
        "p99": best["p99"] if best else None,
        "us_per_msg": 1e6 * cpu / relayed,
        "idle_us_per_msg": 1e6 * idle_cpu / relayed,
        "idle_cpu_s": idle_cpu,
        "cpu_ms_per_room": 1e3 * cpu / rooms,
        "setup_ms_per_room": 1e3 * setup_cpu / rooms,
        "published_per_room": sum(s["published"] for s in steps) / rooms,
        "steps": steps,
    }


def summary(step: dict) -> str:
    p99 = "-" if step["p99"] is None else f"{step['p99']:.0f}"
    return (
        f"{step['ready']}/{step['rooms']} rooms ready, p99 {p99} ms, "
        f"{step['received']}/{step['sent']} relayed ({step['lost']} lost), "
        f"{step['us_per_msg']:.0f} µs CPU/msg, {step['cpu_ms_per_room']:.0f} ms CPU/room "
        f"(idle process {step['idle_cpu_s']:.2f} s), {step['published']} via Redis, "
        f"errors {step['errors']}, connect failures {step['connectFailures']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="arrivals per rate step")
    parser.add_argument("--candidates", type=int, default=15, help="per side of each pair")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated")
    args = parser.parse_args()
    chosen = args.setups.split(",")
    if unknown := [s for s in chosen if s not in SETUPS]:
        parser.error(f"unknown setup {', '.join(unknown)}; choose from {', '.join(SETUPS)}")
    results: dict[str, list[dict]] = {s: [] for s in chosen}
    with fresh_app(args.backend) as app, tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            # Rotate the order, so that none always runs on a warmer machine.
            order = chosen[run % len(chosen) :] + chosen[: run % len(chosen)]
            for setup in order:
                print(f"  run {run + 1}, {SETUPS[setup]}", file=sys.stderr)
                results[setup].append(ladder(setup, app, args, folder))
    pairs = 6  # in a room of four
    per_room = pairs * 2 * (1 + args.candidates)
    print(
        f"\nSignaling rush: rooms of four, admission and {per_room} relayed messages each "
        f"(offer/answer and {args.candidates} candidates per side of 6 pairs), p99 "
        f"arrival-to-ready < {READY_BUDGET_MS} ms, 0 lost; medians of {args.runs} runs, "
        f"{args.seconds:.0f} s per step ({args.backend})\n"
    )
    print(
        "| setup | rooms/min held (runs) | p99 ms | server CPU µs/relayed msg "
        "| server CPU ms/room | rooms/min per core by CPU | whole setup CPU ms/room "
        "| Redis messages/room | idle process µs/msg |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = {}
    for setup in chosen:
        runs = results[setup]
        p99s = [r["p99"] for r in runs if r["p99"] is not None]
        cpu_room = statistics.median(r["cpu_ms_per_room"] for r in runs)
        rows[setup] = row = {
            "rate": statistics.median(r["rate"] for r in runs),
            "p99": statistics.median(p99s) if p99s else None,
            "us": statistics.median(r["us_per_msg"] for r in runs),
            "idle": statistics.median(r["idle_us_per_msg"] for r in runs),
            "cpu_room": cpu_room,
            "per_core": 60_000 / cpu_room if cpu_room else 0,
            "setup_room": statistics.median(r["setup_ms_per_room"] for r in runs),
            "redis": statistics.median(r["published_per_room"] for r in runs),
            "rates": [r["rate"] for r in runs],
        }
        idle = f"{row['idle']:.1f}" if setup == "idle" else "-"
        p99 = "-" if row["p99"] is None else f"{row['p99']:.0f}"
        redis = f"{row['redis']:.1f}" if setup in ("oneq", "two", "idle") else "-"
        print(
            f"| {SETUPS[setup]} | {row['rate']:.0f} {row['rates']} | {p99} | {row['us']:.0f} "
            f"| {row['cpu_room']:.0f} | {row['per_core']:.0f} | {row['setup_room']:.0f} "
            f"| {redis} | {idle} |"
        )
    return verdict(rows)


def against(rows: dict, setup: str, reference: str, who: str, whom: str, goal: str = "",
            note: str = "") -> float:  # fmt: skip
    """Print ``setup``'s rate as a share of ``reference``'s, and the same by CPU per room;
    return the share (0 when either was not run)."""
    if not {setup, reference} <= rows.keys():
        return 0.0
    mine, theirs = rows[setup], rows[reference]
    share = mine["rate"] / theirs["rate"] if theirs["rate"] else 0
    by_cpu = theirs["cpu_room"] / mine["cpu_room"] if mine["cpu_room"] else 0
    goal = f" (goal: {goal})" if goal else ""
    print(f"{who}: {share:.2f}x {whom}'s rate{goal}; by server CPU per room {by_cpu:.2f}x{note}")
    return share


def verdict(rows: dict) -> int:
    """The goals by the rate ladder; beside them the same ratios by CPU, steadier on a
    shared machine (two processes have two cores to share; per message, a process must not
    pay for the others)."""
    met, checked = True, False
    if {"one", "two"} <= rows.keys():
        one, two = rows["one"], rows["two"]
        scale = two["rate"] / one["rate"] if one["rate"] else 0
        print(
            f"\nTwo pinned processes: {scale:.2f}x one process's rate (goal: 1.6x); CPU per "
            f"relayed message {two['us']:.0f} µs against {one['us']:.0f} µs for one process"
        )
        # Everything the rush makes this machine do (web processes, load generator, database,
        # Redis, nginx) per room, against the cores it has: no number of processes passes it.
        cores = os.cpu_count() or 1
        ceiling = cores * 60_000 / two["setup_room"] if two["setup_room"] else 0
        print(
            f"This machine's ceiling by the whole setup's CPU per room "
            f"({two['setup_room']:.0f} ms with two processes): {ceiling:.0f} rooms/min on "
            f"{cores} cores; 1.6x one process is {1.6 * one['rate']:.0f}"
        )
        met &= scale >= 1.6
        checked = True
    if {"one", "oneq"} <= rows.keys():
        # What the message queue alone costs a process, without a second one beside it.
        print(
            f"One process on Redis: server CPU per room {rows['oneq']['cpu_room']:.0f} ms "
            f"against {rows['one']['cpu_room']:.0f} ms without"
        )
    if {"flask", "flask2"} <= rows.keys():
        bare = rows["flask2"]["rate"] / rows["flask"]["rate"] if rows["flask"]["rate"] else 0
        print(
            f"Bare Flask-SocketIO, two pinned processes: {bare:.2f}x its one process's rate "
            f"(what this machine allows two processes of this stack)"
        )
    if {"two", "idle"} <= rows.keys():
        print(
            f"A third process, idle: busy processes' CPU per message {rows['idle']['us']:.0f} µs "
            f"against {rows['two']['us']:.0f} µs without it; the idle one spent "
            f"{rows['idle']['idle']:.1f} µs per message relayed by the others"
        )
    if {"one", "node"} <= rows.keys():
        share = against(rows, "one", "node", "One platform process", "the Node relay", "0.25x")
        met &= share >= 0.25
        checked = True
    # What the stack alone allows: no change to the platform can pass this ratio.
    against(rows, "flask", "node", "Bare Flask-SocketIO, no checks (the stack's ceiling)",
            "the Node relay")  # fmt: skip
    against(rows, "one", "flask", "One platform process", "the bare Flask-SocketIO relay",
            note=" (the price of its checks and records)")  # fmt: skip
    if not checked:
        print("nothing to compare: run more setups")
        return 1
    print("goal met" if met else "GOAL MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
