"""Schema migrations (Alembic), applied by `serve` on start and by `meerpunt-gateway migrate`.

Each bounded context keeps its own branch of revisions (branch label = package name) so the
contexts evolve independently; `upgrade heads` applies them all.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: Held for the whole upgrade transaction on PostgreSQL. Every instance runs `upgrade` when it
#: starts (`serve`), so several replicas rolled out at once race for the same migrations: without
#: it, the second fails on a duplicate key half-way. With it, the second waits, then finds the
#: schema at its heads and does nothing.
MIGRATION_LOCK = int.from_bytes(b"mp-migr8", "big")


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration in one transaction per run, one run at a time."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Transaction-scoped: released by the commit or rollback, even if the process dies.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def make_revision(engine: Engine, message: str, branch: str, *, new_branch: bool = False) -> None:
    """Developer helper: autogenerate a revision for one context's branch."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        if new_branch:
            command.revision(
                config,
                message=message,
                autogenerate=True,
                head="base",
                branch_label=branch,
                version_path=str(MIGRATIONS_DIR / "versions"),
            )
        else:
            command.revision(config, message=message, autogenerate=True, head=f"{branch}@head")
