"""Stored notify templates (twin-api.md §3.7) and how a message takes its text from one.

A template describes a whole message (its channels with their text, sender and so on) so that a
caller only varies the recipient and the variables (seed 000). The store keeps the templates of
``POST /templates`` by id; :func:`render_channel` gives the channel object a message sent with
``templateId`` shows: the template's channel fields, the request's own fields over them, and the
template's text (TWIN ignores the request's text when a template is used, seed 000) with the
recipient's variables put in.

ASSUMPTIONS (docs/emulator.md, "Templates"), none of them documented by TWIN:

* a variable is written ``{{name}}`` in a template's strings (spaces inside the braces allowed),
  the syntax of twin-api.md §3.2.9's example; a variable the recipient has no value for is left
  as written;
* template names need not be unique; the ``name`` filter of ``GET /templates`` matches the whole
  name, case-sensitively;
* ``companyId`` of a template is the company of the token that created it;
* with the setting ``implicit_templates`` (on by default, the behaviour of earlier versions) a
  ``templateId`` that names no stored template reads as an empty template (no channels, no
  variables), so DAGs written against template ids copied from TWIN keep working.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clock import iso
from .ids import random_uuid

if TYPE_CHECKING:
    from .validation import BatchPlan

#: A variable in a template string: ``{{name}}`` (ASSUMPTION, see the module docstring).
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


@dataclass
class Template:
    """One stored template."""

    id: str
    name: str
    channels: dict[str, dict[str, Any]]
    allowed_time_ranges: list[list[str]] | None
    company_id: int | None
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        """The template object of ``GET /templates/{id}`` (twin-api.md §3.7)."""
        return {
            "id": self.id,
            "name": self.name,
            "channels": self.channels,
            "allowedTimeRanges": self.allowed_time_ranges,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


def implicit_template(template_id: str, now: float) -> dict[str, Any]:
    """What ``GET /templates/{id}`` shows for an unknown id under ``implicit_templates``: a
    template without channels, hence without variables."""
    return {
        "id": template_id,
        "name": "",
        "channels": {},
        "allowedTimeRanges": None,
        "createdAt": iso(now),
        "updatedAt": iso(now),
    }


def _lower_keys(channels: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(key).lower(): dict(value) for key, value in channels.items() if isinstance(value, Mapping)}


class TemplateStore:
    """Templates by id, in creation order. Not thread-safe; callers hold the state lock."""

    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}

    def __len__(self) -> int:
        return len(self._templates)

    def create(self, body: Mapping[str, Any], company_id: int | None, now: float) -> Template:
        """Store a validated ``POST /templates`` body under a new UUID."""
        template = Template(
            id=random_uuid(),
            name=body["name"],
            channels=_lower_keys(body.get("channels") or {}),
            allowed_time_ranges=body.get("allowedTimeRanges"),
            company_id=company_id,
            created_at=now,
            updated_at=now,
        )
        self._templates[template.id] = template
        return template

    def update(self, template_id: str, body: Mapping[str, Any], now: float) -> Template | None:
        """Apply a validated ``PUT /templates/{id}`` body: the fields it holds replace the stored ones."""
        template = self.get(template_id)
        if template is None:
            return None
        if body.get("name") is not None:
            template.name = body["name"]
        if body.get("channels") is not None:
            template.channels = _lower_keys(body["channels"])
        if "allowedTimeRanges" in body:
            template.allowed_time_ranges = body["allowedTimeRanges"]
        template.updated_at = now
        return template

    def delete(self, template_id: str) -> bool:
        """Forget a template; False when there was none."""
        return self._templates.pop(template_id.lower(), None) is not None

    def get(self, template_id: str) -> Template | None:
        """The template with this id (ids compare case-insensitively), or None."""
        return self._templates.get(template_id.lower())

    def find(
        self, *, names: list[str] | None, company_ids: list[str] | None, ids: list[str] | None
    ) -> list[Template]:
        """Templates matching every filter given (each a list of accepted values)."""
        wanted_ids = None if ids is None else {value.lower() for value in ids}
        found = []
        for template in self._templates.values():
            if names is not None and template.name not in names:
                continue
            if company_ids is not None and str(template.company_id) not in company_ids:
                continue
            if wanted_ids is not None and template.id not in wanted_ids:
                continue
            found.append(template)
        return found

    def reset(self) -> None:
        """Forget every template."""
        self._templates.clear()

    def attach(self, plan: BatchPlan, *, refuse_unknown: bool) -> dict[str, list[str]]:
        """Give every message of ``plan`` that names a stored template that template's channels.

        :param refuse_unknown: an unknown ``templateId`` is a problem (strict mode without
            ``implicit_templates``); otherwise such a message keeps its own text, as before.
        :returns: ``{"messages[i].templateId": [...]}`` for the unknown ones (when refused).
        """
        details: dict[str, list[str]] = {}
        for index, message in enumerate(plan.messages):
            if message.template_id is None:
                continue
            template = self.get(message.template_id)
            if template is not None:
                message.template_channels = template.channels
            elif refuse_unknown:
                details[f"messages[{index}].templateId"] = [
                    "No template with this id; create it with POST /templates first."
                ]
        return details


def fill(text: str, variables: Mapping[str, Any] | None) -> str:
    """``text`` with each ``{{name}}`` the variables hold replaced by its value."""
    if not variables or "{{" not in text:
        return text

    def value(match: re.Match[str]) -> str:
        found = variables.get(match.group(1))
        if found is None:
            return match.group(0)
        return ("true" if found else "false") if isinstance(found, bool) else str(found)

    return PLACEHOLDER.sub(value, text)


def render_channel(
    template_channel: Mapping[str, Any] | None, own: Mapping[str, Any], variables: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The channel object of a message sent with a template: the template's fields with the
    variables put in their strings, the request's own fields over them, but the template's text
    (the request's is ignored, seed 000)."""
    if not template_channel:
        return dict(own)
    merged = {
        key: fill(value, variables) if isinstance(value, str) else value
        for key, value in template_channel.items()
    }
    merged.update((key, value) for key, value in own.items() if key != "text" or "text" not in merged)
    return merged
