"""chemicals stored improperly in homes; change history read by record

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

A table for the hazardous-materials work in homes (what was found, the education given,
the follow-up), and an index for reading one record's change history.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('storage_finding',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('found_on', sa.Date(), nullable=False),
    sa.Column('substance', sa.Text(), nullable=False),
    sa.Column('finding', sa.Text(), nullable=False),
    sa.Column('education', sa.Text(), nullable=True),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('followed_up_on', sa.Date(), nullable=True),
    sa.Column('resolved', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.CheckConstraint('follow_up_on IS NULL OR follow_up_on >= found_on', name=op.f('ck_storage_finding_follow_up_after')),
    sa.CheckConstraint('followed_up_on IS NULL OR followed_up_on >= found_on', name=op.f('ck_storage_finding_followed_up_after')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_storage_finding_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_finding'))
    )
    op.create_index(op.f('ix_storage_finding_household_id'), 'storage_finding', ['household_id'], unique=False)
    op.create_index('ix_change_log_record', 'change_log', ['record_table', 'record_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_change_log_record', table_name='change_log')
    op.drop_index(op.f('ix_storage_finding_household_id'), table_name='storage_finding')
    op.drop_table('storage_finding')
