"""Schema migrations (Alembic), applied by `serve` on start and by `meerpunt-gateway migrate`.

Each bounded context keeps its own branch of revisions (branch label = package name) so the
contexts evolve independently; `upgrade heads` applies them all.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration in one transaction per run."""
    with engine.begin() as connection:
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
