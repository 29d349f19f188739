"""The order life cycle: every rule that spans rows lives in this package, and routers
call it.

- `rows`: the columns an order is read with, and their assembly into response JSON.
- `reads`: one order, or a page of orders, for a caller allowed to see them.
- `orderable`: the products an order line may be made of.
- `changes`: the changes to a pending order, each made under the order's row lock.
- `idempotency`: the stored first response to a `POST /orders` with an Idempotency-Key.
- `opening`: a new order, with its lines, replayed for a key already used.

Statements are built once, with bound parameters: SQLAlchemy then reuses their cache key
and compiled form, and a request only binds its values. Nothing here commits: the route
does, with `app.unit_of_work.commit`.
"""
