"""recording first written: when the recorder wrote a file's first frame, so that a file
opened for someone and never written does not count as their recording (SPC online
mediation rules art 22: the recording stands for the minutes only when complete)

Revision ID: a7d2e9c4b6f1
Revises: f2a8c4e6b1d3
Create Date: 2026-12-05 16:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a7d2e9c4b6f1"
down_revision = "f2a8c4e6b1d3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("written_at", sa.DateTime(), nullable=True))
    # Files closed before this revision: those with a hash were written.
    op.execute("UPDATE recordings SET written_at = started_at WHERE sha256 IS NOT NULL")


def downgrade():
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("written_at")
