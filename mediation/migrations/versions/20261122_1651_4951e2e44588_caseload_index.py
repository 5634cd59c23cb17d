"""caseload index

Revision ID: 4951e2e44588
Revises: 497bfdc09dd8
Create Date: 2026-11-22 16:51:14.617957+00:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "4951e2e44588"
down_revision = "497bfdc09dd8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_mediator_status", ["mediator_id", "status"], unique=False)


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_mediator_status")
