"""case states and clocks

Revision ID: 15fd187092a9
Revises: 993e40403aba
Create Date: 2026-11-22 16:35:30.115550+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "15fd187092a9"
down_revision = "993e40403aba"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "failure_records",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("situation", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("cost_raising_conduct", sa.Text(), nullable=False),
        sa.Column("notes_for_court", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_failure_records_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_failure_records_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_failure_records")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("acceptance_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("accepted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("respondent_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("mediation_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("signed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("termination_reason", sa.String(length=32), nullable=True))
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
        )

    # The first statuses map onto the state machine's.
    for old, new in (("intake", "submitted"), ("mediating", "in_mediation"), ("settled", "signed")):
        op.execute(
            sa.text("UPDATE cases SET status = :new WHERE status = :old").bindparams(
                old=old, new=new
            )
        )


def downgrade():
    for new, old in (("submitted", "intake"), ("in_mediation", "mediating"), ("signed", "settled")):
        op.execute(
            sa.text("UPDATE cases SET status = :old WHERE status = :new").bindparams(
                old=old, new=new
            )
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=32),
            type_=sa.VARCHAR(length=16),
            existing_nullable=False,
        )
        batch_op.drop_column("termination_reason")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("signed_at")
        batch_op.drop_column("mediation_due_at")
        batch_op.drop_column("respondent_due_at")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("acceptance_due_at")
        batch_op.drop_column("submitted_at")

    op.drop_table("failure_records")
