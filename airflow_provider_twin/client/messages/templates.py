"""TWIN notify templates: the calls, the variables a template uses, and upsert by name.

A template describes a whole message (channels with their text, sender...) so that a send only
varies the recipients and their variables (twin-api.md §3.7, seed 000). Here:

* the calls ``GET/POST /templates`` and ``GET/PUT/DELETE /templates/{id}``;
* :func:`template_variables`: the ``{{name}}`` variables a template's strings use, which every
  recipient of a send with that template needs a value for;
* :func:`template_body`: a template checked and built from channels and a text, as the send
  operator checks its own channels;
* procedures (run by ``TwinClient.run`` / ``AsyncTwinClient.run``): :func:`upsert_template`
  (one template per name, across retries), :func:`find_template` (None when there is none) and
  :func:`remove_template` (an absent template is no failure).

ASSUMPTIONS (twin-api.md §7; docs/templates.md): variables are written ``{{name}}`` (TWIN
documents no syntax; twin-api.md §3.2.9's example uses it); template names need not be unique
and the ``name`` filter may match more than the whole name, so the client keeps only exact
matches and updates the oldest; ``PUT`` answers no body the client needs; ``DELETE`` answers 204.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, cast
from urllib.parse import quote

from airflow_provider_twin.client.core.calls import (
    ApiCall,
    comma_list,
    expect_object,
    next_page,
    query_params,
)
from airflow_provider_twin.client.core.errors import (
    TwinInputError,
    TwinNotFoundError,
    TwinProtocolError,
    TwinServerError,
    TwinTransportError,
)
from airflow_provider_twin.client.core.flows import Procedure, Sleep
from airflow_provider_twin.client.core.problems import Problems, shown
from airflow_provider_twin.client.messages.campaign import PLACEHOLDER
from airflow_provider_twin.client.messages.channels import (
    DEFAULT_SENDER,
    content_problems,
    is_uuid,
    normalize_channels,
    text_problem,
)
from airflow_provider_twin.client.messages.send_windows import normalize_time_ranges

#: Templates one name look-up reads (TWIN's page size cap, twin-api.md §7.11).
NAME_PAGE = 1000
#: Seconds to wait after a lost create answer before the name is looked up again.
DEFAULT_SETTLE_SECONDS = 1.0


class TemplateData(TypedDict, total=False):
    """A template object (twin-api.md §3.7)."""

    id: str
    name: str
    channels: dict[str, dict[str, Any]]
    allowedTimeRanges: list[list[str]] | None
    createdAt: str
    updatedAt: str


class TemplatePage(TypedDict):
    """An answer of ``GET /templates``."""

    count: int
    items: list[TemplateData]


class TemplateUpsert(TypedDict):
    """What :func:`upsert_template` did: the template's id and whether it was created."""

    template_id: str
    name: str
    created: bool


class TemplateDeletion(TypedDict):
    """What :func:`remove_template` did: ``deleted`` is False when there was no such template."""

    template_id: str
    deleted: bool


def _template(body: Any) -> TemplateData:
    data = expect_object(body)
    if not isinstance(data.get("id"), str):
        raise TwinProtocolError("TWIN notify answered a template without an id")
    return cast("TemplateData", data)


def _page(body: Any) -> TemplatePage:
    data = expect_object(body)
    count, items = data.get("count"), data.get("items", [])
    if not isinstance(count, int) or not isinstance(items, list):
        raise TwinProtocolError("TWIN notify answered a template list without count/items")
    return {"count": count, "items": items}


def _created_id(body: Any) -> str:
    template_id = expect_object(body).get("id")
    if not isinstance(template_id, str) or not template_id:
        raise TwinProtocolError("TWIN notify answered a template create without an id")
    return template_id


def _nothing(body: Any) -> None:
    return None


def _path(template_id: str) -> str:
    if not is_uuid(template_id):
        raise TwinInputError(f"template_id: {shown(template_id)} is not a TWIN template id (a UUID)")
    return f"/templates/{quote(template_id, safe='')}"


def _call(method: str, path: str, description: str, parse: Any, **request: Any) -> ApiCall[Any]:
    return ApiCall(
        method=method, service="notify", path=path, description=description, parse=parse, **request
    )


