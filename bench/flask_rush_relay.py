"""The stack's reference for bench/signaling_rush.py: bench/node/rush_relay.js's room
protocol (admission, layout and roster to everyone present on each change, "signal" to
"participant:<to>") on the platform's own stack, Flask-SocketIO on gevent, one process,
with no database, no login and no checks beyond the layout's one rule. The platform's
distance from it is the price of its checks and records; its distance from the Node relay
the price of the stack, which no change to the platform can remove.

    .venv/bin/python bench/flask_rush_relay.py PORT
"""

from gevent import monkey

monkey.patch_all()

from dataclasses import dataclass, field

import flask_stack  # bench/, beside this file
from flask import Flask, request
from flask_socketio import Namespace, SocketIO, emit, join_room

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent")


@dataclass
class Member:
    id: int
    role: str
    admitted: bool = False
    identified: bool = False
    warned: bool = False
    present: bool = False

    @property
    def cleared(self) -> bool:
        return self.role == "mediator" or (self.admitted and self.identified and self.warned)


@dataclass
class Room:
    version: int = 0
    members: dict[int, Member] = field(default_factory=dict)


rooms: dict[object, Room] = {}
connections: dict[str, tuple[Room, Member]] = {}


def layout_for(room: Room, me: Member) -> dict:
    peers = (
        [m.id for m in room.members.values() if m is not me and m.present and m.cleared]
        if me.cleared
        else []
    )
    return {"version": room.version, "peers": peers, "group": "main" if me.cleared else "lobby"}


def broadcast(room: Room) -> None:
    room.version += 1
    roster = [
        {
            "id": m.id,
            "role": m.role,
            "present": m.present,
            "admitted": m.admitted,
            "identity_confirmed": m.identified,
            "warning_acknowledged": m.warned,
        }
        for m in room.members.values()
    ]
    for m in room.members.values():
        if m.present:
            emit("layout", layout_for(room, m), to=f"participant:{m.id}", namespace="/room")
            emit(
                "roster",
                {"members": roster, "version": room.version},
                to=f"participant:{m.id}",
                namespace="/room",
            )


def target(room: Room, data) -> Member | None:
    if not isinstance(data, dict):
        return None
    try:
        return room.members.get(int(data.get("participant")))
    except (TypeError, ValueError):
        return None


@app.get("/")
@app.get("/healthz")  # as the platform's, for nginx in front of two of these
def index() -> str:
    return "ok"


class RushRelay(Namespace):
    def on_connect(self, auth: dict) -> None:
        me, role = int(auth["participant"]), auth["role"]
        room = rooms.setdefault(auth["session"], Room())
        member = room.members.setdefault(me, Member(me, role, admitted=role == "mediator"))
        member.present = True
        connections[request.sid] = (room, member)
        join_room(f"participant:{me}")
        emit("welcome", {"you": {"id": me, "role": role}, "layout": layout_for(room, member)})
        broadcast(room)

    def on_admit(self, data) -> None:
        room, _ = connections[request.sid]
        if t := target(room, data):
            t.admitted = True
            broadcast(room)

    def on_confirm_identity(self, data) -> None:
        room, _ = connections[request.sid]
        if t := target(room, data):
            t.identified = True
            broadcast(room)

    def on_acknowledge_warning(self, data=None) -> None:
        room, member = connections[request.sid]
        member.warned = True
        broadcast(room)

    def on_signal(self, data) -> None:
        room, member = connections[request.sid]
        if not isinstance(data, dict) or not isinstance(data.get("to"), int):
            return
        to = room.members.get(data["to"])
        if to is None or not member.cleared or not to.cleared:
            return
        message = {
            "from": member.id,
            "epoch": 1,
            "kind": data.get("kind"),
            "payload": data.get("payload"),
            "version": room.version,
        }
        emit("signal", message, to=f"participant:{to.id}")

    def on_disconnect(self, reason=None) -> None:
        found = connections.pop(request.sid, None)
        if found is None:
            return
        room, member = found
        member.present = False
        broadcast(room)
        if not any(m.present for m in room.members.values()):
            rooms.pop(next((k for k, r in rooms.items() if r is room), None), None)


socketio.on_namespace(RushRelay("/room"))


if __name__ == "__main__":
    flask_stack.run(app, socketio)
