"""The parties' review of the minutes, and the minutes PDF kept with the case.

SPC online mediation rules art 22: the mediator keeps a synchronous electronic record and
the undisputed facts are confirmed in writing. Here every party (and agent) who attended
reads the version the mediator sends, marks the passages they dispute with a note, and
confirms with a one-time code sent to their phone. Disputed passages stay in the minutes,
marked, with who disputes them and why; nothing is dropped. A dispute is told to the
mediator at once, and the mediator decides: amend the minutes (the new version goes to the
parties again) or make them final with the objection marked. Once everyone has answered
without dispute, or the mediator closes the review, the minutes PDF is made, hashed and
journaled (People's Mediation Law art 27: the institution keeps the mediation's records).
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mediation.accounts import operations as accounts
from mediation.accounts import personal_links
from mediation.accounts.models import CodePurpose, User
from mediation.booking import links
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases import agency
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.core.storage import storage
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify
from mediation.rooms.models import Room, RoomMember

from .models import Minutes, MinutesReview
from .passages import passages

if TYPE_CHECKING:  # WeasyPrint is loaded only when a PDF is made
    from .document import Printed

MAX_NOTE = 2_000
LINK_SALT = "minutes-review"

REVIEW_ASKED = _l(
    "Case %(number)s: the minutes of your mediation session are ready. Please read them, "
    "mark anything you disagree with, and confirm them here: %(link)s"
)
DISPUTED = _l(
    "Case %(number)s: %(name)s disputes passages %(passages)s of the minutes. Please read the "
    "objection and decide: amend the minutes, or make them final with it marked: %(link)s"
)


def reviewers(session: MediationSession) -> list[SessionParticipant]:
    """The parties and agents who attended: admitted into the room. When nobody was
    admitted (the minutes of a session held on site, say), every party and agent invited."""
    # Not an agent the party refused since (their seat is kept as a record only).
    invited = [
        p for p in session.participants if p.role in ("party", "agent") and links.seat_holds(p)
    ]
    attended = set(
        db.session.scalars(
            select(RoomMember.participant_id).where(
                RoomMember.session_id == session.id, RoomMember.admitted_at.is_not(None)
            )
        )
    )
    return [p for p in invited if p.id in attended] or invited


def drop_refused_agent(case_id: int, user_id: int) -> None:
    """The party said ``user_id`` does not act for them (cases/agency.refuse): a review of
    minutes under way no longer waits for their answer, which they could not give (the
    minutes' pages are the case's, no longer theirs). If that leaves nobody to answer and
    nothing disputed, the minutes are made final, as at the last answer (the PDF made under
    the lock then, as in ``finalise``'s own fallback: the refusal holds the case's turn)."""
    under_review = db.session.scalars(
        select(Minutes)
        .join(MediationSession, MediationSession.id == Minutes.session_id)
        .where(
            MediationSession.case_id == case_id,
            Minutes.review_version.is_not(None),
            Minutes.finalised_at.is_(None),
        )
    ).all()
    for minutes in under_review:
        lock(minutes)
        waiting = [r for r in minutes.reviews if r.user_id == user_id and not r.answered]
        if not waiting:
            continue
        for review in waiting:
            minutes.reviews.remove(review)
        db.session.flush()
        if minutes.reviews and not awaiting_answers(minutes) and not has_disputes(minutes):
            session = db.session.get(MediationSession, minutes.session_id)
            finalise(session, minutes, by=None)


def acts_as_mediator(session: MediationSession, user: User) -> bool:
    """Whether ``user`` keeps the minutes of ``session``: the case's mediator now, who need
    not be the one who held the session. A case given to another mediator (SPC online
    mediation rules arts 13, 14) takes its minutes along: the new mediator decides what a
    party disputes and closes the review (art 22: the mediator confirms the undisputed
    facts; People's Mediation Law art 27: the mediator records the mediation), and the one
    who held the session, no longer on the case, can no longer act on them."""
    return user.id == session.case.mediator_id


def link_for(participant: SessionParticipant) -> str:
    """The personal link sent by SMS."""
    signed = personal_links.token(LINK_SALT, participant.id, participant.link_nonce)
    return personal_links.url(f"/m/{signed}")


def participant_of_link(token: str) -> SessionParticipant | None:
    found = personal_links.values(LINK_SALT, token)
    if found is None or len(found) != 2:
        return None
    participant = db.session.get(SessionParticipant, found[0])
    if participant is None or participant.link_nonce != found[1]:
        return None
    return participant


def lock(minutes: Minutes) -> Minutes:
    """Take the minutes' row lock before deciding anything (two parties confirming at once,
    the mediator editing or closing meanwhile); everything is read again afterwards. The
    case's turn comes first (core/locks.py: the order of locks): the room's end journals,
    then takes this lock to send the minutes for review, and a save holding it while it
    waited for the journal was a deadlock."""
    session = db.session.get(MediationSession, minutes.session_id)
    journal.turn(session.case_id)
    db.session.flush()
    lock_rows(Minutes.session_id, minutes.session_id)
    db.session.expire_all()
    return minutes


class RepeatedError(Exception):
    """The same step arrived again (a double tap, a phone resending the POST, a second
    tab): done once, and the message says what stands."""


def _ended(session: MediationSession) -> bool:
    room = db.session.get(Room, session.id)
    return room is not None and room.ended_at is not None


def open_review(session: MediationSession, minutes: Minutes, *, by: User | None) -> None:
    """Send the current version to everyone who reviews it; earlier answers are void
    (they were about other words). ``by`` is None when ending the session opened it."""
    # Two "send" buttons at once take turns: the second one sees this version under review.
    lock(minutes)
    if minutes.finalised_at is not None:
        raise NotPermittedError(_("The minutes are final: the review has ended."))
    if minutes.review_version == minutes.version:
        return  # this version is under review already: answers given so far stand
    if not minutes.written():
        raise FieldError("facts", _("Write the minutes before sending them for review."))
    if not _ended(session):
        raise NotPermittedError(_("The minutes are reviewed once the session has ended."))
    minutes.review_version = minutes.version
    minutes.review_opened_at = utcnow()
    people = reviewers(session)
    asked = {p.user_id for p in people}
    for gone in [r for r in minutes.reviews if r.user_id not in asked]:
        minutes.reviews.remove(gone)
    earlier = {r.user_id: r for r in minutes.reviews}
    for participant in people:
        answer = earlier.get(participant.user_id)
        if answer is None:
            answer = MinutesReview(user_id=participant.user_id)
            minutes.reviews.append(answer)
        # Answers to an earlier version are void (the journal keeps them).
        answer.version = minutes.version
        answer.confirmed_at = answer.unanswered_at = None
        answer.disputes = []
        # A code asked for to confirm the old words must not confirm the new ones (a code
        # for another session's minutes still confirms those: accounts.codes).
        accounts.retire_codes(
            participant.user,
            CodePurpose.minutes_confirmation,
            document=code_for(minutes, minutes.version).document,
        )
        notify.tell(
            participant.user, REVIEW_ASKED, number=session.case.number, link=link_for(participant)
        )
    db.session.flush()
    journal.append(
        session.case_id,
        "minutes.review_opened",
        {
            "session_id": session.id,
            "version": minutes.version,
            "reviewers": [p.user_id for p in people],
        },
        actor_id=by.id if by else session.mediator_id,
    )


def review_of(minutes: Minutes, user: User) -> MinutesReview | None:
    """``user``'s review of the version under review, if they are asked for one."""
    if minutes.review_version is None:
        return None
    return next(
        (r for r in minutes.reviews if r.user_id == user.id and r.version == minutes.version),
        None,
    )


