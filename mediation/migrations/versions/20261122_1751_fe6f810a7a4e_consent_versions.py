"""consent versions

Revision ID: fe6f810a7a4e
Revises: 11dbfe2a3c64
Create Date: 2026-11-22 17:51:03.403949+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "fe6f810a7a4e"
down_revision = "11dbfe2a3c64"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conflict_disclosures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.drop_column("version")

    with op.batch_alter_table("conflict_disclosures", schema=None) as batch_op:
        batch_op.drop_column("version")
