"""The minutes cut into numbered passages, as the review shows them and the PDF prints
them, and the disputes raised against each. The facts not in dispute are confirmed in
writing (SPC online mediation rules art 22), so a party disputes a passage, not the whole
record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mediation.accounts.models import User

from .models import SECTIONS, Minutes


@dataclass(frozen=True)
class Passage:
    """One paragraph of one part of the minutes, numbered as printed: "2.3"."""

    number: str
    section: str
    text: str


def passages(minutes: Minutes) -> list[Passage]:
    """The minutes cut into numbered passages, one per non-empty line, so that a party
    can dispute exactly the sentence they disagree with."""
    found = []
    for index, name in enumerate(SECTIONS, start=1):
        lines = [line.strip() for line in getattr(minutes, name).splitlines() if line.strip()]
        found += [Passage(f"{index}.{n}", name, line) for n, line in enumerate(lines, start=1)]
    return found


def disputes_by_passage(reviews: Iterable[Any]) -> dict[str, list[tuple[User, str]]]:
    """passage number -> [(who, why)] in ``reviews`` (the minutes' reviews, or as a step
    will leave them: anything with ``user`` and ``disputes``)."""
    found: dict[str, list[tuple[User, str]]] = {}
    for review in reviews:
        for dispute in review.disputes or []:
            found.setdefault(dispute["passage"], []).append((review.user, dispute["note"]))
    return found