def _open_review_of(minutes: Minutes, user: User) -> MinutesReview:
    review = review_of(minutes, user)
    if review is None or minutes.finalised_at is not None:
        raise NotPermittedError(_("These minutes are not waiting for your confirmation."))
    if review.answered:
        raise RepeatedError(_("You have already confirmed these minutes."))
    return review


# What the code confirms, named in its text: entering it is the act of confirming
# (SPC online mediation rules art 22: the electronic minutes are checked and confirmed
# online). The code comes first, so that a phone offers to fill it in.
CONFIRMING_TEXT = _l(
    "Code %(code)s: you are confirming the minutes of a mediation session of case %(number)s. "
    "Entering it confirms them as you have read them. Valid for %(minutes)d minutes. Do not "
    "tell anyone."
)


def code_for(minutes: Minutes, version: int) -> accounts.CodeFor:
    """What a code to confirm the minutes is for: these minutes, in the version the party
    read (a code must not confirm words they never saw, nor another session's minutes)."""
    return accounts.CodeFor(
        document=f"minutes:{minutes.session_id}",
        content=f"v{version}",
        text=CONFIRMING_TEXT,
        params={"number": db.session.get(MediationSession, minutes.session_id).case.number},
    )


def _read_current(minutes: Minutes, version: int) -> None:
    if version != minutes.version:
        raise FieldError(
            "version",
            _("The mediator changed the minutes since you opened them. Please read them again."),
        )


def send_code(minutes: Minutes, user: User, *, version: int | None = None) -> None:
    """A code to confirm the version of the minutes ``user`` read (None: the current one,
    for a caller that shows it), which must be the one under review still."""
    _open_review_of(minutes, user)
    read = minutes.version if version is None else version
    _read_current(minutes, read)
    # The same press again (a double tap, a second tab) goes on with the code just sent.
    accounts.ask_for_code(user, CodePurpose.minutes_confirmation, code_for=code_for(minutes, read))


