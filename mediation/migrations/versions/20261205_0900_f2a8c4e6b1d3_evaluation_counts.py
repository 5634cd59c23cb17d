"""evaluation counts: evaluations worked out per day, category and province, for the
statistics page (issue #20 item 4); nothing a person typed is kept

Revision ID: f2a8c4e6b1d3
Revises: e5c1a7d3f9b4
Create Date: 2026-12-05 09:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f2a8c4e6b1d3"
down_revision = "e5c1a7d3f9b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evaluation_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "category", "region_code", name=op.f("pk_evaluation_counts")
        ),
    )


def downgrade():
    op.drop_table("evaluation_counts")
