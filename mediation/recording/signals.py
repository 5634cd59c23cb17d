"""Events of the recording feature that higher features answer, without recording knowing
them."""

from __future__ import annotations

from typing import NamedTuple

from blinker import Namespace

_signals = Namespace()


class Ended(NamedTuple):
    """Why someone's access to a case's recordings ended, in their words, and the page to go
    back to (``link``, named ``link_text``)."""

    words: str
    link: str
    link_text: str


# Sent with the case as sender and ``user`` when a file of the case that a higher feature
# once let ``user`` play (a joint session's recording or review video: the court examining
# an application) is not theirs to play any more. That feature answers with an ``Ended``
# (the court: the parties withdrew their application), or None. Receivers only read.
access_ended = _signals.signal("access-ended")
