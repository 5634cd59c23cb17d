"""booking: availability, sessions, participants; no double booking enforced by the database

Revision ID: efd2a4bd84c3
Revises: fe6f810a7a4e
Create Date: 2026-11-22 18:07:00.875948+00:00

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "efd2a4bd84c3"
down_revision = "fe6f810a7a4e"
branch_labels = None
depends_on = None


# A mediator's live sessions never overlap, buffer included. PostgreSQL: an exclusion
# constraint (btree_gist for the equality on mediator_id). SQLite: triggers, which run under
# the database's single write lock, so that two writers cannot both pass the check.
EXCLUSION = (
    "ALTER TABLE mediation_sessions ADD CONSTRAINT no_double_booking EXCLUDE USING gist "
    "(mediator_id WITH =, tsrange(start_at, busy_until) WITH &&) WHERE (status <> 'cancelled')"
)
TRIGGER = """
CREATE TRIGGER no_double_booking_{event}
BEFORE {event}{columns} ON mediation_sessions
WHEN NEW.status <> 'cancelled'
BEGIN
    SELECT RAISE(ABORT, 'no_double_booking: the mediator has another session at this time')
    FROM mediation_sessions AS other
    WHERE other.mediator_id = NEW.mediator_id
      AND other.status <> 'cancelled'
      AND other.id IS NOT NEW.id
      AND other.start_at < NEW.busy_until
      AND NEW.start_at < other.busy_until;
END
"""


def _no_double_booking() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(EXCLUSION)
    else:
        op.execute(TRIGGER.format(event="INSERT", columns=""))
        op.execute(
            TRIGGER.format(event="UPDATE", columns=" OF mediator_id, start_at, busy_until, status")
        )


def upgrade():
    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=True),
        sa.Column("ends", sa.Time(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(starts IS NULL AND ends IS NULL) OR (starts IS NOT NULL AND ends IS NOT NULL AND starts < ends)",
            name=op.f("ck_availability_exceptions_hours_or_whole_day"),
        ),
        sa.CheckConstraint(
            "available = false OR starts IS NOT NULL",
            name=op.f("ck_availability_exceptions_extra_hours_given"),
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"],
            ["users.id"],
            name=op.f("fk_availability_exceptions_mediator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_exceptions")),
    )
    with op.batch_alter_table("availability_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_availability_exceptions_mediator_day", ["mediator_id", "day"], unique=False
        )

    op.create_table(
        "availability_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("reception", sa.Boolean(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.CheckConstraint("starts < ends", name=op.f("ck_availability_rules_positive_length")),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_availability_rules_known_weekday")
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"],
            ["users.id"],
            name=op.f("fk_availability_rules_mediator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_rules")),
    )
    with op.batch_alter_table("availability_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_availability_rules_mediator_id"), ["mediator_id"], unique=False
        )

    op.create_table(
        "booking_settings",
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("session_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_hours", sa.Integer(), nullable=False),
        sa.Column("max_sessions_per_day", sa.Integer(), nullable=False),
        sa.Column("holidays_off", sa.Boolean(), nullable=False),
        sa.Column("feed_token", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "buffer_minutes BETWEEN 0 AND 240", name=op.f("ck_booking_settings_buffer_length")
        ),
        sa.CheckConstraint(
            "max_sessions_per_day BETWEEN 1 AND 20", name=op.f("ck_booking_settings_daily_limit")
        ),
        sa.CheckConstraint(
            "session_minutes BETWEEN 15 AND 480", name=op.f("ck_booking_settings_session_length")
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"],
            ["users.id"],
            name=op.f("fk_booking_settings_mediator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mediator_id", name=op.f("pk_booking_settings")),
        sa.UniqueConstraint("feed_token", name=op.f("uq_booking_settings_feed_token")),
    )
    op.create_table(
        "mediation_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("end_at", sa.DateTime(), nullable=False),
        sa.Column("busy_until", sa.DateTime(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offer_key", sa.String(length=32), nullable=True),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.Column("reception", sa.Boolean(), nullable=False),
        sa.Column("uid", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=False),
        sa.Column("reminded_day_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_hour_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('offered', 'scheduled', 'cancelled')",
            name=op.f("ck_mediation_sessions_known_session_status"),
        ),
        sa.CheckConstraint(
            "start_at < end_at AND end_at <= busy_until",
            name=op.f("ck_mediation_sessions_ordered_times"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_mediation_sessions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_mediation_sessions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["users.id"], name=op.f("fk_mediation_sessions_mediator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediation_sessions")),
        sa.UniqueConstraint("uid", name=op.f("uq_mediation_sessions_uid")),
    )
    with op.batch_alter_table("mediation_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_mediation_sessions_case", ["case_id"], unique=False)
        batch_op.create_index(
            "ix_mediation_sessions_mediator_start", ["mediator_id", "start_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mediation_sessions_offer_key"), ["offer_key"], unique=False
        )

    op.create_table(
        "session_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=True),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.Column("joins_from", sa.String(length=8), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("link_nonce", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "joins_from IN ('home', 'site')", name=op.f("ck_session_participants_known_place")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mediation_sessions.id"],
            name=op.f("fk_session_participants_session_id_mediation_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_session_participants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_participants")),
    )
    _no_double_booking()

    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_participants_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index("uq_session_participant", ["session_id", "user_id"], unique=True)

    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("separate_sessions_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")

    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.drop_column("separate_sessions_at")

    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.drop_index("uq_session_participant")
        batch_op.drop_index(batch_op.f("ix_session_participants_user_id"))

    op.drop_table("session_participants")
    with op.batch_alter_table("mediation_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediation_sessions_offer_key"))
        batch_op.drop_index("ix_mediation_sessions_mediator_start")
        batch_op.drop_index("ix_mediation_sessions_case")

    op.drop_table("mediation_sessions")
    op.drop_table("booking_settings")
    with op.batch_alter_table("availability_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_rules_mediator_id"))

    op.drop_table("availability_rules")
    with op.batch_alter_table("availability_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_availability_exceptions_mediator_day")

    op.drop_table("availability_exceptions")
