"""The evaluation page: public, read-only, answered from the query string."""

from __future__ import annotations

from flask import render_template, request

from mediation.cases import categories, regions
from mediation.extensions import db

from . import counts, durations, fees, outcomes
from .forms import EvaluationForm


def evaluate():
    form = EvaluationForm(request.args)
    form.category.choices = categories.choices()
    form.region_code.choices = regions.choices()
    estimate = similar = None
    if request.args and form.validate():
        estimate = fees.estimate(form.amount.data, form.category.data)
        similar = outcomes.similar(
            form.category.data, form.amount.data, form.region_code.data or None
        )
        # Counted for the statistics page, without the amount or who asked (models.py).
        counts.count(form.category.data, form.region_code.data or None)
        db.session.commit()
    return render_template(
        "evaluation/index.html",
        form=form,
        estimate=estimate,
        similar=similar,
        limits=durations.LIMITS,
        min_group=outcomes.MIN_GROUP,
    )