def check_disputes(minutes: Minutes, disputes: dict[str, str]) -> list[dict[str, str]]:
    """The disputed passages as stored, in the minutes' order; each needs its reason."""
    numbers = [p.number for p in passages(minutes)]
    unknown = set(disputes) - set(numbers)
    if unknown:
        raise FieldError("disputes", _("The minutes have no passage %(n)s.", n=min(unknown)))
    checked = []
    for number in numbers:
        if number not in disputes:
            continue
        note = (disputes[number] or "").strip()
        if not note:
            raise FieldError(f"note-{number}", _("Say what is wrong with passage %(n)s.", n=number))
        if len(note) > MAX_NOTE:
            raise FieldError(f"note-{number}", _("At most %(n)d characters.", n=MAX_NOTE))
        checked.append({"passage": number, "note": note})
    return checked


def confirm(
    session: MediationSession,
    minutes: Minutes,
    user: User,
    disputes: dict[str, str],
    code: str,
    *,
    version: int | None = None,
) -> MinutesReview:
    """``user`` confirms the minutes as read, disputing the passages in ``disputes``
    (passage number -> why). The code sent to their phone is the confirmation; ``version``
    is the version they read, which must still be the one under review."""
    agency.check_may_act(session.case, user)
    now = utcnow()
    prepared = None
    with suppress(NotPermittedError, FieldError, RepeatedError):  # said below, under the lock
        prepared = _made_final_by(session, minutes, user, disputes, code, version, now)
    lock(minutes)
    review = _open_review_of(minutes, user)
    read = minutes.version if version is None else version
    _read_current(minutes, read)
    checked = check_disputes(minutes, disputes)
    if not accounts.consume_code(
        user, CodePurpose.minutes_confirmation, code, code_for=code_for(minutes, read)
    ):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    review.confirmed_at = now
    review.disputes = checked
    db.session.flush()
    journal.append(
        session.case_id,
        "minutes.confirmed",
        {
            "session_id": session.id,
            "version": minutes.version,
            "user_id": user.id,
            **({} if session.side else {"disputes": checked}),
            "via": "one-time code",
        },
        actor_id=user.id,
        # What a party disputes in the minutes of a session with one side is that side's.
        sealed={"disputes": checked} if session.side else None,
        side=session.side,
    )
    mediator = session.case.mediator
    if checked and mediator is not None:
        # Art 22: only undisputed facts are confirmed; what a party disputes is the
        # mediator's to weigh, so they are told now rather than find it in a final PDF.
        notify.tell(
            mediator,
            DISPUTED,
            number=session.case.number,
            name=user.real_name,
            passages="、".join(d["passage"] for d in checked),
            link=personal_links.url(f"/sessions/{session.id}/minutes"),
        )
    if not awaiting_answers(minutes) and not has_disputes(minutes):
        finalise(session, minutes, by=None, now=now, prepared=prepared)
    return review


def _made_final_by(
    session: MediationSession,
    minutes: Minutes,
    user: User,
    disputes: dict[str, str],
    code: str,
    version: int | None,
    now: datetime,
) -> Prepared | None:
    """The minutes PDF made and stored before the lock when ``user``'s answer, as it
    stands before the lock, is the last one and disputes nothing (``confirm`` then makes
    the minutes final); None otherwise. Writes nothing in the database."""
    review = _open_review_of(minutes, user)
    read = minutes.version if version is None else version
    _read_current(minutes, read)
    if check_disputes(minutes, disputes) or not accounts.code_would_pass(
        user, CodePurpose.minutes_confirmation, code, code_for=code_for(minutes, read)
    ):
        return None
    others = [r for r in minutes.reviews if r is not review]
    if any(not r.answered or (r.version == minutes.version and r.disputes) for r in others):
        return None  # others still to answer, or a dispute for the mediator to decide
    from . import document

    reviews = [
        p._replace(confirmed_at=now, disputes=[]) if r is review else p
        for r, p in zip(minutes.reviews, document.printed(minutes), strict=True)
    ]
    return _prepare(session, minutes, reviews, closed_by=None, now=now)


def awaiting_answers(minutes: Minutes) -> int:
    """How many reviewers of the version under review have not answered yet."""
    return db.session.scalar(
        select(func.count(MinutesReview.id)).where(
            MinutesReview.session_id == minutes.session_id, MinutesReview.confirmed_at.is_(None)
        )
    )


def has_disputes(minutes: Minutes) -> bool:
    """Whether a party disputes a passage of the version under review: such minutes are
    never made final without the mediator's decision."""
    return any(r.disputes for r in minutes.reviews if r.version == minutes.version)


