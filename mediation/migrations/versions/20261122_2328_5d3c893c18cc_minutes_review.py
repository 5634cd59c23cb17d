"""minutes review: each party confirms a version of the minutes with a code, disputing
passages; the final minutes PDF and its hash

Revision ID: 5d3c893c18cc
Revises: d6932daeb7a5
Create Date: 2026-11-22 23:28:46.601919+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "5d3c893c18cc"
down_revision = "d6932daeb7a5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "minutes_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("disputes", sa.JSON(), nullable=False),
        sa.Column("unanswered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["minutes.session_id"],
            name=op.f("fk_minutes_reviews_session_id_minutes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_minutes_reviews_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes_reviews")),
        sa.UniqueConstraint(
            "session_id", "user_id", name=op.f("uq_minutes_reviews_session_id_user_id")
        ),
    )
    with op.batch_alter_table("minutes_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_minutes_reviews_session_id"), ["session_id"], unique=False
        )

    with op.batch_alter_table("minutes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review_opened_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("finalised_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("document_path", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("document_sha256", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("minutes", schema=None) as batch_op:
        batch_op.drop_column("document_sha256")
        batch_op.drop_column("document_path")
        batch_op.drop_column("finalised_at")
        batch_op.drop_column("review_opened_at")
        batch_op.drop_column("review_version")

    with op.batch_alter_table("minutes_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_minutes_reviews_session_id"))

    op.drop_table("minutes_reviews")
