"""The platform administrator's view of the outbox."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from mediation.accounts.models import Role
from mediation.core.access import role_required
from mediation.extensions import db

from . import operations as ops
from .models import MessageStatus, OutboxMessage

PAGE_SIZE = 100


@role_required(Role.platform_admin)
def outbox():
    status = request.args.get("status")
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
    if status in set(MessageStatus):
        query = query.where(OutboxMessage.status == status)
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return render_template(
        "notify/outbox.html",
        messages=db.session.scalars(query).all(),
        counts=counts,
        status=status,
        retry_form=FlaskForm(),
    )


@role_required(Role.platform_admin)
def retry(message_id: int):
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        ops.retry_now(message)
        db.session.commit()
        flash(_("The message will be sent again within a few seconds."), "info")
    return redirect(url_for("notify.outbox"))
