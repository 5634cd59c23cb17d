"""Flask-SocketIO with a cheaper request context for each event after the connect.

Flask-SocketIO runs every event inside ``app.request_context(environ)``, as if it were an
HTTP request (issue 18, py-spy, per relayed message): the cookie session was decoded and
its signature checked again (77-106 µs), only to be replaced at once by the session the
connection saved at connect; the URL map was bound and the Socket.IO path matched against
the whole route table, which it never matches (a ``NotFound`` built and kept, ~50 µs).

Here only the connect event gets Flask's full request context: it reads the login cookie
once (``flask_login.current_user``), and ``signaling.rooms`` stores the connection's
identity in the connection's session (``participant_id``, ``recorder_session``). Later
events get a request context built from the same environ with that session given, the
URL adapter bound once per connection, and no route matching. Access is still checked on
every event by the room's handlers (the sender must be the participant's current
connection, the session must still be on); the cookie was never read again there, since
Flask-SocketIO keeps the connect-time session for the connection's life either way.
"""

from __future__ import annotations

import sys
from typing import Any

import flask
from flask.ctx import RequestContext
from flask_socketio import SocketIO
from socketio.exceptions import ConnectionRefusedError

_ADAPTER = "mediation.url_adapter"


class EventContext(RequestContext):
    """A request context for a Socket.IO event of a connection that has its session.

    Flask's ``RequestContext.__init__`` without binding the URL map again (the connection's
    adapter is kept in its environ: ``url_for`` works as before), and ``push`` without
    matching the URL (the Socket.IO endpoint is not a route of the app)."""

    def __init__(self, app: flask.Flask, environ: dict, session: Any, url_adapter: Any) -> None:
        request = app.request_class(environ)
        request.json_module = app.json
        self.app = app
        self.request = request
        self.url_adapter = url_adapter
        self.flashes = None
        self._session = session
        self._after_request_functions = []
        self._cv_tokens = []

    def match_request(self) -> None:
        """Nothing to match: no view is called for a Socket.IO event."""


class LeanSocketIO(SocketIO):
    """``SocketIO`` whose events after the connect run in an ``EventContext``."""

    def _handle_event(self, handler, message, namespace, sid, *args):
        environ = self.server.get_environ(sid, namespace=namespace)
        session = environ.get("saved_session") if environ else None
        if session is None or message == "connect" or not self.manage_session:
            # The first event of a connection: Flask's full context, the cookie read once.
            return super()._handle_event(handler, message, namespace, sid, *args)
        app = environ["flask.app"]
        adapter = environ.get(_ADAPTER)
        if adapter is None:
            adapter = environ[_ADAPTER] = app.create_url_adapter(app.request_class(environ))
        with EventContext(app, environ, session, adapter):
            request = flask.request._get_current_object()
            request.sid = sid
            request.namespace = namespace
            request.event = {"message": message, "args": args}
            try:
                return handler(*args)
            except ConnectionRefusedError:
                raise  # python-socketio answers it
            except Exception:
                # As Flask-SocketIO does: the namespace's error handler answers.
                on_error = self.exception_handlers.get(namespace, self.default_exception_handler)
                if on_error is None:
                    raise
                return on_error(sys.exc_info()[1])
