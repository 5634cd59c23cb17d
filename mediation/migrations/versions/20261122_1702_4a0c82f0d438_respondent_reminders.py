"""respondent reminders

Revision ID: 4a0c82f0d438
Revises: bfa68d91f48b
Create Date: 2026-11-22 17:02:41.125142+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "4a0c82f0d438"
down_revision = "bfa68d91f48b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("respondent_reminded_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("respondent_reminded_at")
