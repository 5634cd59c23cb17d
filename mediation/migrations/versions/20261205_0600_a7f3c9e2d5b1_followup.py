"""followup: the obligations of agreements in force and the follow-ups (回访记录) on them

Revision ID: a7f3c9e2d5b1
Revises: b8d2f6a4c1e3
Create Date: 2026-12-05 06:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a7f3c9e2d5b1"
down_revision = "b8d2f6a4c1e3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "obligations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("obligor_party_id", sa.Integer(), nullable=True),
        sa.Column("obligee_party_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("performed_at", sa.DateTime(), nullable=True),
        sa.Column("performed_note", sa.Text(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("missed_noticed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'performed', 'partly', 'missed')",
            name=op.f("ck_obligations_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_obligations_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_obligations_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["obligee_party_id"],
            ["case_parties.id"],
            name=op.f("fk_obligations_obligee_party_id_case_parties"),
        ),
        sa.ForeignKeyConstraint(
            ["obligor_party_id"],
            ["case_parties.id"],
            name=op.f("fk_obligations_obligor_party_id_case_parties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
        sa.UniqueConstraint(
            "agreement_id", "position", name=op.f("uq_obligations_agreement_id_position")
        ),
    )
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_obligations_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_obligations_status_due", ["status", "due_on"], unique=False)
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('call', 'visit')", name=op.f("ck_follow_ups_known_kind")),
        sa.CheckConstraint(
            "result IN ('will_perform', 'performed', 'refuses', 'other')",
            name=op.f("ck_follow_ups_known_result"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_follow_ups_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["users.id"], name=op.f("fk_follow_ups_mediator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["obligations.id"],
            name=op.f("fk_follow_ups_obligation_id_obligations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_follow_ups_obligation_id"), ["obligation_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_obligation_id"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_case_id"))
    op.drop_table("follow_ups")
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_status_due")
        batch_op.drop_index(batch_op.f("ix_obligations_case_id"))
    op.drop_table("obligations")
