"""How often a connection or a participant may send each kind of event (issue 15, finding 6).

Limits are written as Flask-Limiter's (``limits.parse``: "300 per 10 seconds") and enforced
as token buckets: the amount is the burst, refilled evenly over the period. A bucket is a
few numbers checked in about a microsecond on every event, kept where the connection is:
``limits``' own memory storage expires its keys from a timer that runs a hundred times a
second while anything is counted, too much for the relay's hot path.

An event over its limit is refused with ``error`` ``rate_limited``; a client that goes on
sending regardless, as many refused events again as the limit allows, is disconnected
(``flood``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable

from limits import RateLimitItem, parse

from mediation.config import ConfigurationError


def parse_limit(text: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError:
        example = "300 per 10 seconds"
        raise ConfigurationError(f"not a rate limit: {text!r} (e.g. {example!r})") from None


def clock() -> float:
    """Seconds, for refilling buckets; a test counting against a limit stops it here (on a
    busy machine a slow test would otherwise see a bucket refill while it counts)."""
    return time.monotonic()


class Bucket:
    __slots__ = ("at", "capacity", "rate", "strikes", "tokens")

    def __init__(self, limit: RateLimitItem) -> None:
        self.capacity = float(limit.amount)
        self.rate = limit.amount / limit.get_expiry()  # tokens per second
        self.tokens = self.capacity
        # Refused events, counted down like the tokens: a client whose refused events come
        # faster than the limit, after a whole limit's worth of them, is not a person.
        self.strikes = self.capacity
        self.at = clock()

    def take(self) -> bool:
        now = clock()
        refill = max(0.0, now - self.at) * self.rate
        self.tokens = min(self.capacity, self.tokens + refill)
        self.strikes = min(self.capacity, self.strikes + refill)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.strikes -= 1
        return False

    @property
    def abused(self) -> bool:
        return self.strikes < 0

    def retry_after(self) -> float:
        """Seconds until the next event is let through, rounded up to a tenth."""
        return math.ceil(max(0.0, (1 - self.tokens) / self.rate) * 10) / 10

    def full(self, now: float) -> bool:
        refill = (now - self.at) * self.rate
        return min(self.tokens, self.strikes) + refill >= self.capacity


class Buckets:
    """Buckets by key (a participant and an event kind), bounded: a full bucket is the same
    as none, so the full ones are dropped when there are many."""

    def __init__(self, most: int = 50_000) -> None:
        self.most = most
        self._buckets: dict[Hashable, Bucket] = {}

    def get(self, key: Hashable, limit: RateLimitItem) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.most:
                self._sweep()
            bucket = self._buckets[key] = Bucket(limit)
        return bucket

    def _sweep(self) -> None:
        now = clock()
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]
        if len(self._buckets) >= self.most:
            self._buckets.clear()  # that many people flooding at once: start again


KEY = "signaling.limits"
KINDS = ("signal", "lobby_signal", "chat", "minutes", "events", "connect", "recorder")
# Journaled kinds, and what a person in the lobby sends the mediator: counted per
# participant, so that reconnecting does not start them again.
PER_PARTICIPANT = frozenset({"chat", "minutes", "connect", "lobby_signal"})


class RoomLimits:
    def __init__(self, config: dict) -> None:
        self.limits = {kind: parse_limit(config[f"ROOM_LIMIT_{kind.upper()}"]) for kind in KINDS}
        self.participants = Buckets()


def init_app(app) -> None:
    """Each app keeps its own (a web process has one; tests make one per run)."""
    app.extensions[KEY] = RoomLimits(app.config)
