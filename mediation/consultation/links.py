"""The addresses a question's text messages carry (built from BASE_URL: the worker has no
request). The asker's is a personal link (accounts.personal_links): someone who asked
without choosing a password gets in with a code sent to their phone."""

from __future__ import annotations

from mediation.accounts import personal_links
from mediation.extensions import db

from .models import Question

LINK_SALT = "consultation-answer"


def answer_link(question: Question) -> str:
    """The asker's link to the question and its answer."""
    signed = personal_links.token(LINK_SALT, question.id, question.asker_id)
    return personal_links.url(f"/q/{signed}")


def question_of_link(token: str) -> Question | None:
    found = personal_links.ids(LINK_SALT, token)
    if found is None:
        return None
    question = db.session.get(Question, found[0])
    return question if question is not None and question.asker_id == found[1] else None


def expert_link(question: Question) -> str:
    """The question's page for an expert of its pool, or an administrator of its region (who
    log in with their password)."""
    return personal_links.url(f"/consultation/{question.id}")
