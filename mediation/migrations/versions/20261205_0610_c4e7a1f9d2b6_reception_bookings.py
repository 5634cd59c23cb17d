"""reception: talks booked in a host's public reception hours

Revision ID: c4e7a1f9d2b6
Revises: a7f3c9e2d5b1
Create Date: 2026-12-05 06:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4e7a1f9d2b6"
down_revision = "a7f3c9e2d5b1"
branch_labels = None
depends_on = None

LIVE = "status <> 'cancelled'"


def upgrade():
    op.create_table(
        "reception_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("booker_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("end_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'held')",
            name=op.f("ck_reception_bookings_known_status"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('advised', 'case', 'answer')",
            name=op.f("ck_reception_bookings_known_outcome"),
        ),
        sa.CheckConstraint("start_at < end_at", name=op.f("ck_reception_bookings_ordered_times")),
        sa.ForeignKeyConstraint(
            ["host_id"], ["users.id"], name=op.f("fk_reception_bookings_host_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["booker_id"], ["users.id"], name=op.f("fk_reception_bookings_booker_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_reception_bookings_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["consultation_questions.id"],
            name=op.f("fk_reception_bookings_question_id_consultation_questions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_bookings")),
    )
    with op.batch_alter_table("reception_bookings", schema=None) as batch_op:
        # A slot is booked once only: no two live bookings of one host at one start.
        batch_op.create_index(
            "uq_reception_bookings_slot",
            ["host_id", "start_at"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
        batch_op.create_index(
            "ix_reception_bookings_booker", ["booker_id", "start_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("reception_bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_reception_bookings_booker")
        batch_op.drop_index("uq_reception_bookings_slot")
    op.drop_table("reception_bookings")
