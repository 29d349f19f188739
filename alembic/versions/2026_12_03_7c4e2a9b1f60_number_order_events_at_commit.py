"""number order events at commit: PostgreSQL gives each event its id in its commit

A deferred constraint trigger numbers each new order event during its transaction's
commit, under a transaction advisory lock held until the commit is done, and sends the
NOTIFY that wakes the readers: ids increase in commit order, while the lock is held for
the commit alone (the app took it with the event's insert, and held it until its next
statement, the commit, came). SQLite numbers rows in commit order already (one writer at
a time): nothing to do there.

Revision ID: 7c4e2a9b1f60
Revises: 5d2f8e1a7c3b
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c4e2a9b1f60"
down_revision: str | None = "5d2f8e1a7c3b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMBER_AT_COMMIT = """
CREATE OR REPLACE FUNCTION order_events_in_commit_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1869767781, 1986358900);
  UPDATE order_events SET id = nextval('order_events_id_seq') WHERE id = NEW.id;
  PERFORM pg_notify('order_events', '');
  RETURN NULL;
END $$"""
TRIGGER = (
    "CREATE CONSTRAINT TRIGGER order_events_in_commit_order AFTER INSERT ON order_events "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "EXECUTE FUNCTION order_events_in_commit_order()"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NUMBER_AT_COMMIT)
    op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER order_events_in_commit_order ON order_events")
    op.execute("DROP FUNCTION order_events_in_commit_order()")
