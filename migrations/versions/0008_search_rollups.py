"""daily roll-ups of the searches and visits for the dashboard and content gaps

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00.000000

kb.insights.rollups fills them (lazily on the first read of a period, or with
`flask kb rollup`); they start empty, so upgrading changes no figure. Also adds the visit
to an index of article views, so that readers per article are counted from the index.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Kept in step with ArticleView.__table_args__.
READERS_INDEX = ("article_view", "ix_article_view_article_key_created_at")
READERS_BEFORE = ["article_key", "created_at"]
READERS_AFTER = ["article_key", "created_at", "visit_id"]


def _replace_readers_index(columns):
    table, name = READERS_INDEX
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(name)
        batch_op.create_index(name, columns, unique=False)


def upgrade():
    _replace_readers_index(READERS_AFTER)
    op.create_table(
        "rollup_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_rollup_day")),
    )
    op.create_table(
        "rollup_stale_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_stale_mark")),
    )
    with op.batch_alter_table("rollup_stale_mark", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rollup_stale_mark_day"), ["day"], unique=False)
    op.create_table(
        "search_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("normalized_query", sa.String(length=300), nullable=False),
        sa.Column("first_key", sa.String(length=200), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("zero_results", sa.Integer(), nullable=False),
        sa.Column("with_results", sa.Integer(), nullable=False),
        sa.Column("clicked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "lang", "channel", "normalized_query", "first_key", name=op.f("pk_search_day")
        ),
    )
    op.create_table(
        "search_count_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("first_key", sa.String(length=200), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("zero_results", sa.Integer(), nullable=False),
        sa.Column("with_results", sa.Integer(), nullable=False),
        sa.Column("clicked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "lang", "channel", "first_key", name=op.f("pk_search_count_day")
        ),
    )
    op.create_table(
        "visit_count_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "lang", "channel", name=op.f("pk_visit_count_day")),
    )
    op.create_table(
        "visit_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("day", "visit_id", "lang", "channel", name=op.f("pk_visit_day")),
    )
    op.create_table(
        "visit_key_day",
        sa.Column("article_key", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint(
            "article_key", "day", "lang", "channel", "visit_id", name=op.f("pk_visit_key_day")
        ),
    )


def downgrade():
    _replace_readers_index(READERS_BEFORE)
    op.drop_table("visit_key_day")
    op.drop_table("visit_day")
    op.drop_table("visit_count_day")
    op.drop_table("search_count_day")
    op.drop_table("search_day")
    op.drop_table("rollup_stale_mark")
    op.drop_table("rollup_day")
