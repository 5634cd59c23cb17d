"""What the journal tells the features above it (it imports none of them)."""

from blinker import Namespace

_signals = Namespace()

# Sent with the case id after an entry is appended (flushed, not yet committed), with
# ``action``, ``payload`` and ``actor_id``: e.g. cases.agency tells a party of every step
# their agent took in their name.
entry_added = _signals.signal("journal-entry-added")
