"""``TwinMessageStatusSensor``: wait until a campaign step's messages reach final statuses.

Each check asks TWIN three counts (all, success statuses, failure statuses) with
``withoutItems``, so it costs the same for ten messages as for a million; the rules live in
:mod:`airflow_provider_twin.client.delivery` and are shared with the deferrable trigger.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf
from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

from airflow_provider_twin.client import TwinClient, TwinError
from airflow_provider_twin.client.core.calls import comma_list
from airflow_provider_twin.client.core.errors import error_summary, is_transient
from airflow_provider_twin.client.messages.models import MessageItem
from airflow_provider_twin.client.messages.status import (
    FAILURE_STATUSES,
    PAGE_SIZE,
    SUCCESS_STATUSES,
    CountRequest,
    Criteria,
    Progress,
    Targets,
    breakdown_requests,
    check_requests,
    evaluate,
    failed_destinations,
    failed_records_calls,
    flow_records_calls,
    needs_flow_check,
    tally,
    with_breakdown,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

#: XCom key under which the outcome is pushed when the sensor fails on ``max_failure_ratio``.
FAILURE_XCOM_KEY = "delivery"


def count_sync(client: TwinClient, requests: Sequence[CountRequest]) -> dict[str, int]:
    """Send count requests one after another and sum their answers per key."""
    return tally(requests, [client.send(request.call) for request in requests])


def collect_failed_destinations(
    client: TwinClient,
    targets: Targets,
    criteria: Criteria,
    result: Mapping[str, Any],
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Destinations whose flow ended in failure, at most ``limit``; True when more exist.

    Lists only messages in a failure status, a page of up to 1,000 at a time. When fallback
    or required-channel attempts exist (``result`` tells), the flows of each page are looked
    up once more so a destination rescued by another channel is not reported as failed.
    """
    if limit <= 0:
        return [], False
    verify = needs_flow_check(result)
    found: list[dict[str, Any]] = []
    seen: set[str] = set()

    def settle(batch: list[MessageItem]) -> None:
        flow_records: list[MessageItem] | None = None
        if verify:
            flows = [str(r["flowId"]) for r in batch if r.get("flowId")]
            flow_records = [item for call in flow_records_calls(flows) for item in client.paginate(call)]
        for entry in failed_destinations(batch, criteria, flow_records):
            key = str(entry.get("flow_id") or entry.get("message_id"))
            if key not in seen:
                seen.add(key)
                found.append(entry)

    for call in failed_records_calls(targets, criteria):
        batch: list[MessageItem] = []
        for record in client.paginate(call):
            batch.append(record)
            if len(batch) >= PAGE_SIZE:
                settle(batch)
                batch = []
                if len(found) > limit:
                    break
        if batch:
            settle(batch)
        if len(found) > limit:
            break
    return found[:limit], len(found) > limit


def _status_tuple(value: Iterable[str] | str) -> tuple[str, ...]:
    return tuple(comma_list(value)) if isinstance(value, str) else tuple(value)


def _is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple)) and not value)


