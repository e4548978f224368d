"""event channels (site, widget, api), the widget's host page, widget panel events

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Tables whose rows record where the event came from and, for the widget, the host page.
WITH_HOST_PAGE = ('search_event', 'article_view', 'feedback', 'contact_flow')
# (table, index name, columns): kept in step with __table_args__ in kb/insights/models.py.
INDEXES = (
    ('search_event', 'ix_search_event_channel_created_at', ['channel', 'created_at']),
    ('article_view', 'ix_article_view_channel_created_at', ['channel', 'created_at']),
    ('contact_flow', 'ix_contact_flow_channel_started_at', ['channel', 'started_at']),
)


def channel_column():
    # Existing rows were all made on kb's own pages (or its API, corrected below).
    return sa.Column('channel', sa.String(length=8), server_default='site', nullable=False)


def upgrade():
    for table in WITH_HOST_PAGE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(channel_column())
            batch_op.add_column(sa.Column('host_origin', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('host_path', sa.String(length=500), nullable=True))
    with op.batch_alter_table('effort_score', schema=None) as batch_op:
        batch_op.add_column(channel_column())
    # Searches made through /api/search were recorded with source "api": that is their channel.
    op.execute("UPDATE search_event SET channel = 'api' WHERE source = 'api'")
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)

    # The widget's panel opened or closed on a host page (kb/insights/widget.py).
    op.create_table('widget_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('event', sa.String(length=8), nullable=False),
    sa.Column('host_origin', sa.String(length=200), nullable=True),
    sa.Column('host_path', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_widget_event'))
    )
    with op.batch_alter_table('widget_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_widget_event_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_widget_event_visit_id'), ['visit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('widget_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_widget_event_visit_id'))
        batch_op.drop_index(batch_op.f('ix_widget_event_created_at'))
    op.drop_table('widget_event')

    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table('effort_score', schema=None) as batch_op:
        batch_op.drop_column('channel')
    for table in reversed(WITH_HOST_PAGE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('host_path')
            batch_op.drop_column('host_origin')
            batch_op.drop_column('channel')
