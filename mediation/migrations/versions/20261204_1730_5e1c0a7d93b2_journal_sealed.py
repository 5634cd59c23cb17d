"""journal_sealed: what a journal entry records for one side only (a caucus's chat, a
session held with one side, SPC online mediation rules art 16), kept beside the chain

Revision ID: 5e1c0a7d93b2
Revises: a7c3e9d15b42
Create Date: 2026-12-04 17:30:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "5e1c0a7d93b2"
down_revision = "a7c3e9d15b42"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "journal_sealed",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "side IN ('applicant', 'respondent')", name=op.f("ck_journal_sealed_known_sealed_side")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_journal_sealed_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_journal_sealed_entry_id_journal_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_journal_sealed")),
    )
    with op.batch_alter_table("journal_sealed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_sealed_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("journal_sealed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_sealed_case_id"))

    op.drop_table("journal_sealed")
