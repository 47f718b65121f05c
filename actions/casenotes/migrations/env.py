"""Alembic environment for the case-notes database.

Not a Python package on purpose (no __init__.py): nothing imports this file except
Alembic. ``actions.casenotes.store.CaseStore.upgrade`` passes an open connection in
``config.attributes["connection"]``; ``alembic -c alembic.ini`` (optional) works through
``sqlalchemy.url`` or ``CASE_DB_URL``.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

config = context.config
target_metadata = None  # migrations are written by hand; no autogenerate against models


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from actions import settings

    url = config.get_main_option("sqlalchemy.url") or settings.env("CASE_DB_URL")
    if not url:
        from actions.casenotes.store import database_url

        url = database_url()
    engine = create_engine(url, future=True)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
