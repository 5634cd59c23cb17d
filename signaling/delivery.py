"""Sending to a room's connections: straight to the ones in this process, through Redis only
for those held by another.

With Flask-SocketIO's Redis message queue every ``emit`` is published, and every web process
decodes every message (~130 µs each) even when its addressee is elsewhere: the cluster's CPU
per relayed message grew by that much with each process added (issue 18). Instead all the
connections of one session land on one process (nginx hashes the ``session`` query parameter
of the Socket.IO URL, deploy/nginx/ and docs/scaling.md), so the addressee of nearly every
message is in this process, and it is sent to directly (``ignore_queue``). What must cross
processes still goes through the queue:

- an addressee that is not connected here: pinning failed (a client reconnected to another
  process after a failover) or the sender is not a connection at all (an HTTP request);
- a message to a whole session (``ended``): its members are normally all here, but nothing
  here can tell that none is elsewhere, and it is rare.

A personal room holds one connection (a reload or a second tab replaces the earlier one,
``arrival.arrive``). While a replaced connection is being closed on another process, the
disconnection is published on the queue before anything announcing the new one, and each
process acts on the queue's messages in order: a message sent after that announcement finds
the personal room empty there and goes through the queue to the new connection.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import emit

from mediation.extensions import socketio

NAMESPACE = "/room"


def here(room: str) -> bool:
    """Whether Socket.IO room ``room`` has a connection in this process (and so, for a
    personal room, its only one). Dictionary lookups: this runs for every relayed message."""
    manager = socketio.server.manager
    members = manager.rooms.get(NAMESPACE, {}).get(room)
    if not members:
        return False
    # A connection being set up counts (its welcome and first roster are sent before its
    # handshake ends); one being closed does not.
    return any(
        manager.is_connected(sid, NAMESPACE) or manager.is_pre_connected(sid, NAMESPACE)
        for sid in members
    )


def send(event: str, data: Any, *, to: str | None = None) -> None:
    """``emit`` to the caller (``to`` None: always here) or to personal room ``to``."""
    if to is None:
        emit(event, data, to=request.sid, namespace=NAMESPACE, ignore_queue=True)
    else:
        emit(event, data, to=to, namespace=NAMESPACE, ignore_queue=here(to))


def send_each(event: str, data: Any, *, to: list[str]) -> None:
    """``send`` of the same message to several personal rooms: encoded once for all of them
    (the roster, to every member but the mediator, on each arrival: issue 18)."""
    local = [room for room in to if here(room)]
    if local:
        emit(event, data, to=local, namespace=NAMESPACE, ignore_queue=True)
    elsewhere = [room for room in to if room not in local]
    if elsewhere:
        emit(event, data, to=elsewhere, namespace=NAMESPACE)


def send_to_all(event: str, data: Any, *, to: str) -> None:
    """To every connection of a session, wherever it is (through the queue)."""
    emit(event, data, to=to, namespace=NAMESPACE)
