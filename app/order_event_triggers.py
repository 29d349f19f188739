"""The trigger that numbers order events at commit on PostgreSQL (see `app.events.log`),
and the channel it notifies: `metadata.create_all` creates it with the tables."""

from sqlalchemy import DDL, event

from app.metadata import metadata

ORDER_EVENTS_CHANNEL = "order_events"
"""The PostgreSQL channel notified when order events commit (see `app.events.log`)."""
# The two-key form of the advisory locks: a key space apart from the one-key locks taken
# elsewhere (the login throttle locks per email hash), so they can never collide.
COMMIT_ORDER_LOCK = (0x6F726465, 0x76656E74)  # "orde", "vent"

ORDER_EVENT_TRIGGERS: dict[str, tuple[str, ...]] = {
    "postgresql": (
        f"""
CREATE OR REPLACE FUNCTION order_events_in_commit_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock({COMMIT_ORDER_LOCK[0]}, {COMMIT_ORDER_LOCK[1]});
  UPDATE order_events SET id = nextval('order_events_id_seq') WHERE id = NEW.id;
  PERFORM pg_notify('{ORDER_EVENTS_CHANNEL}', '');
  RETURN NULL;
END $$""",  # noqa: S608 - built from constants only
        "CREATE CONSTRAINT TRIGGER order_events_in_commit_order AFTER INSERT ON order_events "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION order_events_in_commit_order()",
    ),
}
"""PostgreSQL numbers each order event at its transaction's commit, in commit order (see
`app.events.log`); the migration that made the trigger holds the same SQL. Created with
the tables by `metadata.create_all` too."""

for _dialect, _statements in ORDER_EVENT_TRIGGERS.items():
    for _statement in _statements:
        _trigger = DDL(_statement)  # type: ignore[no-untyped-call]
        event.listen(metadata, "after_create", _trigger.execute_if(dialect=_dialect))
