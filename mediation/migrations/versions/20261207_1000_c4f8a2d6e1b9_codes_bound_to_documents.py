"""codes bound to documents: a signing or confirming code keeps what it was sent for (the
document and the content shown, "agreement:12@r2:<sha256>"), longer than a browser's key
(Electronic Signature Law art 13: the signature bound to the data message it signs)

Revision ID: c4f8a2d6e1b9
Revises: c6f1a3e8d2b7
Create Date: 2026-12-07 10:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4f8a2d6e1b9"
down_revision = "c6f1a3e8d2b7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.alter_column(
            "bound_to", existing_type=sa.String(length=64), type_=sa.String(length=128)
        )


def downgrade():
    # Codes bound to a document live ten minutes; theirs would not fit the old column.
    op.execute(
        "UPDATE one_time_codes SET bound_to = NULL, consumed_at = COALESCE(consumed_at, "
        "expires_at) WHERE length(bound_to) > 64"
    )
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.alter_column(
            "bound_to", existing_type=sa.String(length=128), type_=sa.String(length=64)
        )
