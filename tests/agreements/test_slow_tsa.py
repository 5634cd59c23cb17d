"""Signing with an external timestamp authority (TSA_URL, RFC 3161) that is slow to answer:
a stub on loopback that holds its first answer until the test lets it go, then answers as
the platform's own TSA would (``agreements.tsa.respond``)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agreements import tsa
from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose, User
from mediation.agreements import credentials, signing
from mediation.agreements import operations as agreements
from mediation.agreements.models import Agreement, AgreementStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from tests.booking.race import committed
from tests.booking.test_races import run_together
from tests.factories import make_user

from .conftest import agreeing_case, complete_draft, drawing, out_for_signing
from .test_races import racing_app

HOLD = 20  # seconds the stub holds its first answer at most


@contextmanager
def slow_tsa(authority):
    """The TSA's URL, the event set when the first request arrives, the one that lets its
    answer go, and the number of requests answered."""
    asked, release, answered = threading.Event(), threading.Event(), []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            asked.set()
            release.wait(HOLD)
            reply = tsa.respond(body, authority=authority)
            answered.append(len(reply))
            self.send_response(200)
            self.send_header("Content-Type", tsa.REPLY_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/tsr", asked, release, answered
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def with_external_tsa(app, tmp_path, url: str):
    """A racing app (a connection per thread) that timestamps at ``url``, whose tokens chain
    to the platform's root (the stub answers with the platform's TSA)."""
    racing = racing_app(app, tmp_path)
    with app.app_context():
        root = tmp_path / "tsa-root.der"
        root.write_bytes(credentials.authority().root.dump())
    racing.config.update(TSA_URL=url, PKI_TRUST_ROOTS=[str(root)])
    return racing


def first_party_to_sign(app) -> dict:
    with app.app_context():
        case, _admin = agreeing_case()
        agreement = out_for_signing(case)
        party = case.party_users()[0]
        code = accounts.issue_code(
            party,
            CodePurpose.agreement_signature,
            code_for=signing.code_for(agreement, agreement.document_sha256),
        )
        ids = {
            "agreement": agreement.id,
            "party": party.id,
            "mediator": case.mediator_id,
            "institution": case.institution_id,
            "code": code,
            "shown": agreement.document_sha256,
        }
        db.session.commit()
        return ids


def test_a_slow_tsa_holds_no_other_step_while_a_party_signs(app, tmp_path):
    """A party signs while the TSA takes its time. The signature held the agreement's
    lock, on SQLite the database's write lock, while it waited for the TSA: the mediator's
    edit of the agreement waited too, and on SQLite so did every write on the platform (a
    new account here). Measured with the answer held: 5.3 s for the new account on SQLite,
    5.8 s for the edit on PostgreSQL, until the signature gave up on the TSA (its timeout
    is 5 s a request, and a signature asks two or three times) and failed. Now the file is
    signed before any lock: both are done at once, and the signature, which then signs a
    document no longer current, is refused as it would be after the edit."""
    with app.app_context():
        authority = credentials.authority()
    ids = first_party_to_sign(app)
    out: dict = {}
    took: dict = {}
    with slow_tsa(authority) as (url, asked, release, _answered):
        racing = with_external_tsa(app, tmp_path, url)

        def sign() -> None:
            with racing.app_context():
                try:
                    signing.sign(
                        db.session.get(Agreement, ids["agreement"]),
                        db.session.get(User, ids["party"]),
                        code=ids["code"],
                        shown_sha256=ids["shown"],
                        drawing=drawing(),
                    )
                    db.session.commit()
                    out["sign"] = "signed"
                except (NotPermittedError, FieldError) as error:
                    db.session.rollback()
                    out["sign"] = f"refused: {error}"
                except Exception as error:  # reported to the test, which fails on anything else
                    db.session.rollback()
                    out["sign"] = f"error: {error!r}"
                finally:
                    db.session.remove()

        def timed(name: str, act) -> None:
            began = time.monotonic()
            committed(racing, out, name, act)
            took[name] = time.monotonic() - began  # shown if the test fails, not asserted

        def edit() -> None:
            agreement = db.session.get(Agreement, ids["agreement"])
            mediator = db.session.get(User, ids["mediator"])
            agreements.save(agreement, complete_draft(agreement.case, days=45), by=mediator)

        def others() -> None:
            assert asked.wait(60), "the TSA was never asked"
            timed("elsewhere", lambda: make_user(institution_id=ids["institution"]))
            timed("edit", edit)
            # Not a timing: the signature is still waiting for the TSA's answer (held until
            # now), so nothing it holds stood in their way. Before, they waited until it gave
            # up on the TSA and failed, and its outcome was known by then.
            out["sign still waiting"] = "sign" not in out
            release.set()  # the TSA answers now

        run_together(sign, others)
    with racing.app_context():
        db.engine.dispose()
    assert out["edit"] == "done" and out["elsewhere"] == "done", out
    assert out["sign still waiting"], (out, took)
    assert out["sign"].startswith("refused"), out
    with app.app_context():
        agreement = db.session.get(Agreement, ids["agreement"])
        assert agreement.status == AgreementStatus.drafting and agreement.version == 3
        assert not any(s.signed_at for s in agreement.signatures)


def test_a_signature_timestamped_by_an_external_tsa(app, tmp_path):
    """The signature's timestamps come from the TSA at TSA_URL (the stub answers at once):
    the party's signature is added, timestamped there, and the document verifies."""
    from agreements.verify import verify_pdf

    with app.app_context():
        authority = credentials.authority()
    ids = first_party_to_sign(app)
    with slow_tsa(authority) as (url, _asked, release, answered):
        release.set()
        racing = with_external_tsa(app, tmp_path, url)
        with racing.app_context():
            signing.sign(
                db.session.get(Agreement, ids["agreement"]),
                db.session.get(User, ids["party"]),
                code=ids["code"],
                shown_sha256=ids["shown"],
                drawing=drawing(),
            )
            db.session.commit()
            agreement = db.session.get(Agreement, ids["agreement"])
            pdf = signing.document_bytes(agreement)
            roots = credentials.trust_roots()
            db.session.remove()
            db.engine.dispose()
    assert len(answered) >= 2  # the signature's timestamp and the document's
    report = verify_pdf(pdf, trust_roots=roots, timestamp_trust_roots=roots)
    assert report.ok, report
