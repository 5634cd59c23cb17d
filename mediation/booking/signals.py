"""Events of the booking feature that other features answer, without booking knowing them."""

from blinker import Namespace

_signals = Namespace()

# Sent by ``slots.load_busy`` with the mediator's id as sender and ``since``/``until`` (UTC):
# a higher feature (reception talks) answers with a list of ``slots.Busy`` for the times it
# has already promised, so that no session is booked over them.
busy_asked = _signals.signal("busy-asked")