def to_decide(case_id: int) -> list[MediationSession]:
    """The sessions of a case whose minutes wait for the mediator's decision on a dispute."""
    under_review = db.session.scalars(
        select(Minutes)
        .join(MediationSession, MediationSession.id == Minutes.session_id)
        .where(
            MediationSession.case_id == case_id,
            Minutes.finalised_at.is_(None),
            Minutes.review_version == Minutes.version,
        )
        .order_by(MediationSession.start_at)
    ).all()
    return [db.session.get(MediationSession, m.session_id) for m in under_review if has_disputes(m)]


def awaits_mediator(minutes: Minutes | None) -> bool:
    """Under review, disputed, and not final: the mediator has to decide."""
    return (
        minutes is not None
        and minutes.finalised_at is None
        and minutes.review_version == minutes.version
        and has_disputes(minutes)
    )


def close_review(session: MediationSession, minutes: Minutes, *, by: User) -> None:
    """The mediator ends the review without waiting for everyone: whoever has not
    answered is shown in the PDF as not having confirmed. The case's mediator now decides,
    also for a session a former mediator held (``acts_as_mediator``)."""
    if not acts_as_mediator(session, by):
        raise NotPermittedError(_("Only the mediator can do this."))
    from . import document

    now = utcnow()
    prepared = None
    if minutes.finalised_at is None and minutes.review_version is not None:
        # Made before the lock, the reviews as they stand (whoever has not answered is
        # printed as not having confirmed); checked against them again under it.
        prepared = _prepare(session, minutes, document.printed(minutes), closed_by=by, now=now)
    lock(minutes)
    if minutes.finalised_at is not None:
        raise RepeatedError(_("The review has already ended and the minutes PDF is made."))
    if minutes.review_version is None:
        raise NotPermittedError(_("The minutes are not under review."))
    for review in minutes.reviews:
        if not review.answered:
            review.unanswered_at = now
    finalise(session, minutes, by=by, now=now, prepared=prepared)


class Prepared(NamedTuple):
    """The minutes PDF made and stored before the lock, and the HTML it was made from."""

    html: str
    key: str
    sha256: str


def _prepare(
    session: MediationSession,
    minutes: Minutes,
    reviews: list[Printed],
    *,
    closed_by: User | None,
    now: datetime,
) -> Prepared:
    """The PDF made (WeasyPrint, seconds) and stored (a network call with object storage)
    without recording it: nothing slow happens under a lock (core/locks.py). Its key names
    its hash, so a PDF made for a step that then lost its race (the review closed, a party
    answering meanwhile) never overwrites the one on record; it is left where it is."""
    from . import document

    made = document.html(session, minutes, reviews, closed_by=closed_by, now=now)
    pdf = document.pdf_of(made)
    digest = hashlib.sha256(pdf).hexdigest()
    key = f"minutes/{session.case_id}/session-{session.id}-v{minutes.version}-{digest[:16]}.pdf"
    storage().put(key, pdf)
    return Prepared(made, key, digest)


def finalise(
    session: MediationSession,
    minutes: Minutes,
    *,
    by: User | None,
    now: datetime | None = None,
    prepared: Prepared | None = None,
) -> None:
    """Keep the minutes PDF with the case, journal its SHA-256 (once). Under the minutes'
    lock: ``prepared``, made before it, is kept if it was made from what the minutes say
    now (the same HTML, made ``now``); else the PDF is made here, under the lock: only
    when the two last answers came at once (each saw the other still to come, so neither
    made it before its lock) or something printed changed meanwhile."""
    from . import document

    if minutes.finalised_at is not None:
        return
    now = now or utcnow()
    made = document.html(session, minutes, document.printed(minutes), closed_by=by, now=now)
    if prepared is None or prepared.html != made:
        prepared = _prepare(session, minutes, document.printed(minutes), closed_by=by, now=now)
    minutes.finalised_at = now
    minutes.document_path = prepared.key
    minutes.document_sha256 = prepared.sha256
    db.session.flush()
    journal.append(
        session.case_id,
        "minutes.finalised",
        {
            "session_id": session.id,
            "version": minutes.version,
            "sha256": minutes.document_sha256,
            "confirmed_by": [r.user_id for r in minutes.reviews if r.answered],
            "unanswered": [r.user_id for r in minutes.reviews if not r.answered],
            "disputes": sum(len(r.disputes) for r in minutes.reviews),
        },
        actor_id=by.id if by else None,
    )


def document_file(minutes: Minutes) -> Path | None:
    """The PDF's file when the storage is a local folder (tests, tools), else None."""
    if minutes.document_path is None:
        return None
    return storage().local_path(minutes.document_path)
