"""The second reference of bench/signaling_capacity.py: the platform's own stack (Flask-
SocketIO on gevent, one process, the same garbage-collector settings) relaying the room
protocol's "signal" event with no checks at all, like bench/node/relay.js: a client names
its participant id in the handshake, joins "participant:<id>" and each "signal" goes to
"participant:<to>". The platform's distance from it is the price of its checks; its
distance from Node is the price of the stack.

    .venv/bin/python bench/flask_relay.py PORT
"""

from gevent import monkey

monkey.patch_all()


import flask_stack  # bench/, beside this file
from flask import Flask, request
from flask_socketio import Namespace, SocketIO, emit, join_room

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent")  # Flask-SocketIO's defaults otherwise
participants: dict[str, int] = {}


@app.get("/")
def index() -> str:
    return "ok"


class Relay(Namespace):
    def on_connect(self, auth: dict) -> None:
        me = int(auth["participant"])
        participants[request.sid] = me
        join_room(f"participant:{me}")
        emit("welcome", {"you": {"id": me}, "layout": {"version": 1}})

    def on_disconnect(self, reason=None) -> None:
        participants.pop(request.sid, None)

    def on_signal(self, data: dict) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("to"), int):
            return
        message = {
            "from": participants[request.sid],
            "epoch": 1,
            "kind": data.get("kind"),
            "payload": data.get("payload"),
            "version": data.get("version"),
        }
        emit("signal", message, to=f"participant:{data['to']}")


socketio.on_namespace(Relay("/room"))


if __name__ == "__main__":
    flask_stack.run(app, socketio)
