"""Nothing slow under a lock (core/locks.py): a signature's file is stored (a network call
with object storage) before the agreement's lock and the case's turn are taken, and only
recorded under them. Whether they are held is asked of another connection, which may not
wait for them (PostgreSQL: NOWAIT; SQLite: no busy timeout for the write lock)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose
from mediation.agreements import signing
from mediation.core import storage as storage_module
from mediation.extensions import db

from .conftest import agreeing_case, drawing, last_code_to, out_for_signing


def held(agreement) -> bool:
    """Whether another transaction holds the agreement's row (on SQLite: any write)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            other.close()
    with db.engine.connect() as other:
        try:
            other.execute(
                text("SELECT id FROM agreements WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": agreement.id},
            )
            return False
        except OperationalError:
            return True
        finally:
            other.rollback()


def test_a_signature_s_file_is_stored_before_the_agreement_s_lock(app_ctx, monkeypatch):
    case, _admin = agreeing_case()
    agreement = out_for_signing(case)
    party = case.party_users()[0]
    accounts.issue_code(
        party,
        CodePurpose.agreement_signature,
        code_for=signing.code_for(agreement, agreement.document_sha256),
    )
    db.session.commit()
    stores: list[bool] = []
    put = storage_module.LocalStorage.put

    def watched(self, key, data):
        if key.startswith("agreements/"):
            stores.append(held(agreement))
        return put(self, key, data)

    monkeypatch.setattr(storage_module.LocalStorage, "put", watched)
    signing.sign(
        agreement,
        party,
        code=last_code_to(party),
        shown_sha256=agreement.document_sha256,
        drawing=drawing(),
    )
    db.session.commit()
    assert stores == [False]
    assert agreement.signatures[0].signed_at is not None
    assert signing.document_bytes(agreement) is not None
