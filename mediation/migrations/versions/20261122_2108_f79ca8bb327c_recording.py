"""recording: recorder leases, recorded files, the institution's caucus setting, the recorder's
place in a room

Revision ID: f79ca8bb327c
Revises: 8550844ac18f
Create Date: 2026-11-22 21:08:54.208765+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f79ca8bb327c"
down_revision = "8550844ac18f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recording_leases",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mediation_sessions.id"],
            name=op.f("fk_recording_leases_session_id_mediation_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_recording_leases")),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["session_participants.id"],
            name=op.f("fk_recordings_participant_id_session_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mediation_sessions.id"],
            name=op.f("fk_recordings_session_id_mediation_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("path", name=op.f("uq_recordings_path")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_session", ["session_id"], unique=False)
        batch_op.create_index("ix_recordings_status", ["status"], unique=False)

    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("record_caucus", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorder_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("recorder_epoch", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("consent_refused_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("caucus_recorded", sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_column("caucus_recorded")
        batch_op.drop_column("consent_refused_at")
        batch_op.drop_column("recorder_epoch")
        batch_op.drop_column("recorder_sid")

    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("record_caucus")

    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_status")
        batch_op.drop_index("ix_recordings_session")

    op.drop_table("recordings")
    op.drop_table("recording_leases")
