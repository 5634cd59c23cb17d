"""court_delegations: disputes a court sends to mediation before filing (诉前委派调解)

Revision ID: e5a9c3d1f7b2
Revises: c4e1f7a2b9d0
Create Date: 2026-12-05 03:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e5a9c3d1f7b2"
down_revision = "c4e1f7a2b9d0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "court_delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("court_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delegated_at", sa.DateTime(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_court_delegations_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["court_id"], ["courts.id"], name=op.f("fk_court_delegations_court_id_courts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_delegations")),
        sa.UniqueConstraint("case_id", name=op.f("uq_court_delegations_case_id")),
        sa.UniqueConstraint(
            "court_id", "reference", name=op.f("uq_court_delegations_court_id_reference")
        ),
    )
    with op.batch_alter_table("court_delegations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_court_delegations_court_id"), ["court_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_court_delegations_deadline_at"), ["deadline_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("court_delegations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_delegations_deadline_at"))
        batch_op.drop_index(batch_op.f("ix_court_delegations_court_id"))
    op.drop_table("court_delegations")
