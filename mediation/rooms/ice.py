"""ICE servers for the browsers: STUN and TURN URLs from the configuration, and TURN
credentials that expire, made per join in coturn's REST-secret convention
(``use-auth-secret``: the username is "expiry:id", the password HMAC-SHA1 of it, base64)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

TTL_SECONDS = 6 * 3600  # longer than any session; a new join gets new credentials


def servers(config: Mapping[str, Any], participant_id: int, *, now: float | None = None) -> list:
    """The ``iceServers`` list for RTCPeerConnection."""
    result: list[dict] = []
    stun = [u for u in config.get("ICE_STUN_URLS", []) if u]
    if stun:
        result.append({"urls": stun})
    turn = [u for u in config.get("ICE_TURN_URLS", []) if u]
    secret = config.get("TURN_SECRET")
    if turn and secret:
        expiry = int((now if now is not None else time.time()) + TTL_SECONDS)
        username = f"{expiry}:{participant_id}"
        digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
        result.append(
            {"urls": turn, "username": username, "credential": base64.b64encode(digest).decode()}
        )
    return result


def transport_policy(config: Mapping[str, Any]) -> str:
    """``iceTransportPolicy``: "relay" sends every media path through TURN (the recorder's
    too); "all" lets ICE choose."""
    return "relay" if config.get("ICE_TRANSPORT_POLICY") == "relay" else "all"
