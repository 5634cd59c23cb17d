"""case version

Revision ID: 4b1d47cdde4f
Revises: ffd8a10957c6
Create Date: 2026-11-22 17:26:44.791263+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "4b1d47cdde4f"
down_revision = "ffd8a10957c6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("version")
