"""recording stretch: which stretch of the recorder's connection (its epoch) and of the
participant's (theirs) a file belongs to, and whether the room's recorder was receiving
anyone at the last change; the room says "recording" only once every stream it records has
a file with frames written (SPC online mediation rules art 22: what is shown as recorded is)

Revision ID: d5a1c3e7f9b2
Revises: c4f8a2d6e1b7
Create Date: 2026-12-07 12:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d5a1c3e7f9b2"
down_revision = "c4f8a2d6e1b7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorder_epoch", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("member_epoch", sa.Integer(), nullable=True))
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recorder_on", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_column("recorder_on")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("member_epoch")
        batch_op.drop_column("recorder_epoch")
