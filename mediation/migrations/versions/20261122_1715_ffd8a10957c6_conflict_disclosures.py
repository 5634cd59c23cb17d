"""conflict disclosures

Revision ID: ffd8a10957c6
Revises: 74c545c0512f
Create Date: 2026-11-22 17:15:04.490192+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "ffd8a10957c6"
down_revision = "74c545c0512f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "conflict_disclosures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("disclosed_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_by", sa.JSON(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_conflict_disclosures_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["users.id"], name=op.f("fk_conflict_disclosures_mediator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_disclosures")),
    )
    with op.batch_alter_table("conflict_disclosures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conflict_disclosures_case_id"), ["case_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("conflict_disclosures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflict_disclosures_case_id"))

    op.drop_table("conflict_disclosures")
