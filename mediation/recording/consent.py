"""Consent freshness (RFC 7675) that a slow network is not taken for a peer gone away.

aioice checks every 4-6 s that the browser still consents to receive (a STUN request on the
pair in use), waits 0.5 s for each answer without sending it again, drops answers that come
later, and closes the connection after six checks in a row went unanswered. A phone on a
weak cell answers later than that: a round trip of 0.8 s at the edge of a cell, more behind a
full upload queue. There every check failed although every answer came, and a weak stretch
(12 s) with a short outage (7.5 s) after it was enough: the recorder closed, seconds after
the network was back, a connection that was working again, and the party went unrecorded
until their page asked for a new one and the stream had stopped for RECORDER_RESTART_AFTER
more (1 run in about 12 of tests/journeys/test_weak_network.py).

RFC 7675 (section 5.1) lets consent expire when no answer came for 30 s. Here each check is
a STUN transaction with retransmissions (sent again after 0.5 and 1.5 s, answered up to
3.5 s after it began: before the next check), and the connection is closed only once no
check was answered for CONSENT_FAILURES * CONSENT_INTERVAL (30 s), as before for a peer
that is really gone. Installed in the recorder process only (``install``); upstream the
missing retransmission is aioice issue 58 (open), whose patch would make this one go.
``tests/recording/test_consent.py`` checks it against aioice's connections, and that the
recorder process installs it; it fails if the private names used here (``_nominated``,
``build_request``, ``_query_consent_task``) change."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import aioice.ice
from aioice import stun

log = logging.getLogger(__name__)
# 0.5 + 1 + 2 s (stun.RETRY_RTO, doubled): a check ends before the next one begins (4 s).
RETRANSMISSIONS = 2


async def query_consent(self: aioice.ice.Connection) -> None:
    """aioice's ``Connection.query_consent``, expiring by the time since the last answer."""
    assert self.remote_password is not None  # checks begin once connect() has it
    answered = time.monotonic()
    while True:
        interval = aioice.ice.CONSENT_INTERVAL
        # Spread as RFC 7675 asks (0.8 to 1.2 times the interval): not a secret.
        await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))  # noqa: S311
        for pair in list(self._nominated.values()):
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=self.remote_password.encode("utf8"),
                    retransmissions=RETRANSMISSIONS,
                )
            except stun.TransactionError:
                continue
            answered = time.monotonic()
        silent = time.monotonic() - answered
        if silent >= aioice.ice.CONSENT_FAILURES * interval:
            log.warning("ICE consent expired: no answer for %.0f s", silent)
            self._query_consent_task = None  # close() must not cancel this task
            await self.close()
            return


def install() -> None:
    """Patch aioice in this process: only the recorder process calls it."""
    aioice.ice.Connection.query_consent = query_consent
