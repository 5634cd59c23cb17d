"""The weak-network walk's own coturn (tests/browser/weak_network.py) starts although the
port it found free was taken before coturn could bind it: the race every "find a free port,
then bind it" helper has, which made coturn retry the taken port until the walk gave up."""

from __future__ import annotations

import socket

from tests.browser import weak_network
from tests.browser.weak_network import stun_answers, turn_server


def test_coturn_starts_on_another_port_when_its_port_was_taken(tmp_path, monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taker:
        taker.bind(("127.0.0.1", 0))
        taken = taker.getsockname()[1]
        ports = iter([taken])
        free = weak_network._free_udp_port
        monkeypatch.setattr(weak_network, "_free_udp_port", lambda: next(ports, None) or free())
        with turn_server(tmp_path, within=30) as turn:
            assert turn.port != taken
            assert stun_answers(turn.port)
        assert weak_network.TAKEN in (tmp_path / "turnserver-1.out").read_text()
