"""composite indexes for the dashboard's event and metric queries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# (table, index name, columns): kept in step with __table_args__ in the models.
INDEXES = (
    ('search_event', 'ix_search_event_lang_created_at', ['lang', 'created_at']),
    ('contact_flow', 'ix_contact_flow_lang_started_at', ['lang', 'started_at']),
    ('contact_request', 'ix_contact_request_visit_id_created_at', ['visit_id', 'created_at']),
)


def upgrade():
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
