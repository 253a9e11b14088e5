"""Alembic environment. The connection comes from riskdesk.db.migrate, never from alembic.ini."""

from __future__ import annotations

from alembic import context

from riskdesk.db.base import Base, load_all_models

load_all_models()
config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
