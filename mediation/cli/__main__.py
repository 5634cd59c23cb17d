"""``python -m mediation.cli``: how the web process starts its recorder (signaling/server.py)
and the recorder composes review videos (recording/recorder.py)."""

from . import main

if __name__ == "__main__":
    main()
