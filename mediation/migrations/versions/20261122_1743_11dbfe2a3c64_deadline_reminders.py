"""deadline reminders

Revision ID: 11dbfe2a3c64
Revises: 0191dcf41743
Create Date: 2026-11-22 17:43:40.707034+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "11dbfe2a3c64"
down_revision = "0191dcf41743"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acceptance_reminded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("mediation_reminded_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("mediation_reminded_at")
        batch_op.drop_column("acceptance_reminded_at")
