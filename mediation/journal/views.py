"""HTTP handlers of the journal: a case's entries, as a page and as JSON."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from mediation.cases.models import Case
from mediation.cases.operations import viewable_case
from mediation.cases.privacy import (
    HIDDEN,
    is_party,
    one_side_sessions,
    readable_sides,
    redactor,
    shown_entries,
)
from mediation.cases.timeline import lines
from mediation.extensions import db

from .models import JournalEntry
from .operations import sealed_of, verify_chain
from .schemas import entry_to_dict


def _case_or_404(case_id: int) -> Case:
    return viewable_case(case_id, current_user) or abort(404)


def _entries(case_id: int) -> list[JournalEntry]:
    return db.session.scalars(
        select(JournalEntry).where(JournalEntry.case_id == case_id).order_by(JournalEntry.seq)
    ).all()


def _visible(case: Case) -> list[tuple[JournalEntry, dict]]:
    """Each entry the viewer sees, with its payload as they may see it (a party does not see
    the other side's unshared evidence or address, caucus, or session held with it alone,
    nor the entries of the other side's own, such as the applicant's consultation before
    filing, at all); the chain is verified on the full entries. Sealed content is shown
    beside its hash to those of its side (and staff), as a dash to the other side."""
    entries = _entries(case.id)
    shown_to_viewer = shown_entries(case, current_user)
    sealed = sealed_of(case.id)
    redact = redactor(
        case, current_user, one_side=one_side_sessions((e.action, e.payload) for e in entries)
    )
    readable = readable_sides(case, current_user)
    shown = []
    for entry in entries:
        if not shown_to_viewer(entry.action):
            continue
        payload = redact(entry.action, entry.payload, entry.actor_id)
        row = sealed.get(entry.id)
        if row is not None:
            content = row.content if row.side in readable else dict.fromkeys(row.content, HIDDEN)
            payload = {**payload, **content}
        shown.append((entry, payload))
    return shown


@login_required
def case_journal(case_id: int):
    case = _case_or_404(case_id)
    # Everyone reads one line per entry in words; staff also see each entry's number and
    # hash and may download the entries as data (the JSON below), parties never see data.
    return render_template(
        "journal/entries.html",
        case=case,
        lines=lines(case, _visible(case), current_user),
        hashes={e.seq: e.hash for e in _entries(case.id)},
        staff_view=not is_party(current_user, case),
        chain=verify_chain(case.id),
    )


@login_required
def case_journal_json(case_id: int):
    case = _case_or_404(case_id)
    report = verify_chain(case.id)
    if is_party(current_user, case):
        # A party reads the entries they may see, not the chain's positions, links or
        # length: those would show that entries are kept from them, and where (the other
        # side's own: cases.privacy), and a party could not re-check the chain anyway, its
        # payloads being redacted. The platform's verdict on the chain is theirs.
        return {
            "case": case.number,
            "chain": {"ok": report.ok},
            "entries": [
                {
                    "action": e.action,
                    "actor_id": e.actor_id,
                    "created_at": e.created_at.isoformat(timespec="microseconds"),
                    "payload": payload,
                }
                for e, payload in _visible(case)
            ],
        }
    return {
        "case": case.number,
        "chain": {"ok": report.ok, "entries": report.entries, "broken_at": report.broken_at},
        "entries": [{**entry_to_dict(e), "payload": payload} for e, payload in _visible(case)],
    }