def list_templates(
    *,
    name: str | None = None,
    company_id: int | str | None = None,
    ids: str | Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ApiCall[TemplatePage]:
    """``GET /templates``: one page of templates matching the filters."""
    params = query_params(name=name, companyId=company_id, id=comma_list(ids), limit=limit, offset=offset)
    return cast("ApiCall[TemplatePage]", _call("GET", "/templates", "list templates", _page, params=params))


def get_template(template_id: str) -> ApiCall[TemplateData]:
    """``GET /templates/{id}``: one template (:class:`TwinNotFoundError` when there is none)."""
    return cast("ApiCall[TemplateData]", _call("GET", _path(template_id), "read a template", _template))


def create_template(body: Mapping[str, Any]) -> ApiCall[str]:
    """``POST /templates``: store a template (see :func:`template_body`); answers its id.

    Not idempotent: a repeat after a lost answer could store it twice; :func:`upsert_template`
    looks before it creates again.
    """
    return cast(
        "ApiCall[str]", _call("POST", "/templates", "create a template", _created_id, json=dict(body))
    )


def update_template(template_id: str, body: Mapping[str, Any]) -> ApiCall[None]:
    """``PUT /templates/{id}``: replace the fields ``body`` holds."""
    return cast(
        "ApiCall[None]", _call("PUT", _path(template_id), "update a template", _nothing, json=dict(body))
    )


def delete_template(template_id: str) -> ApiCall[None]:
    """``DELETE /templates/{id}`` (:class:`TwinNotFoundError` when there is none)."""
    return cast("ApiCall[None]", _call("DELETE", _path(template_id), "delete a template", _nothing))


def template_variables(template: Mapping[str, Any]) -> set[str]:
    """The variables (``{{name}}``) the strings of a template's channels use."""
    channels = template.get("channels") or {}
    found: set[str] = set()
    for settings in channels.values() if isinstance(channels, Mapping) else ():
        if isinstance(settings, Mapping):
            for value in settings.values():
                if isinstance(value, str):
                    found.update(PLACEHOLDER.findall(value))
    return found


def template_body(
    name: Any,
    channels: Any,
    text: Any = None,
    allowed_time_ranges: Any = None,
) -> dict[str, Any]:
    """A ``POST``/``PUT /templates`` body, checked as the send operator checks its channels.

    ``text`` goes into every channel without a text of its own; a channel but ``chat`` and
    ``email`` gets TWIN's default sender when it names none (as a send does).

    :raises TwinInputError: listing every problem, each naming its field; nothing was sent.
    """
    found = Problems()
    if not isinstance(name, str) or not name.strip():
        found.add(f"name: a template needs a non-empty name, got {shown(name)}")
    normalized, problems = normalize_channels(channels)
    found.extend(problems)
    if text is not None and not isinstance(text, str):
        found.add(f"text: must be a string, got {type(text).__name__}")
    shared = text if isinstance(text, str) and text.strip() else None
    for channel, settings in normalized.items():
        if shared is not None and "text" not in settings:
            settings["text"] = shared
        if channel not in {"chat", "email"}:
            settings.setdefault("from", DEFAULT_SENDER)
        own = settings.get("text")
        problem = text_problem(channel, own) if isinstance(own, str) else None
        if problem:
            found.add(problem)
    found.extend(content_problems(normalized, has_text=False, has_template=False))
    ranges, problems = normalize_time_ranges(allowed_time_ranges)
    found.extend(problems)
    if found:
        raise found.error("the template", outcome="nothing was sent")
    body: dict[str, Any] = {"name": name, "channels": normalized}
    if ranges:
        body["allowedTimeRanges"] = ranges
    return body


def _named(name: str) -> Procedure[list[TemplateData]]:
    """The templates with exactly this name, oldest first (``GET /templates?name=``, every page:
    the filter may also match names that contain ``name``)."""
    matches: list[TemplateData] = []
    call: ApiCall[TemplatePage] | None = list_templates(name=name, limit=NAME_PAGE)
    while call is not None:
        page = yield call
        matches.extend(item for item in page["items"] if item.get("name") == name)
        call = next_page(call, page)
    return sorted(matches, key=lambda item: (str(item.get("createdAt") or ""), str(item.get("id"))))


def upsert_template(
    body: Mapping[str, Any], *, settle_seconds: float = DEFAULT_SETTLE_SECONDS
) -> Procedure[TemplateUpsert]:
    """Procedure: make the template named ``body["name"]`` hold ``body`` (from :func:`template_body`).

    Looks the name up first (``GET /templates?name=``): an existing template is updated (PUT,
    idempotent), else one is created. A create whose answer was lost is not repeated blindly:
    the name is looked up again after ``settle_seconds`` (TWIN may list it a moment late), so a
    retried task never leaves two templates of one name.
    """
    name = str(body["name"])
    matches = yield from _named(name)
    if matches:
        template_id = str(matches[0]["id"])
        yield update_template(template_id, body)
        return {"template_id": template_id, "name": name, "created": False}
    try:
        created: str = yield create_template(body)
    except (TwinTransportError, TwinServerError) as exc:
        if isinstance(exc, TwinTransportError) and not exc.ambiguous:
            raise
        # The create may have happened: let TWIN settle, then look before creating again.
        yield Sleep(settle_seconds)
        matches = yield from _named(name)
        created = str(matches[0]["id"]) if matches else (yield create_template(body))
    return {"template_id": created, "name": name, "created": True}


def find_template(template_id: str) -> Procedure[TemplateData | None]:
    """Procedure: the template ``template_id`` names, or None when TWIN has none (404)."""
    try:
        template: TemplateData = yield get_template(template_id)
    except TwinNotFoundError:
        return None
    return template


def remove_template(template_id: str) -> Procedure[TemplateDeletion]:
    """Procedure: delete a template; one that is already gone is no failure (``deleted`` False),
    so a retried delete succeeds."""
    try:
        yield delete_template(template_id)
    except TwinNotFoundError:
        return {"template_id": template_id, "deleted": False}
    return {"template_id": template_id, "deleted": True}
