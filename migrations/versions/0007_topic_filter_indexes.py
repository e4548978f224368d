"""indexes for topic filters, edit impact and opened searches at scale

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00.000000

Measured with bench/dashboard.py at 1,000,000 events (README "Dashboard at scale"):

- a topic filter and the edit impact read the period's views and votes of a few articles:
  (article_key, created_at) replaces the article_key indexes, with which SQLite read every
  view or vote of those articles ever recorded;
- "clicked" (a search an article was opened from) is the set of search ids of the period's
  views: the covering index of the views by time also holds search_id.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# (table, index name, columns): kept in step with __table_args__ in the models.
INDEXES = (
    ('article_view', 'ix_article_view_article_key_created_at', ['article_key', 'created_at']),
    ('feedback', 'ix_feedback_article_key_created_at', ['article_key', 'created_at']),
)
# Indexes the ones above make redundant.
REPLACED = (
    ('article_view', 'ix_article_view_article_key', ['article_key']),
    ('feedback', 'ix_feedback_article_key', ['article_key']),
)
# The covering index of migration 0005, rebuilt with one more column.
COVERING = ('article_view', 'ix_article_view_created_at_article_key')
COVERING_BEFORE = ['created_at', 'article_key', 'visit_id']
COVERING_AFTER = ['created_at', 'article_key', 'visit_id', 'search_id']


def _replace_covering(columns):
    table, name = COVERING
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(name)
        batch_op.create_index(name, columns, unique=False)


def upgrade():
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _columns in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    _replace_covering(COVERING_AFTER)


def downgrade():
    _replace_covering(COVERING_BEFORE)
    for table, name, columns in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
