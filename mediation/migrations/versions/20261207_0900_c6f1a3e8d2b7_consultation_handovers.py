"""consultation handovers: the record of a question freed from the expert who took it
(given back, taken over or put back in the pool once late)

Revision ID: c6f1a3e8d2b7
Revises: b3e9d1f7a2c5
Create Date: 2026-12-07 09:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c6f1a3e8d2b7"
down_revision = "b3e9d1f7a2c5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consultation_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('given_back', 'taken_over', 'put_back')",
            name=op.f("ck_consultation_handovers_known_handover_kind"),
        ),
        sa.CheckConstraint(
            "reason IN ('field', 'conflict', 'time', 'other', 'late')",
            name=op.f("ck_consultation_handovers_known_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_consultation_handovers_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["users.id"], name=op.f("fk_consultation_handovers_expert_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["consultation_questions.id"],
            name=op.f("fk_consultation_handovers_question_id_consultation_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_handovers")),
    )
    with op.batch_alter_table("consultation_handovers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_handovers_question_id"), ["question_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("consultation_handovers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_handovers_question_id"))
    op.drop_table("consultation_handovers")
