"""who recorded each event; indexes for finding a conversation's case and for purging

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_events") as batch:
        batch.add_column(sa.Column("actor", sa.String(255), nullable=True))
    op.create_index("ix_cases_conversation_id", "cases", ["conversation_id"])
    op.create_index("ix_cases_closed_at", "cases", ["closed_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_closed_at", table_name="cases")
    op.drop_index("ix_cases_conversation_id", table_name="cases")
    with op.batch_alter_table("case_events") as batch:
        batch.drop_column("actor")