class TwinMessageStatusSensor(BaseSensorOperator):
    """Wait until the messages of a campaign step reach final statuses; return the outcome.

    Name the messages with exactly one of ``bulk_ids``, ``group_ids``, ``message_ids`` or
    ``flow_ids``, or hand over the send operator's whole summary as ``targets``. All of them
    are templated, so ``send.output["bulk_ids"]`` (or ``send.output``) plugs in directly.

    A status in ``success_statuses`` counts as delivered, one in ``failure_statuses`` as
    failed, anything else as pending. The sensor is done when nothing is pending, or earlier
    once ``min_success_ratio`` of the destinations succeeded; it fails at once (no retries)
    when more than ``max_failure_ratio`` failed. Every check costs three count requests,
    whatever the number of messages.

    Returned (XCom) value::

        {"state": "success", "reason": "all_final" | "min_success_ratio",
         "total": 10, "succeeded": 9, "failed": 1, "pending": 0,
         "success_ratio": 0.9, "failure_ratio": 0.1,
         "counted_by": "destination" | "record",
         "records": {"total": 11, "success": 9, "failure": 2, "pending": 0},
         "by_status": {"DELIVERED": 9, "UNDELIVERED": 2, "ERROR": 0, ...},
         "targets": {"bulk_ids": [...], "expected_total": 10},
         "checked_at": "2026-02-01T10:00:00+00:00", "message": "...",
         # with return_failed_destinations=True:
         "failed_destinations": [{"destination": {...}, "status": "UNDELIVERED", "channel": "SMS",
                                  "message_id": ..., "flow_id": ..., "bulk_id": ..., "group_id": ...,
                                  "channels_tried": ["SMS"]}],
         "failed_destinations_truncated": False}

    On a ``max_failure_ratio`` failure the same value is pushed under the XCom key
    ``"delivery"`` before the task fails, for a downstream task with ``trigger_rule="all_done"``.

    :param targets: the send operator's summary (``{"bulk_ids": [...], "group_id": ...,
        "accepted": n}``); its bulk ids (else group id) are watched and ``accepted`` is the
        ``expected_total`` unless given. Do not combine with the id arguments.
    :param bulk_ids: bulk ids to watch (one or more; a list or a comma-separated string).
    :param group_ids: group ids to watch.
    :param message_ids: message ids to watch (sent 100 per request: prefer bulk or group ids
        for large campaigns).
    :param flow_ids: flow ids (one per destination) to watch; counts per destination exactly.
    :param expected_total: how many destinations the targets hold. The sensor is not done
        before TWIN lists that many, and fallback channels are counted per destination: a
        failed first attempt rescued by a later channel counts as delivered. Without it each
        message record counts on its own.
    :param success_statuses: statuses that count as delivered. Default ``DELIVERED``.
    :param failure_statuses: final statuses that count as failed. Default ``UNDELIVERED``,
        ``ERROR``, ``EXPIRED``, ``CANCELLED`` and the spellings ``CANCELED``, ``REJECTED``,
        ``FAILED``.
    :param min_success_ratio: finish early once this share (0..1) of destinations succeeded.
    :param max_failure_ratio: fail fast once more than this share (0..1) of destinations failed.
    :param return_failed_destinations: add the failed destinations to the result, so a next
        step can try them on another channel (one list request per 1,000 failures, plus one
        per 100 of their flows when fallback attempts exist; once, when the wait ends).
    :param failed_destinations_limit: at most this many failed destinations are returned.
    :param twin_conn_id: the ``twin`` connection.
    :param deferrable: check once, then wait in the triggerer (no worker slot) with
        :class:`~airflow_provider_twin.triggers.messages.TwinMessageStatusTrigger`, polling
        every ``poke_interval`` seconds until ``timeout``. Default from
        ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = (
        "targets",
        "bulk_ids",
        "group_ids",
        "message_ids",
        "flow_ids",
        "expected_total",
    )
    ui_color = "#d6ecf3"

    def __init__(
        self,
        *,
        targets: Any = None,
        bulk_ids: Any = None,
        group_ids: Any = None,
        message_ids: Any = None,
        flow_ids: Any = None,
        expected_total: Any = None,
        success_statuses: Iterable[str] | str = SUCCESS_STATUSES,
        failure_statuses: Iterable[str] | str = FAILURE_STATUSES,
        min_success_ratio: float | None = None,
        max_failure_ratio: float | None = None,
        return_failed_destinations: bool = False,
        failed_destinations_limit: int = 1000,
        twin_conn_id: str = TwinHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        ids_given = [bulk_ids, group_ids, message_ids, flow_ids]
        if targets is not None and not all(_is_unset(value) for value in ids_given):
            raise ValueError(
                "give either targets (a send summary) or bulk_ids/group_ids/message_ids/flow_ids, not both"
            )
        if targets is None and all(value is None for value in ids_given):
            raise ValueError(
                "give targets (a send summary) or one of bulk_ids, group_ids, message_ids, flow_ids"
            )
        if failed_destinations_limit < 0:
            raise ValueError("failed_destinations_limit must not be negative")
        self.targets = targets
        self.bulk_ids = bulk_ids
        self.group_ids = group_ids
        self.message_ids = message_ids
        self.flow_ids = flow_ids
        self.expected_total = expected_total
        # Validated now, so a typo in a status list fails at DAG parse time.
        self.criteria = Criteria(
            success_statuses=_status_tuple(success_statuses),
            failure_statuses=_status_tuple(failure_statuses),
            min_success_ratio=min_success_ratio,
            max_failure_ratio=max_failure_ratio,
        )
        self.success_statuses = self.criteria.success_statuses
        self.failure_statuses = self.criteria.failure_statuses
        self.min_success_ratio = min_success_ratio
        self.max_failure_ratio = max_failure_ratio
        self.return_failed_destinations = return_failed_destinations
        self.failed_destinations_limit = failed_destinations_limit
        self.twin_conn_id = twin_conn_id
        self.deferrable = deferrable
        self._hook: TwinHook | None = None

    # -- inputs ------------------------------------------------------------------------------------
    def resolved_targets(self) -> Targets:
        """The rendered targets, checked: exactly one kind of id, or a send summary."""
        try:
            if self.targets is not None:
                return Targets.from_summary(self.targets, expected_total=self.expected_total)
            return Targets.of(
                bulk_ids=self.bulk_ids,
                group_ids=self.group_ids,
                message_ids=self.message_ids,
                flow_ids=self.flow_ids,
                expected_total=self.expected_total,
            )
        except TwinError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from exc

    # -- modes -------------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        """Poke/reschedule through the base sensor; deferrable: check once, then defer."""
        try:
            if not self.deferrable:
                return super().execute(context)
            return self._execute_deferrable(context)
        finally:
            self._close_client()

    def _execute_deferrable(self, context: Context) -> Any:
        targets = self.resolved_targets()
        deadline = time.time() + self.timeout
        try:
            result = self._check(context, targets)
        except AirflowFailException as exc:
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(str(exc)) from exc
            raise
        if result is not None:
            return result
        self._close_client()
        self.defer(
            trigger=TwinMessageStatusTrigger(
                targets=targets.to_json(),
                criteria=self.criteria.to_json(),
                deadline=deadline,
                poll_interval=self.poke_interval,
                twin_conn_id=self.twin_conn_id,
                next_check_at=time.time() + self.poke_interval,
            ),
            method_name="execute_complete",
            # A safety net only: the trigger fires its own timeout event at the deadline.
            timeout=timedelta(seconds=self.timeout + self.poke_interval + 60),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check (poke and reschedule modes); done → the result as XCom."""
        result = self._check(context, self.resolved_targets())
        if result is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=result)

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Turn the trigger's event into the result, or into a clear failure."""
        try:
            return self._resume(context, event)
        finally:
            self._close_client()

    def _resume(self, context: Context, event: Mapping[str, Any] | None) -> Any:
        if not isinstance(event, Mapping):
            raise AirflowException(f"{self.task_id}: the TWIN status trigger sent no event")
        status = event.get("status")
        message = str(event.get("message") or "")
        result = event.get("result")
        if status == "success" and isinstance(result, Mapping):
            self.log.info("%s", message)
            return self._complete(dict(result))
        if status == "failure" and isinstance(result, Mapping):
            self._push_failure(context, dict(result))
            raise AirflowFailException(f"{self.task_id}: {message}")
        if status == "timeout":
            raise AirflowSensorTimeout(f"{self.task_id}: {message}")
        raise AirflowException(
            f"{self.task_id}: waiting for TWIN delivery statuses failed: {message or dict(event)}"
        )

    # -- one check ---------------------------------------------------------------------------------
    def _client(self) -> TwinClient:
        """The task's sync client: one login for every poke of a poke-mode wait."""
        if self._hook is None:
            self._hook = TwinHook(twin_conn_id=self.twin_conn_id)
        return self._hook.get_client()

    def _close_client(self) -> None:
        if self._hook is not None:
            self._hook.close()
            self._hook = None

    def _check(self, context: Context, targets: Targets) -> dict[str, Any] | None:
        """One check: the final result, None while pending, AirflowFailException on failure.

        Transient TWIN trouble (rate limit, 5xx, network) that outlasted the client's retries
        means "not known yet": the next check tries again, bounded by ``timeout``.
        """
        try:
            client = self._client()
            counts = count_sync(client, check_requests(targets, self.criteria))
            progress = evaluate(targets, self.criteria, counts)
            self.log.info("%s", progress.message)
            if not progress.done:
                return None
            result = self._final_result(client, targets, progress)
            if progress.state == "success":
                return self._complete(result)
        except TwinError as exc:
            if not is_transient(exc):
                raise
            self.log.warning("TWIN status check failed, trying again later: %s", error_summary(exc))
            return None
        self._push_failure(context, result)
        raise AirflowFailException(f"{self.task_id}: {progress.message}")

    def _final_result(self, client: TwinClient, targets: Targets, progress: Progress) -> dict[str, Any]:
        by_status = count_sync(client, breakdown_requests(targets, self.criteria))
        return with_breakdown(progress.to_result(), self.criteria, by_status)

    def _complete(self, result: dict[str, Any]) -> dict[str, Any]:
        if self.return_failed_destinations:
            self._add_failed_destinations(result)
        return result

    def _add_failed_destinations(self, result: dict[str, Any]) -> None:
        found, truncated = collect_failed_destinations(
            self._client(),
            Targets.from_json(result["targets"]),
            self.criteria,
            result,
            self.failed_destinations_limit,
        )
        result["failed_destinations"] = found
        result["failed_destinations_truncated"] = truncated
        if truncated:
            self.log.warning(
                "more than %d failed destinations; only the first %d are returned",
                self.failed_destinations_limit,
                self.failed_destinations_limit,
            )

    def _push_failure(self, context: Context, result: dict[str, Any]) -> None:
        """Push the outcome of a failed wait under ``delivery``; failed destinations best-effort."""
        if self.return_failed_destinations:
            try:
                self._add_failed_destinations(result)
            except TwinError as exc:
                self.log.warning("could not list the failed destinations: %s", error_summary(exc))
        context["ti"].xcom_push(key=FAILURE_XCOM_KEY, value=result)
