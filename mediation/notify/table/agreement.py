"""Rows of the notification table (:mod:`mediation.notify.table`) for the agreement and
what follows it: signing in turn, a court's delegated dispute and the application for
judicial confirmation, and the follow-up of the obligations until performed."""

from __future__ import annotations

from .notice import Notice

N = Notice
ROWS: tuple[Notice, ...] = (
    # The agreement.
    N(
        "agreement",
        "draft saved or commented",
        "nobody",
        "none",
        "agreements/operations.py",
        "the draft is worked on with the parties in session; each signer is asked in turn",
    ),
    N(
        "agreement",
        "signing opened",
        "next signer",
        "sms",
        "agreements/signing.py",
        "signers sign one after another, each told when it is their turn",
    ),
    N(
        "agreement",
        "a signer signs and another is next",
        "next signer",
        "sms",
        "agreements/signing.py",
        "the next in turn",
    ),
    N(
        "agreement",
        "the institution's seal is next",
        "seal holder",
        "sms",
        "agreements/signing.py",
        "PML art 29: the committee's seal",
    ),
    N(
        "agreement",
        "agreement in force",
        "parties",
        "sms",
        "agreements/signing.py",
        "with the document's check code; CPL art 205's 30 days start",
    ),
    N(
        "agreement",
        "agreement in force",
        "mediator",
        "sms",
        "agreements/signing.py",
        "with the document's check code",
    ),
    N(
        "agreement",
        "mediator changed while the agreement is out for signing",
        "round signers",
        "sms",
        "agreements/round_end.py",
        "PML art 29: the document names the mediator who signs it, so the round is void; the "
        "new mediator fixes the text again and everyone signs anew. An agreement in force "
        "stays as it is",
    ),
    N(
        "agreement",
        "mediator changed while the agreement waits for the seal",
        "seal holder",
        "sms",
        "agreements/round_end.py",
        "they were asked to seal the void round",
    ),
    N(
        "agreement",
        "party refuses to sign",
        "parties",
        "both",
        "cases/notices.py",
        "art 25 (7): the case ends; PML art 26: what they may still do (the one who refused too)",
    ),
    N(
        "agreement",
        "party refuses to sign",
        "mediator",
        "sms",
        "cases/notices.py",
        "the case has ended",
    ),
    # A court's delegated dispute (SPC online mediation rules arts 11-15; CPL art 125).
    N(
        "court",
        "court delegates a dispute",
        "applicants",
        "both",
        "court/delegation.py",
        "the applicant agreed at the court; they follow the case by their own link, and the "
        "respondent is asked once the case is accepted (art 15)",
    ),
    N(
        "court",
        "delegated dispute's deadline passes without an agreement",
        "parties",
        "both",
        "cases/notices.py",
        "art 25 (6): mediation ends and the dispute goes back to the court; PML art 26",
    ),
    N(
        "court",
        "delegated dispute's deadline passes without an agreement",
        "mediator",
        "sms",
        "cases/notices.py",
        "ended by the clock",
    ),
    # The court application (SPC provisions on judicial confirmation).
    N(
        "court",
        "joint application: another party is to sign",
        "next signer",
        "sms",
        "court/application.py",
        "SPC provisions on judicial confirmation art 2: both parties apply together; whoever "
        "signs next gets their own link",
    ),
    N(
        "court",
        "joint application signed by every party",
        "court staff",
        "sms",
        "court/notices.py",
        "the court decides within 3 days whether to accept it",
    ),
    N(
        "court",
        "court accepts the application",
        "parties",
        "sms",
        "court/notices.py",
        "with the court's case number",
    ),
    N(
        "court",
        "court refuses the application",
        "parties",
        "sms",
        "court/notices.py",
        "with the ground",
    ),
    N(
        "court",
        "court asks for more materials",
        "parties",
        "sms",
        "court/notices.py",
        "with the date they are due",
    ),
    N("court", "court confirms the agreement", "parties", "sms", "court/notices.py", "CPL art 206"),
    N("court", "court rejects the agreement", "parties", "sms", "court/notices.py", "CPL art 206"),
    N(
        "court",
        "parties withdraw the application",
        "court staff",
        "sms",
        "court/notices.py",
        "the court stops its examination",
    ),
    # Follow-up: the agreement's obligations watched until performed (PML art 31).
    N(
        "followup",
        "obligation due soon",
        "obligor",
        "sms",
        "followup/notices.py",
        "once, by the worker, a few days before the date (PML art 31: urge performance)",
    ),
    N(
        "followup",
        "obligation date missed",
        "mediator",
        "sms",
        "followup/notices.py",
        "once, by the worker, the day after the date; the mediator follows it up",
    ),
    N(
        "followup",
        "obligation date missed",
        "obligee",
        "sms",
        "followup/notices.py",
        "with their personal link to confirm it if it was in fact performed (a code to "
        "their phone when not logged in)",
    ),
    N(
        "followup",
        "performance confirmed or follow-up recorded",
        "nobody",
        "none",
        "followup/operations.py",
        "shown on the case page to its parties and mediator",
    ),
)
del N
