"""The one metadata object that holds every table of every context (for Alembic and tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

# Importing the model modules registers their tables on SQLModel.metadata.
import audit.access.models
import audit.models  # noqa: F401
import consent.models  # noqa: F401
import coordination.models  # noqa: F401
import exchange.models  # noqa: F401
import web.models  # noqa: F401

metadata = SQLModel.metadata
