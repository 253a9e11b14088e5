"""The migrations build exactly the tables the models describe, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from riskdesk.bootstrap import Container
from riskdesk.db.base import Base, load_all_models


def test_the_migrated_schema_matches_the_models(container: Container) -> None:
    load_all_models()
    with container.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
