"""governance tallies: monthly counts per district for a province's and a city's dashboard,
the months a change made stale, and a partial index of open cases

Revision ID: e5c1a7d3f9b4
Revises: d3b7e1f5a9c2
Create Date: 2026-12-05 07:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e5c1a7d3f9b4"
down_revision = "d3b7e1f5a9c2"
branch_labels = None
depends_on = None

# OPEN_STATUSES (mediation/cases/states.py) as they are at this revision.
OPEN_CASES = (
    "status IN ('agreement_drafted', 'awaiting_respondent', 'declined', 'in_mediation', "
    "'submitted')"
)
INCLUDED = [
    "id",
    "area_code",
    "category",
    "status",
    "institution_id",
    "termination_reason",
    "mediation_due_at",
    "acceptance_due_at",
]


def upgrade():
    op.create_table(
        "governance_monthly",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "area_code", "kind", "value", name=op.f("pk_governance_monthly")
        ),
    )
    op.create_table(
        "governance_dirty_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_dirty_months")),
    )
    with op.batch_alter_table("governance_dirty_months", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_dirty_months_month"), ["month"], unique=False
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_open_created",
            ["created_at"],
            unique=False,
            postgresql_include=INCLUDED,
            postgresql_where=sa.text(OPEN_CASES),
            sqlite_where=sa.text(OPEN_CASES),
        )
    # The tallies are built by the worker's first round (tallies.refresh builds every month
    # not built yet); until then the dashboard counts live.


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_open_created")
    with op.batch_alter_table("governance_dirty_months", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_dirty_months_month"))
    op.drop_table("governance_dirty_months")
    op.drop_table("governance_monthly")
