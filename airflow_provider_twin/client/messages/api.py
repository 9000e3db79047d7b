"""Notify (messaging) calls: send batches, list and count messages, cancel (twin-api.md §3)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from airflow_provider_twin.client.core.calls import (
    ApiCall,
    comma_list,
    expect_list,
    expect_object,
    query_params,
)
from airflow_provider_twin.client.core.errors import TwinInputError, TwinProtocolError
from airflow_provider_twin.client.messages.models import BatchItem, CancelItem, MessageData, MessagePage

#: TWIN's page size cap assumed by the emulator (twin-api.md §7.11).
MAX_PAGE_SIZE = 1000

IdFilter = str | Iterable[str] | None
T = TypeVar("T")


def _batch_items(body: Any) -> list[BatchItem]:
    return cast("list[BatchItem]", expect_list(body))


def _cancel_items(body: Any) -> list[CancelItem]:
    return cast("list[CancelItem]", expect_list(body))


def _message_page(body: Any) -> MessagePage:
    data = expect_object(body)
    count, items = data.get("count"), data.get("items", [])
    if not isinstance(count, int) or not isinstance(items, list):
        raise TwinProtocolError("TWIN notify answered a message list without count/items")
    return cast("MessagePage", {"count": count, "items": items})


def _count(body: Any) -> int:
    return _message_page(body)["count"]


def _messages_call(method: str, description: str, parse: Callable[[Any], T], **request: Any) -> ApiCall[T]:
    """A call on notify's ``/messages``: every notify call is one, told apart by its method."""
    return ApiCall(
        method=method, service="notify", path="/messages", description=description, parse=parse, **request
    )


def create_messages(
    messages: Sequence[MessageData],
    *,
    bulk_id: str | None = None,
    company_id: int | str | None = None,
    task_id: str | None = None,
    idempotent: bool = False,
) -> ApiCall[list[BatchItem]]:
    """``POST /messages``: create a batch (twin-api.md §3.2).

    :param bulk_id: the caller's id of the batch; with it the caller can ask TWIN whether the
        batch was created, which is what makes a retry safe.
    :param idempotent: set only when a repeated request cannot create the messages twice
        (for example because the caller checks ``bulk_id`` before resending); otherwise an
        ambiguous failure is raised instead of retried.
    """
    if not messages:
        raise TwinInputError("messages: a batch needs at least one message")
    return _messages_call(
        "POST",
        f"create {len(messages)} message(s)" + (f" in bulk {bulk_id}" if bulk_id else ""),
        _batch_items,
        json={"messages": list(messages), "companyId": company_id, "taskId": task_id, "bulkId": bulk_id},
        idempotent=idempotent,
    )


def message_filters(
    *,
    ids: IdFilter = None,
    bulk_ids: IdFilter = None,
    group_ids: IdFilter = None,
    flow_ids: IdFilter = None,
    task_ids: IdFilter = None,
    status: str | Iterable[str] | None = None,
    channel: str | Iterable[str] | None = None,
    created_from: str | None = None,
    created_to: str | None = None,
) -> dict[str, str]:
    """Query parameters of ``GET /messages`` filters (twin-api.md §3.3)."""
    return query_params(
        id=comma_list(ids),
        bulkId=comma_list(bulk_ids),
        groupId=comma_list(group_ids),
        flowId=comma_list(flow_ids),
        taskId=comma_list(task_ids),
        status=comma_list(status),
        channel=comma_list(channel),
        **{"from": created_from, "to": created_to},
    )


def list_messages(
    *,
    limit: int = 100,
    offset: int = 0,
    sort: str | None = None,
    **filters: Any,
) -> ApiCall[MessagePage]:
    """``GET /messages``: one page of messages matching ``filters`` (see :func:`message_filters`)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise TwinInputError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    params = message_filters(**filters)
    params.update(query_params(limit=limit, offset=offset, sort=sort))
    return _messages_call("GET", "list messages", _message_page, params=params)


def count_messages(**filters: Any) -> ApiCall[int]:
    """``GET /messages`` with ``withoutItems``: how many messages match, at the cost of one request.

    The count does not depend on how many messages there are, which keeps status polling of
    a million-message campaign as cheap as one of ten.
    """
    params = message_filters(**filters)
    params.update(query_params(limit=1, withoutItems=True))
    return _messages_call("GET", "count messages", _count, params=params)


def cancel_messages(
    *,
    ids: IdFilter = None,
    bulk_ids: IdFilter = None,
    group_ids: IdFilter = None,
    flow_ids: IdFilter = None,
) -> ApiCall[list[CancelItem]]:
    """``DELETE /messages`` with a JSON body: cancel delayed messages (twin-api.md §3.4).

    Cancelling is idempotent: a message already cancelled or already sent comes back
    unchanged, so a retry is safe.
    """
    body = {
        "id": ",".join(comma_list(ids)) or None,
        "bulkId": ",".join(comma_list(bulk_ids)) or None,
        "groupId": ",".join(comma_list(group_ids)) or None,
        "flowId": ",".join(comma_list(flow_ids)) or None,
    }
    if not any(body.values()):
        raise TwinInputError("cancel needs at least one of ids, bulk_ids, group_ids or flow_ids")
    return _messages_call("DELETE", "cancel messages", _cancel_items, json=body)
