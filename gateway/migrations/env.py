"""Alembic environment: runs on the connection handed over by `gateway.migrate`."""

from __future__ import annotations

from alembic import context

from gateway.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is run by hand without our runner
    raise RuntimeError("run migrations with `meerpunt-gateway migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
