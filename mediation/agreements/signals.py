"""Events of the agreements feature that higher features react to, without agreements
knowing them."""

from blinker import Namespace

_signals = Namespace()

# Sent with the agreement as sender when the last signature (the seal) makes it take
# effect (People's Mediation Law art 29), inside the signing transaction: receivers flush
# their changes and never commit. Follow-up (mediation/followup) tracks its obligations.
agreement_effective = _signals.signal("agreement-effective")
