"""the counsellor of each case, and a deadline event's time in clear, for the supervisor's board

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("counsellor_id", sa.String(255), nullable=True))
    with op.batch_alter_table("case_events") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    # the board's change check reads the newest event ids (primary key), and its query of
    # the open cases the closed_at index of revision 0002: no other index is needed


def downgrade() -> None:
    with op.batch_alter_table("case_events") as batch:
        batch.drop_column("due_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("counsellor_id")
