"""composite indexes for the dashboard's event and metric queries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000

Measured with bench/dashboard.py at 1,000,000 events (README "Dashboard at scale"):

- the period's searches and article views are read from an index that starts with the
  timestamp and holds every column the counts need (a covering index), so a period's rows
  are summed without visiting the table;
- "failed search" and "contacts after reading" look up a visit's searches or contacts in a
  time window: (visit_id, created_at) replaces the visit_id index;
- the content gaps read the period's searches of a few queries: (normalized_query,
  created_at) replaces the normalized_query index, which made SQLite read every search of
  those queries ever made.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# (table, index name, columns): kept in step with __table_args__ in the models.
INDEXES = (
    ('search_event', 'ix_search_event_created_at_lang',
     ['created_at', 'lang', 'result_count', 'visit_id', 'id']),
    ('search_event', 'ix_search_event_visit_id_created_at', ['visit_id', 'created_at']),
    ('search_event', 'ix_search_event_normalized_query_created_at',
     ['normalized_query', 'created_at']),
    ('article_view', 'ix_article_view_created_at_article_key',
     ['created_at', 'article_key', 'visit_id']),
    ('contact_flow', 'ix_contact_flow_started_at_lang',
     ['started_at', 'lang', 'outcome', 'updated_at']),
    ('contact_request', 'ix_contact_request_visit_id_created_at', ['visit_id', 'created_at']),
)
# Single-column indexes the composite ones above start with.
REPLACED = (
    ('search_event', 'ix_search_event_visit_id', ['visit_id']),
    ('search_event', 'ix_search_event_normalized_query', ['normalized_query']),
    ('contact_request', 'ix_contact_request_visit_id', ['visit_id']),
)


def upgrade():
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _columns in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)


def downgrade():
    for table, name, columns in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
