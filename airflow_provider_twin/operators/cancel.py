"""``TwinCancelMessagesOperator``: cancel delayed TWIN messages (importable from :mod:`.messages`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.client import TwinError, TwinInputError
from airflow_provider_twin.client.messages import CancelTally, cancel_delayed, read_cancel_targets
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.failures import airflow_error

if TYPE_CHECKING:
    from airflow.sdk import Context


class TwinCancelMessagesOperator(BaseOperator):
    """Cancel delayed TWIN messages (those whose ``send_at`` or time window is still ahead).

    Cancelling is idempotent: a message already cancelled or already sent is not an error, it
    is counted as cancelled or as not cancellable. Ids of each kind are sent in requests of at
    most ``max_ids_per_request``; kinds are cancelled separately (TWIN combines the filters of
    one request with AND), so giving ``bulk_ids`` and ``group_ids`` cancels the union.

    :param message_ids: message ids.
    :param bulk_ids: bulk (batch) ids, e.g. ``send.output["bulk_ids"]`` of a send task.
    :param group_ids: group ids, e.g. ``send.output["group_id"]``.
    :param flow_ids: flow ids (one recipient's fallback chain).
    :param fail_if_nothing_cancelled: fail the task when no message ended up cancelled.
    :param max_ids_per_request: ids per request (default 100).
    :param max_message_ids_in_xcom: cap of cancelled message ids in the result (default 1000).
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"requested", "requests", "matched", "cancelled", "not_cancellable",
        "statuses", "errors", "cancelled_message_ids", "cancelled_message_ids_truncated"}``.
    """

    template_fields: Sequence[str] = ("message_ids", "bulk_ids", "group_ids", "flow_ids")
    template_fields_renderers: ClassVar[dict[str, str]] = {name: "json" for name in template_fields}
    ui_color = "#fbe9e3"

    def __init__(
        self,
        *,
        message_ids: Any = None,
        bulk_ids: Any = None,
        group_ids: Any = None,
        flow_ids: Any = None,
        fail_if_nothing_cancelled: bool = False,
        max_ids_per_request: int = 100,
        max_message_ids_in_xcom: int = 1000,
        twin_conn_id: str = TwinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if all(value is None for value in (message_ids, bulk_ids, group_ids, flow_ids)):
            raise ValueError(f"{type(self).__name__} needs message_ids, bulk_ids, group_ids or flow_ids")
        # Whole numbers: NaN, infinity or 2.5 would fail later with an error naming nothing.
        for name, count, least in (
            ("max_ids_per_request", max_ids_per_request, 1),
            ("max_message_ids_in_xcom", max_message_ids_in_xcom, 0),
        ):
            if isinstance(count, bool) or not isinstance(count, int) or count < least:
                raise ValueError(f"{name} must be a whole (finite) number of at least {least}, got {count!r}")
        self.message_ids = message_ids
        self.bulk_ids = bulk_ids
        self.group_ids = group_ids
        self.flow_ids = flow_ids
        self.fail_if_nothing_cancelled = fail_if_nothing_cancelled
        self.max_ids_per_request = max_ids_per_request
        self.max_message_ids_in_xcom = max_message_ids_in_xcom
        self.twin_conn_id = twin_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Cancel every matching delayed message and report what happened."""
        try:
            requested = read_cancel_targets(
                message_ids=self.message_ids,
                bulk_ids=self.bulk_ids,
                group_ids=self.group_ids,
                flow_ids=self.flow_ids,
            )
        except TwinInputError as exc:
            raise AirflowFailException(str(exc)) from None
        if not any(requested.values()):
            self.log.warning("No ids to cancel: every id list is empty")
            result = CancelTally().result(requested)
        else:
            hook = TwinHook(twin_conn_id=self.twin_conn_id)
            try:
                result = hook.get_client().run(
                    cancel_delayed(
                        requested,
                        max_ids_per_request=self.max_ids_per_request,
                        max_message_ids=self.max_message_ids_in_xcom,
                    )
                )
            except TwinError as exc:
                raise airflow_error(exc) from exc
            finally:
                hook.close()
        matched, cancelled = result["matched"], result["cancelled"]
        self.log.info(
            "TWIN cancel: %d message(s) matched, %d cancelled, %d not cancellable (already sent or "
            "final); statuses %s",
            matched,
            cancelled,
            matched - cancelled,
            ", ".join(f"{status} {n}" for status, n in result["statuses"].items()) or "-",
        )
        if self.fail_if_nothing_cancelled and cancelled == 0:
            raise AirflowFailException(
                f"nothing was cancelled: {matched} message(s) matched, none of them still cancellable"
            )
        return result
