"""calendar state; assignments the institution withdrew

Revision ID: 84bb0b51106b
Revises: efd2a4bd84c3
Create Date: 2026-11-22 18:25:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "84bb0b51106b"
down_revision = "efd2a4bd84c3"
branch_labels = None
depends_on = None

OUTCOMES = "outcome IN ('pending', 'accepted', 'declined', 'expired'{extra})"


def _outcomes(extra: str) -> None:
    with op.batch_alter_table("case_assignments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_case_assignments_known_outcome"), type_="check")
        batch_op.create_check_constraint("known_outcome", OUTCOMES.format(extra=extra))


def upgrade():
    op.create_table(
        "calendar_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("known_until", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_state")),
    )
    _outcomes(", 'withdrawn'")


def downgrade():
    op.execute("UPDATE case_assignments SET outcome = 'declined' WHERE outcome = 'withdrawn'")
    _outcomes("")
    op.drop_table("calendar_state")
