"""Events of the cases feature that other features react to, without cases knowing them."""

from blinker import Namespace

_signals = Namespace()

# Sent with the case as sender and ``previous`` (the former mediator's id), inside the
# operation's transaction: receivers flush their changes and never commit.
mediator_changed = _signals.signal("mediator-changed")

# Sent with the case as sender, ``source`` (the former status), ``action`` and ``by`` (the
# user who took the step, None for the platform's own) after every transition, inside the
# transaction.
status_changed = _signals.signal("status-changed")

# Sent by ``statistics.figures`` with the institution id (or None for the whole platform)
# as sender: a higher feature (consultation) answers with a dict of named counts, which
# the statistics page shows beside the cases'.
figures_asked = _signals.signal("figures-asked")
