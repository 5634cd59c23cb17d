"""How the benchmarks' bare Flask-SocketIO references run (bench/flask_relay.py,
bench/flask_rush_relay.py): the platform's WebSocket and garbage-collector settings, so that
they differ from it only by what they leave out (login, database, checks)."""

import sys

from signaling.guard import without_compression
from signaling.server import tune_garbage_collector


def uncompressed(wsgi_app):
    """No per-message deflate (signaling/guard.py), as the platform and the Node relays:
    every server of a benchmark negotiates the same extensions (none)."""

    def serve(environ, start_response):
        without_compression(environ)
        return wsgi_app(environ, start_response)

    return serve


def run(app, socketio) -> None:
    """Serve on the loopback port given as the first argument."""
    tune_garbage_collector()
    app.wsgi_app = uncompressed(app.wsgi_app)  # outside Flask-SocketIO's middleware
    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_output=False)
