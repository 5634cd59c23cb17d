"""Benchmark: the server CPU and SQL statements of each room event a session's start is
made of (issue 18): a member's connect, the mediator's admission and identity confirmation,
the party's acknowledgement of the warning, the departure.

The rush benchmark (``bench/signaling_rush.py``) tells how many rooms a minute one process
holds; its ladder moves from run to run on a shared machine. This one measures what each
event costs the process that handles it, in that process, with nothing on the wire: each
event goes through Flask-SocketIO's test client into the room namespace's handlers, as a
browser's would after the WebSocket, and the process's CPU time (``time.process_time``) and
the statements sent to the database are counted around it. Rooms of a mediator and two
parties, logged in (a signed session cookie each), on a freshly migrated database.

    .venv/bin/python bench/room_events.py                      # PostgreSQL, 5 runs of 40 rooms
    .venv/bin/python bench/room_events.py --backend sqlite --runs 3 --rooms 20

Reported per event: the median over runs of its mean CPU per event, and the statements one
event sends (the same in every run). The test client's own part (building and reading
the packets) is in the CPU too; the WebSocket's and Engine.IO's are not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_app
from sqlalchemy import event

from mediation.extensions import db, socketio
from tests.factories import make_institution, make_mediating_case, make_mediator
from tests.signaling.conftest import open_session

EVENTS = ("connect", "admit", "confirm_identity", "acknowledge_warning", "disconnect")
NAMESPACE = "/room"


def seed(app, count: int) -> list[dict]:
    """``count`` sessions whose hours have begun: their ids and a logged-in cookie jar for
    the mediator and each party."""
    institution = make_institution()
    rooms = []
    for _ in range(count):
        case = make_mediating_case(make_mediator(institution))
        session = open_session(case)
        rooms.append(
            {
                "session": session.id,
                "people": [(p.id, p.user.get_id(), p.role) for p in session.participants],
            }
        )
    db.session.commit()
    return rooms


def logged_in(app, user_id: str):
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"], cookie["_fresh"] = user_id, True
    return client


class Meter:
    """CPU and statements per event name."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.statements: dict[str, list[int]] = defaultdict(list)
        self._count = 0

    def on_statement(self, *_args) -> None:
        self._count += 1

    def measure(self, name: str, action, *args, **kwargs) -> object:
        self._count = 0
        start = time.process_time()
        result = action(*args, **kwargs)
        self.cpu[name].append(time.process_time() - start)
        self.statements[name].append(self._count)
        return result


def one_run(app, rooms: list[dict], meter: Meter) -> None:
    for room in rooms:
        sockets = {}
        for participant_id, user_id, role in room["people"]:
            sockets[participant_id] = (
                role,
                meter.measure(
                    "connect",
                    socketio.test_client,
                    app,
                    namespace=NAMESPACE,
                    auth={"session": room["session"]},
                    flask_test_client=logged_in(app, user_id),
                ),
            )
        mediator = next(s for role, s in sockets.values() if role == "mediator")
        parties = [(pid, s) for pid, (role, s) in sockets.items() if role != "mediator"]
        for participant_id, _ in parties:
            for name in ("admit", "confirm_identity"):
                data = {"participant": participant_id}
                meter.measure(name, mediator.emit, name, data, namespace=NAMESPACE)
        for _, party in parties:
            meter.measure(
                "acknowledge_warning", party.emit, "acknowledge_warning", {}, namespace=NAMESPACE
            )
        for _, sock in sockets.values():
            errors = [e for e in sock.get_received(NAMESPACE) if e["name"] == "error"]
            if errors:
                raise RuntimeError(f"the room refused an event: {errors[0]['args']}")
        for _, sock in sockets.values():
            meter.measure("disconnect", sock.disconnect, NAMESPACE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rooms", type=int, default=40, help="per run")
    args = parser.parse_args()
    per_run: dict[str, list[float]] = defaultdict(list)
    statements: dict[str, int] = {}
    with fresh_app(args.backend) as app:
        rooms = seed(app, args.rooms * (args.runs + 1))
        for run in range(args.runs + 1):  # the first warms the caches and is not counted
            meter = Meter()
            event.listen(db.engine, "before_cursor_execute", meter.on_statement)
            try:
                one_run(app, rooms[run * args.rooms : (run + 1) * args.rooms], meter)
            finally:
                event.remove(db.engine, "before_cursor_execute", meter.on_statement)
            if run == 0:
                continue
            for name in EVENTS:
                per_run[name].append(statistics.fmean(meter.cpu[name]))
                statements[name] = round(statistics.median(meter.statements[name]))
    print(
        f"Room events: CPU of the handling process per event, median of {args.runs} runs "
        f"of {args.rooms} rooms (a mediator and two parties each), {args.backend}\n"
    )
    print("| event | CPU µs (runs) | SQL statements |")
    print("|---|---|---|")
    for name in EVENTS:
        runs = ", ".join(f"{value * 1e6:.0f}" for value in per_run[name])
        median = statistics.median(per_run[name]) * 1e6
        print(f"| {name} | {median:.0f} ({runs}) | {statements[name]} |")


if __name__ == "__main__":
    main()
