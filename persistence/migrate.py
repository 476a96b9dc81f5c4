"""Alembic driven from code: no alembic.ini on disk, the migrations ship inside the package."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for url, pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at url to revision (the latest by default); a no-op when already there."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at url back to revision ("base" empties it)."""
    command.downgrade(alembic_config(url), revision)


def revision(url: str, message: str, autogenerate: bool = True) -> None:
    """Write the next numbered migration, by default the difference between the models and url's database."""
    config = alembic_config(url)
    number = len(list(ScriptDirectory.from_config(config).walk_revisions())) + 1
    command.revision(config, message=message, autogenerate=autogenerate, rev_id=f"{number:04d}")


def heads() -> set[str]:
    """The revisions the packaged migrations end in."""
    return set(ScriptDirectory.from_config(alembic_config("")).get_heads())


def current(url: str) -> set[str]:
    """The revisions the database at url is at; empty when it was never migrated."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def check_current(url: str) -> bool:
    """Whether the database at url is at the latest schema."""
    return current(url) == heads()
