"""Use cases of the Logboek Dataverwerkingen export and the register of processing activities.

The export reads the register through the same scoped, access-logged query as `GET /v1/register`
(`audit.register.list_register`): a partner sees its own entries, an officer its organisation's,
the central officer all, and every read is itself registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from importlib import metadata
from typing import Any

from sqlmodel import Session

from audit import logboek
from audit.register import RegisterQuery, list_register
from gateway.principals import Principal
from gateway.problems import NotFound
from gateway.runtime import Runtime

_EXTENSION = "processing_activities"


def activities(runtime: Runtime) -> logboek.ProcessingActivities:
    """The configured register of processing activities, read once per runtime."""
    loaded = runtime.extensions.get(_EXTENSION)
    if loaded is None:
        loaded = logboek.load_processing_activities(runtime.settings.processing_activities_file)
        runtime.extensions[_EXTENSION] = loaded
    assert isinstance(loaded, logboek.ProcessingActivities)
    return loaded


def gateway_version() -> str:
    try:
        return metadata.version("meerpunt-gateway")
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


def log_page(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    query: RegisterQuery,
    *,
    cursor: str | None,
    limit: int,
    professional: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """`{items: [Logregel], next_cursor}`: a page of the register as Logboek Dataverwerkingen lines."""
    view = partial(logboek.log_record, activities=activities(runtime), version=gateway_version())
    return list_register(
        session,
        runtime,
        viewer,
        query,
        cursor=cursor,
        limit=limit,
        professional=professional,
        view=view,
        action="logboek_export",
    )


def otlp_page(page: Mapping[str, Any]) -> dict[str, Any]:
    return logboek.to_otlp(page["items"], gateway_version())


def activity(runtime: Runtime, activity_id: str) -> dict[str, Any]:
    found = activities(runtime).by_id(activity_id)
    if found is None:
        raise NotFound("No processing activity with this id.", slug="processing-activity-not-found")
    return logboek.activity_view(found)


def activity_version(runtime: Runtime, activity_id: str, version: int) -> dict[str, Any]:
    found = activities(runtime).by_id(activity_id)
    if found is None or found.version != version:
        raise NotFound("No such version of this processing activity.", slug="processing-activity-not-found")
    return logboek.activity_version_view(found, [c.code for c in runtime.categories])
