"""TURN credentials in coturn's REST-secret convention."""

import base64
import hashlib
import hmac

from mediation.rooms import ice


def test_turn_credentials_expire_and_verify_with_the_shared_secret():
    config = {
        "ICE_STUN_URLS": ["stun:turn.example:3478"],
        "ICE_TURN_URLS": ["turn:turn.example:3478"],
        "TURN_SECRET": "s3cret",
    }
    stun, turn = ice.servers(config, 7, now=1_000_000)
    assert stun == {"urls": ["stun:turn.example:3478"]}
    assert turn["username"] == f"{1_000_000 + ice.TTL_SECONDS}:7"
    expected = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected


def test_no_turn_without_a_secret_and_nothing_by_default():
    assert ice.servers({"ICE_TURN_URLS": ["turn:x"]}, 1) == []
    assert ice.servers({}, 1) == []


def test_relay_only_is_a_setting_and_nothing_else_is_accepted(tmp_path):
    import pytest

    from mediation.config import ConfigurationError, finalize

    assert ice.transport_policy({}) == "all"
    assert ice.transport_policy({"ICE_TRANSPORT_POLICY": "relay"}) == "relay"
    with pytest.raises(ConfigurationError, match="all or relay"):
        finalize({"SECRET_KEY": "x" * 40, "ICE_TRANSPORT_POLICY": "direct"}, tmp_path)
