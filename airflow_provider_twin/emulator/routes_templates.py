"""Notify templates: create, update, delete, read and list them (twin-api.md §3.7).

``POST /templates`` answers ``{"id"}`` with 201 (as every create of the notify API, seed 000);
``PUT /templates/{id}`` answers the updated template with 200 (the SDK reads no body);
``DELETE /templates/{id}`` answers 204 (ASSUMPTION twin-api.md §7.23); an unknown id is 404
``{"error": "Entity not found"}``. ``channels`` are checked as ``POST /messages`` checks a message's
channels (:func:`.validation.validate_template`), strict mode included. How messages use the
templates (and the other ASSUMPTIONS) is in :mod:`.template_store`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .auth import bearer_token
from .ids import is_uuid
from .list_requests import Page, query_refusal
from .responses import json_response, not_found, validation_error
from .route_requests import answer_authorised, answer_page, authorised_body
from .routes_notify import NOTIFY_PREFIX
from .state import EmulatorState, state_of
from .template_store import implicit_template
from .validation import validate_template

router = APIRouter(prefix=NOTIFY_PREFIX)


def _company(state: EmulatorState, request: Request) -> int | None:
    """The company of the request's (valid) token."""
    _, claims = state.tokens.check(bearer_token(request) or "", state.token_now())
    return None if claims is None else claims.company_id


async def _checked_body(request: Request, *, partial: bool) -> dict[str, object] | Response:
    """The request's template body, or the response refusing it (token first, then the body)."""
    checked = await authorised_body(request, allow_empty=False)
    if isinstance(checked, Response):
        return checked
    state, body = checked
    with state.lock:
        strict = state.settings.strict
    details = validate_template(body, strict=strict, partial=partial)
    return validation_error(details) if details else body


@router.post("/templates")
async def create_template(request: Request) -> Response:
    """Store a template; 201 ``{"id": "<uuid>"}``."""
    body = await _checked_body(request, partial=False)
    if isinstance(body, Response):
        return body
    state = state_of(request)
    with state.lock:
        template = state.templates.create(body, _company(state, request), state.now())
    return json_response({"id": template.id}, 201)


@router.put("/templates/{template_id}")
async def update_template(request: Request, template_id: str) -> Response:
    """Replace the fields the body holds; 200 with the template, 404 for an unknown id."""
    body = await _checked_body(request, partial=True)
    if isinstance(body, Response):
        return body
    state = state_of(request)
    with state.lock:
        template = state.templates.update(template_id, body, state.now())
    return not_found() if template is None else json_response(template.to_json())


@router.delete("/templates/{template_id}")
async def delete_template(request: Request, template_id: str) -> Response:
    """Forget a template; 204, or 404 for an unknown id."""
    return answer_authorised(
        request,
        lambda state: Response(status_code=204) if state.templates.delete(template_id) else not_found(),
    )


@router.get("/templates/{template_id}")
async def get_template(request: Request, template_id: str) -> Response:
    """The template object; 404 for an unknown id (unless ``implicit_templates``, see
    :mod:`.template_store`)."""

    def found(state: EmulatorState) -> Response:
        template = state.templates.get(template_id)
        if template is not None:
            return json_response(template.to_json())
        if state.settings.implicit_templates and is_uuid(template_id):
            return json_response(implicit_template(template_id, state.now()))
        return not_found()

    return answer_authorised(request, found)


@router.get("/templates")
async def list_templates(request: Request) -> Response:
    """Templates matching ``name``, ``companyId`` and ``id`` (comma lists), paged; ``{count, items}``."""

    def listed(state: EmulatorState, page: Page) -> Response:
        query = page.query
        # A name may hold a comma: the filter is one whole name (ASSUMPTION, see .template_store).
        name = query.text("name")
        found = state.templates.find(
            names=[name] if name else None, company_ids=query.csv("companyId"), ids=query.csv("id")
        )
        refused = query_refusal(query)
        if refused is not None:
            return refused
        items = [template.to_json() for template in page.window(found)]
        return json_response({"count": len(found), "items": items})

    return answer_page(request, listed)
