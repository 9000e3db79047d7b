"""A TWIN status webhook body (twin-api.md §3.2.7) as a :class:`TwinEvent`.

TWIN POSTs one JSON object per status change of a message to the message's ``callbackUrl``::

    {"id": "...", "bulkId": "...", "groupId": "...", "flowId": "...",
     "oldStatus": "PENDING", "newStatus": "DELIVERED", "oldStatusCode": 2, "newStatusCode": 6,
     "price": 0, "partCount": 1, "callbackData": "<the string given in the request>"}

The event is the one a ``GET /messages`` listing gives for the same fact (the same
``message:<id>:<STATUS>`` id), so a consumer fed by both a webhook and a watcher sees one fact
once when it dedupes on ``event_id``. Like TWIN's own integrators, only ``id``, ``newStatus``
and ``callbackData`` (a string when present) are required to be well formed; other fields are
taken when they have the documented type and dropped otherwise (a webhook is not refused for a
field TWIN may add or change). Price and part count are left out: the payload says what
happened, not what it cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.twin_events import MESSAGE_STATUS, TwinEvent

#: Webhook fields kept under their own name when they are strings.
_ID_FIELDS = ("bulkId", "groupId", "flowId")
#: TWIN's limit on ``callbackData`` (twin-api.md §3.2.2): a longer value is not TWIN's.
MAX_CALLBACK_DATA_BYTES = 10240


def _text(body: Mapping[str, Any], name: str, problems: list[str], *, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name}: {'required, ' if required else ''}a non-empty string (got {value!r:.40})")
        return None
    return value.strip()


def _code(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def status_webhook_event(body: Any, received_at: datetime | None = None) -> TwinEvent:
    """The event "message ``id`` reached ``newStatus``" of one status webhook body.

    TWIN's body carries no time of the change: the event's time is ``received_at`` (default: now,
    UTC).

    :param body: the decoded JSON body.
    :param received_at: when the webhook arrived.
    :return: the event, with payload id, bulkId, groupId, flowId, channel (``None``: a webhook
        does not say), status, statusCode, oldStatus, oldStatusCode and callbackData.
    :raises TwinInputError: the body is not an object, or ``id``/``newStatus``/``callbackData``
        is malformed; ``problems`` names each field.
    """
    if not isinstance(body, Mapping):
        raise TwinInputError(
            "a status webhook body is a JSON object", [f"body: a JSON object (got {type(body).__name__})"]
        )
    problems: list[str] = []
    message_id = _text(body, "id", problems, required=True)
    new_status = _text(body, "newStatus", problems, required=True)
    callback_data = body.get("callbackData")
    if callback_data is not None and not isinstance(callback_data, str):
        problems.append(f"callbackData: a string (got {type(callback_data).__name__})")
    elif callback_data is not None and len(callback_data.encode()) > MAX_CALLBACK_DATA_BYTES:
        problems.append(f"callbackData: at most {MAX_CALLBACK_DATA_BYTES} bytes")
    if problems or message_id is None or new_status is None:
        raise TwinInputError("malformed status webhook: " + "; ".join(problems), problems)
    status = new_status.upper()
    old_status = body.get("oldStatus")
    payload: dict[str, Any] = {"id": message_id}
    payload.update({name: body[name] if isinstance(body.get(name), str) else None for name in _ID_FIELDS})
    payload.update(
        channel=None,
        status=status,
        statusCode=_code(body.get("newStatusCode")),
        oldStatus=old_status.upper() if isinstance(old_status, str) and old_status else None,
        oldStatusCode=_code(body.get("oldStatusCode")),
        callbackData=callback_data,
    )
    when = (received_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return TwinEvent(
        f"message:{message_id}:{status}", MESSAGE_STATUS, when.isoformat(timespec="milliseconds"), payload
    )


__all__ = ["MAX_CALLBACK_DATA_BYTES", "status_webhook_event"]
