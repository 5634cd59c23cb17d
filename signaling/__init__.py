"""Flask-SocketIO namespaces of the video rooms (the rooms issue builds them)."""
