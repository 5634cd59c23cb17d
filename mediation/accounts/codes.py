"""One-time codes sent to a phone (or e-mail): to an account, or, to open one, to a number.

Only a code's HMAC is kept. Entering a code sent to an account's own number proves that its
holder receives what is sent there (``prove_contact``); nothing else does. Sending is
limited per recipient in the database, so every process counts alike and people behind
one address (an office, a carrier's NAT) do not use up each other's codes.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import one_at_a_time
from mediation.extensions import db
from mediation.notify import operations as notify

from .models import CodePurpose, OneTimeCode, User


def prove_contact(user: User, sent_to: str, purpose: CodePurpose, *, now: datetime) -> None:
    """A code sent to ``sent_to`` was entered: if that is the account's own number (or
    e-mail, for an account without a phone), its holder is proven.

    A password set before the number was proven may be anyone's (the number could have
    been registered by someone else first): it stops working, and so does every session,
    unless the proof itself came with that password (a login) or sets a new one (a reset).
    """
    if user.phone_verified_at is not None or sent_to != (user.phone or user.email):
        return
    user.phone_verified_at = now
    if user.password_hash and purpose not in (
        CodePurpose.password_reset,
        CodePurpose.phone_verification,
    ):
        user.password_hash = None
        user.session_version = (user.session_version or 0) + 1
        if user.phone:
            user.email = None  # set by the same unproven hand: it would get the notices


class CodeTooSoonError(FieldError):
    """A code was asked for again too soon; ``retry_at`` says when the next one may be."""

    def __init__(self, retry_at: datetime) -> None:
        self.retry_at = retry_at
        seconds = max(1, math.ceil((retry_at - utcnow()).total_seconds()))
        if seconds < 120:
            message = _(
                "A code was sent a moment ago. You can ask for a new one in %(n)d seconds.",
                n=seconds,
            )
        else:
            message = _(
                "Several codes were sent to this number. You can ask for a new one in "
                "%(n)d minutes.",
                n=(seconds + 59) // 60,
            )
        super().__init__("code", message)


class CodeJustSentError(CodeTooSoonError):
    """The same request again: the newest message to this recipient went to this very
    asker (the account, whose code still works, or the browser that asked for a code to
    its number) less than ``SAME_REQUEST`` ago. Nothing is sent: the code just sent is the
    answer, and the asker is answered as the first time (``ask_for_code``,
    ``registration``). To a caller that does not expect it, it is a code asked for too
    soon."""


class CodeFor(NamedTuple):
    """What an account's code signs or confirms: a document, as the person was shown it.

    Electronic Signature Law art 2 and art 13: a signature shows that the signer approves
    the content of this very data message, and its making data is under their sole
    control. A code that signed "whatever is on the screen" would let a code asked for on
    one case's agreement sign another's, or the words an edit put in after it was sent: so
    the code is bound to the document and to the content shown (``content``: its round and
    SHA-256, its version), and the text message names what it signs, as a bank's code
    names the transaction."""

    document: str  # which document: "agreement:12"
    content: str  # which content of it: "r2:<sha256 shown>"; "v3"
    text: LazyString  # the message (a lazy text) with %(code)s, %(minutes)d and ``params``
    params: dict[str, str]

    @property
    def bound_to(self) -> str:
        return f"{self.document}@{self.content}"


class CodeNotForThisError(FieldError):
    """The right code, sent for another document or for this one before it changed: it
    does not sign this content. Nothing is used; a new code is asked for here."""

    def __init__(self, *, changed: bool) -> None:
        if changed:
            message = _(
                "The document has changed since this code was sent: the code does not apply "
                "to it as it is now. Ask for a new code."
            )
        else:
            message = _(
                "This code was sent for another document: it does not apply to this one. "
                "Ask for a new code here."
            )
        super().__init__("code", message)


# A request for a code repeated this soon is the same request: a double tap comes within a
# second, and a phone resends a POST that got no answer within seconds. Someone who read
# the code-entry page and comes back to ask again takes longer: they are told, as anyone
# else is within the pacing interval, when the next code can come.
SAME_REQUEST = timedelta(seconds=10)


def _code_hash(subject: str, purpose: CodePurpose, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def _subject(user: User | None, sent_to: str, bound_to: str | None = None) -> str:
    # A user's codes are bound to the account (and a signing code to what it signs, under
    # the HMAC too, so that a record's ``bound_to`` changed by hand matches nothing), a
    # registration code to the number and the browser that asked for it.
    if user is None:
        return f"to:{sent_to}:{bound_to}"
    return str(user.id) if bound_to is None else f"{user.id}@{bound_to}"


_CODE_TEXT = {
    CodePurpose.password_reset: _l(
        "Your code to reset the password of the mediation platform is %(code)s. "
        "It is valid for %(minutes)d minutes. Do not tell it to anyone."
    ),
    CodePurpose.invitation_login: _l(
        "Your code to enter your mediation case is %(code)s. "
        "It is valid for %(minutes)d minutes. Do not tell it to anyone."
    ),
    CodePurpose.registration: _l(
        "Your code to open an account on the mediation platform is %(code)s. "
        "It is valid for %(minutes)d minutes. Do not tell it to anyone."
    ),
    CodePurpose.agency_confirmation: _l(
        "Your code to confirm who acts for you in your mediation case is %(code)s. Entering "
        "it confirms that this person is your agent. It is valid for %(minutes)d minutes. "
        "Do not tell it to anyone."
    ),
    CodePurpose.phone_verification: _l(
        "Your code to confirm your phone number on the mediation platform is %(code)s. "
        "It is valid for %(minutes)d minutes. Do not tell it to anyone."
    ),
}


# Codes that sign or confirm a document: each is bound to the document it was asked for
# (``CodeFor``), and its text, naming the document, comes with it.
_SIGNING = (CodePurpose.agreement_signature, CodePurpose.minutes_confirmation)


def _unused(user: User | None, sent_to: str, purpose: CodePurpose, bound_to: str | None = None):
    query = select(OneTimeCode).where(
        OneTimeCode.purpose == purpose, OneTimeCode.consumed_at.is_(None)
    )
    if user is not None:
        return query.where(OneTimeCode.user_id == user.id)
    # A code to a number is the browser's that asked for it: another browser asking for
    # one, or guessing, neither retires nor spends it.
    return query.where(
        OneTimeCode.user_id.is_(None),
        OneTimeCode.sent_to == sent_to,
        OneTimeCode.bound_to == bound_to,
    )


def _document_of(bound_to: str | None) -> str | None:
    """The document a ``CodeFor.bound_to`` names ("agreement:12"), without its content."""
    return None if bound_to is None else bound_to.split("@")[0]


def retire_codes(
    user: User, purpose: CodePurpose, *, document: str | None = None, now: datetime | None = None
) -> None:
    """Unused codes of ``purpose`` stop working (what they would have confirmed changed):
    those sent for ``document`` ("minutes:7"), or all of them."""
    now = now or utcnow()
    for old in db.session.scalars(_unused(user, "", purpose)):
        if document is None or _document_of(old.bound_to) == document:
            old.consumed_at = now


def next_code_at(
    sent_to: str, purpose: CodePurpose, *, now: datetime | None = None
) -> datetime | None:
    """When another code for ``purpose`` may be sent to ``sent_to``, if not now.

    Counted per recipient and purpose in the database (so every process sees the same
    count, and people sharing an office's or a carrier's address do not use up each other's
    codes): one a minute, and CODE_LIMIT_PER_RECIPIENT_HOUR in any hour. Per purpose, so a
    stranger who asks for password resets neither blocks the owner's signature or minutes
    codes, nor learns from a refusal elsewhere that the number has an account."""
    now = now or utcnow()
    sent = db.session.scalars(
        select(OneTimeCode.created_at)
        .where(
            OneTimeCode.sent_to == sent_to,
            OneTimeCode.purpose == purpose,
            OneTimeCode.created_at > now - timedelta(hours=1),
        )
        .order_by(OneTimeCode.created_at.desc())
    ).all()
    gap = timedelta(seconds=current_app.config["CODE_INTERVAL_SECONDS"])
    if sent and sent[0] + gap > now:
        return sent[0] + gap
    per_hour = current_app.config["CODE_LIMIT_PER_RECIPIENT_HOUR"]
    if len(sent) >= per_hour:
        return sent[per_hour - 1] + timedelta(hours=1)
    return None


# Any constant of this platform's own: the advisory locks of code sends on PostgreSQL.
_SENDS = 0x636F6465  # "code"


def _may_send(
    sent_to: str,
    purpose: CodePurpose,
    now: datetime,
    *,
    user: User | None,
    bound_to: str | None,
    by_browser: bool,
) -> None:
    """Raise unless a message of ``purpose`` may go to ``sent_to`` now (``next_code_at``).

    Messages for one recipient and purpose are sent one at a time, across processes, until
    the transaction ends: two requests at the same instant (a double tap, or a script
    posting the form in parallel to flood someone's phone) must each see the message the
    other sent, or the pacing counts neither. A request refused because the same asker
    (``user`` for the same ``bound_to`` document, or the browser ``bound_to`` when
    ``by_browser``) was sent one just now is the same request again: ``CodeJustSentError``."""
    digest = hashlib.sha256(f"{purpose}:{sent_to}".encode()).digest()
    one_at_a_time(_SENDS, int.from_bytes(digest[:4], "big", signed=True), on_sqlite=OneTimeCode.id)
    retry_at = next_code_at(sent_to, purpose, now=now)
    if retry_at is None:
        return
    newest = db.session.execute(
        select(
            OneTimeCode.user_id,
            OneTimeCode.bound_to,
            OneTimeCode.created_at,
            OneTimeCode.consumed_at,
        )
        .where(OneTimeCode.sent_to == sent_to, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
        .limit(1)
    ).first()
    # A browser's request is known by the browser, whether a code or a note went out (the
    # answer must not tell whether the number has an account); an account's by the account
    # and what the code is for (the same document as shown: a press for another one is a
    # new request, told when a code can come), while the code it was sent still works: one
    # used already, or retired because what it would confirm changed (minutes amended
    # during their review), answers nothing.
    same_asker = (
        newest is not None
        and newest.bound_to == bound_to
        and (
            by_browser
            or (user is not None and newest.user_id == user.id and newest.consumed_at is None)
        )
    )
    if same_asker and newest.created_at > now - SAME_REQUEST:
        raise CodeJustSentError(retry_at)
    raise CodeTooSoonError(retry_at)


def _send(
    user: User | None,
    sent_to: str,
    purpose: CodePurpose,
    now: datetime,
    locale: str | None,
    bound_to: str | None = None,
    code_for: CodeFor | None = None,
) -> str:
    if code_for is not None:
        bound_to = code_for.bound_to
    _may_send(sent_to, purpose, now, user=user, bound_to=bound_to, by_browser=user is None)
    # Earlier codes of the same purpose stop working: only the newest message counts. A
    # code that signs a document is replaced by a new one for that document only (in
    # whatever content it was sent for): a party with the agreement and the court
    # application open in two tabs keeps the agreement's code while they ask for the
    # application's, each signing only its own document (``CodeFor``) until it is used or
    # expires. The guesses they allow together are counted in ``_consume``.
    for old in db.session.scalars(_unused(user, sent_to, purpose, bound_to)):
        if code_for is None or _document_of(old.bound_to) == code_for.document:
            old.consumed_at = now
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = current_app.config["ONE_TIME_CODE_TTL_MINUTES"]
    db.session.add(
        OneTimeCode(
            user_id=user.id if user is not None else None,
            purpose=purpose,
            code_hash=_code_hash(_subject(user, sent_to, bound_to), purpose, code),
            sent_to=sent_to,
            bound_to=bound_to,
            expires_at=now + timedelta(minutes=minutes),
            created_at=now,
        )
    )
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        if code_for is None:
            text = str(_CODE_TEXT[purpose]) % {"code": code, "minutes": minutes}
        else:
            text = str(code_for.text) % {"code": code, "minutes": minutes, **code_for.params}
        if "@" in sent_to:
            notify.queue_email(sent_to, _("Your one-time code"), text, sensitive=True)
        else:
            notify.queue_sms(sent_to, text, sensitive=True)
    db.session.flush()
    return code


def _check_bound(purpose: CodePurpose, code_for: CodeFor | None) -> None:
    if (purpose in _SIGNING) != (code_for is not None):
        raise ValueError(f"a code of {purpose} is bound to a document exactly when it signs one")


def issue_code(
    user: User,
    purpose: CodePurpose,
    *,
    code_for: CodeFor | None = None,
    now: datetime | None = None,
) -> str:
    """Create a six-digit code, queue it to the user's phone (or e-mail), return it. A code
    that signs or confirms a document is for ``code_for`` only, and its text names it.

    Raises ``CodeTooSoonError`` when the recipient was sent one too recently."""
    _check_bound(purpose, code_for)
    sent_to = user.phone or user.email
    if sent_to is None:
        raise FieldError("identifier", _("This account has no phone number or e-mail address."))
    return _send(user, sent_to, purpose, now or utcnow(), user.locale, code_for=code_for)


def ask_for_code(
    user: User,
    purpose: CodePurpose,
    *,
    code_for: CodeFor | None = None,
    now: datetime | None = None,
) -> None:
    """A code the person asked for with a button ("send the code", "log in", "send me the
    code" to sign or to confirm the minutes): sent as ``issue_code`` sends it, except that
    the same press again (a double tap, a phone resending the POST) for the same thing
    (``code_for``: the same document as shown) is answered by the code just sent, as the
    first press was, and nothing more goes out. Asked again later within the pacing, or
    for another document: ``CodeTooSoonError``."""
    with contextlib.suppress(CodeJustSentError):
        issue_code(user, purpose, code_for=code_for, now=now)


def _consume(
    user: User | None,
    sent_to: str,
    purpose: CodePurpose,
    code: str,
    now: datetime,
    bound_to: str | None = None,
) -> bool:
    """True once for the right, unexpired code; every try counts against the code.

    The try is counted by a conditional UPDATE before the comparison, so parallel
    guesses cannot share one count; using the code is conditional too, so it works once.
    An account's code works only for what it was sent for (``bound_to``): the right code
    of another live code of the account (another document, or this one before it
    changed) is ``CodeNotForThisError``, and stays unused.
    """
    code = code.strip()
    if user is None:  # a code to a number: the one live code of the browser that asked
        record_id = db.session.scalar(
            _unused(user, sent_to, purpose, bound_to)
            .with_only_columns(OneTimeCode.id)
            .where(OneTimeCode.expires_at > now)
            .order_by(OneTimeCode.id.desc())
        )
        return record_id is not None and _try(record_id, user, purpose, code, now)
    live = _unused(user, sent_to, purpose).where(OneTimeCode.expires_at > now)
    own = db.session.scalar(
        live.with_only_columns(OneTimeCode.id)
        .where(_bound_is(bound_to))
        .order_by(OneTimeCode.id.desc())
    )
    if own is not None and _try(own, user, purpose, code, now):
        return True
    # Not this document's code: perhaps another live one's (the code of the other tab).
    # Each code it is compared with counts the try, as on its own page: no code is tried
    # more often than the limit, so live codes for several documents allow no more
    # guesses than the same codes did when each new one retired the one before.
    ids = db.session.scalars(live.with_only_columns(OneTimeCode.id).where(~_bound_is(bound_to)))
    others = db.session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.id.in_(ids.all()),
            OneTimeCode.attempts < current_app.config["ONE_TIME_CODE_MAX_ATTEMPTS"],
        )
        .values(attempts=OneTimeCode.attempts + 1)
        .returning(OneTimeCode.code_hash, OneTimeCode.sent_to, OneTimeCode.bound_to)
    ).all()
    for other in others:
        sent_for = _code_hash(_subject(user, other.sent_to, other.bound_to), purpose, code)
        if hmac.compare_digest(other.code_hash, sent_for):
            raise CodeNotForThisError(changed=_same_document(other.bound_to, bound_to))
    return False


def _bound_is(bound_to: str | None):
    return OneTimeCode.bound_to.is_(None) if bound_to is None else OneTimeCode.bound_to == bound_to


def _try(record_id: int, user: User | None, purpose: CodePurpose, code: str, now: datetime) -> bool:
    """One try of ``code`` against the code ``record_id`` (for what it was sent for),
    counted first; True once when it is that code, which is then used."""
    counted = db.session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.id == record_id,
            OneTimeCode.attempts < current_app.config["ONE_TIME_CODE_MAX_ATTEMPTS"],
        )
        .values(attempts=OneTimeCode.attempts + 1)
        .returning(OneTimeCode.code_hash, OneTimeCode.sent_to, OneTimeCode.bound_to)
    ).first()
    if counted is None:
        return False  # too many tries: only a new code helps
    expected = _code_hash(_subject(user, counted.sent_to, counted.bound_to), purpose, code)
    if not hmac.compare_digest(counted.code_hash, expected):
        return False
    used = db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == record_id, OneTimeCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    if used.rowcount != 1:
        return False
    if user is not None:
        prove_contact(user, counted.sent_to, purpose, now=now)
        db.session.flush()
    return True


def _same_document(sent_for: str | None, here: str | None) -> bool:
    """Whether two ``CodeFor.bound_to`` name the same document (in other contents)."""
    return None not in (sent_for, here) and sent_for.split("@")[0] == here.split("@")[0]


def code_would_pass(user: User, purpose: CodePurpose, code: str, *, code_for: CodeFor) -> bool:
    """Whether ``consume_code`` would take ``code`` now, read without writing anything: for
    a step that does something slow before it takes its locks and consumes the code (a
    signature, whose timestamps come from a TSA), so that a wrong code costs nothing slow.
    It counts no try and uses nothing: ``consume_code`` still does both, for every code."""
    record = db.session.scalars(
        _unused(user, "", purpose)
        .where(
            OneTimeCode.expires_at > utcnow(),
            OneTimeCode.attempts < current_app.config["ONE_TIME_CODE_MAX_ATTEMPTS"],
            OneTimeCode.bound_to == code_for.bound_to,
        )
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    ).first()
    if record is None:
        return False
    expected = _code_hash(_subject(user, record.sent_to, record.bound_to), purpose, code.strip())
    return hmac.compare_digest(record.code_hash, expected)


def browser_key(nonce: str) -> str:
    """What binds a code to the browser that asked for it (a secret kept in its session)."""
    return hashlib.sha256(nonce.encode()).hexdigest()


def send_to_number(
    sent_to: str,
    purpose: CodePurpose,
    *,
    browser: str,
    locale: str | None,
    now: datetime | None = None,
) -> str:
    """A code to a number that has no account (yet), for the browser whose session holds
    ``browser``: registration."""
    return _send(None, sent_to, purpose, now or utcnow(), locale, browser_key(browser))


def consume_for_number(
    sent_to: str, purpose: CodePurpose, code: str, *, browser: str, now: datetime | None = None
) -> bool:
    """The code sent to a number without an account, as ``consume_code`` checks one; only
    from the browser that asked for it."""
    return _consume(None, sent_to, purpose, code, now or utcnow(), browser_key(browser))


def send_note(
    user: User,
    purpose: CodePurpose,
    text: str,
    *,
    browser: str | None = None,
    now: datetime | None = None,
) -> None:
    """A message without a code that a stranger can cause (a registration on a number that
    has an account, a filing "as agent" naming the number): paced and counted like a code
    of ``purpose``, so it cannot be used to flood the number's owner. ``browser``: the one
    that asked (registration), whose same request again is ``CodeJustSentError`` as for a
    code to a number."""
    now = now or utcnow()
    bound_to = browser_key(browser) if browser is not None else None
    _may_send(
        user.phone, purpose, now, user=user, bound_to=bound_to, by_browser=browser is not None
    )
    db.session.add(
        OneTimeCode(
            user_id=user.id,
            purpose=purpose,
            code_hash="",  # nothing can match it
            sent_to=user.phone,
            bound_to=bound_to,
            expires_at=now,
            consumed_at=now,
            created_at=now,
        )
    )
    notify.queue_sms(user.phone, text)
    db.session.flush()


def note_slot(user: User, purpose: CodePurpose, *, now: datetime) -> datetime:
    """When a message of ``purpose`` that must reach ``user`` after all may go: now, or the
    first moment the pacing of ``purpose`` to their number allows (``next_code_at``). It
    is counted from then, as a code would be, so the next one waits behind it.

    For a message that replaces one that stopped working (a session's new join links: the
    old ones are dead at once, so dropping the text would leave the person with none): it
    is put off, never refused. The caller keeps it to one message waiting at a time and
    takes the turns: ``_may_send``'s turn on the number would come after the case's turn
    the caller holds, against the order of core/locks.py (its only caller, resending a
    session's links, holds the mediator's calendar, so one mediator's sends to a number
    are counted one after the other)."""
    sent_to = user.phone or user.email
    at = max(now, next_code_at(sent_to, purpose, now=now) or now)
    db.session.add(
        OneTimeCode(
            user_id=user.id,
            purpose=purpose,
            code_hash="",  # nothing can match it
            sent_to=sent_to,
            expires_at=at,
            consumed_at=at,
            created_at=at,
        )
    )
    db.session.flush()
    return at


def consume_code(
    user: User,
    purpose: CodePurpose,
    code: str,
    *,
    code_for: CodeFor | None = None,
    now: datetime | None = None,
) -> bool:
    """True once for the right, unexpired code of ``user``, sent for ``code_for`` (the
    document as shown now); see ``_consume``. Entering a code sent to the account's own
    number proves the number (``prove_contact``).

    Raises ``CodeNotForThisError`` for the right code sent for another document, or for
    this one before it changed."""
    _check_bound(purpose, code_for)
    bound_to = code_for.bound_to if code_for is not None else None
    return _consume(user, "", purpose, code, now or utcnow(), bound_to)
