"""``TwinMessageStatusSensor``: wait until a campaign step's messages reach final statuses.

A check is the client's :func:`~airflow_provider_twin.client.messages.check_delivery` procedure,
which the deferrable trigger runs too (its cost: the class docstring).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Context, PokeReturnValue, conf
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
)

from airflow_provider_twin.client import TwinError, TwinTokenRejected, error_summary
from airflow_provider_twin.client.messages import (
    DEFAULT_AUTH_FAILURE_LIMIT,
    FAILURE_STATUSES,
    SUCCESS_STATUSES,
    TARGET_KINDS,
    CheckFailures,
    Criteria,
    Targets,
    check_delivery,
    delivery_breakdown,
    local_zone,
    with_failed_destinations,
)
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.sensors.twin_sensor import TwinSensor
from airflow_provider_twin.triggers.messages import TwinMessageStatusTrigger

#: XCom key under which the outcome is pushed when the sensor fails on ``max_failure_ratio``.
FAILURE_XCOM_KEY = "delivery"


class TwinMessageStatusSensor(TwinSensor):
    """Wait until the messages of a campaign step reach final statuses; return the outcome.

    Name the messages with exactly one of ``bulk_ids``, ``group_ids``, ``message_ids`` or
    ``flow_ids``, or hand over the send operator's whole summary as ``targets``. All of them
    are templated, so ``send.output["bulk_ids"]`` (or ``send.output``) plugs in directly.

    The sensor is done when no message is pending, or earlier once ``min_success_ratio`` of
    the destinations succeeded; it fails at once (no retries) when more than
    ``max_failure_ratio`` failed. A check costs a count per configured status plus one (nine by
    default) whatever the size, one more while some are pending. Its line is logged once, then
    when it changes; it tells messages held for their send time and the next (as TWIN gives it,
    with its offset, and in UTC).

    Returns the outcome as XCom (its keys: "Result" in docs/sensors-messages.md). A
    ``max_failure_ratio`` failure first pushes it under the XCom key ``"delivery"``, for a
    downstream task with ``trigger_rule="all_done"``.

    :param targets: the send operator's summary (``{"bulk_ids": [...], "group_id": ...,
        "accepted": n}``); its bulk ids (else group id) are watched and ``accepted`` is the
        ``expected_total`` unless given. Do not combine with the id arguments.
    :param bulk_ids: bulk ids to watch (one or more; a list or a comma-separated string).
    :param group_ids: group ids to watch.
    :param message_ids: message ids to watch (prefer bulk or group ids for large campaigns).
    :param flow_ids: flow ids (one per destination) to watch; counts per destination exactly.
    :param expected_total: how many destinations the targets hold. The sensor is not done
        before TWIN lists that many, and a failed attempt rescued by a fallback channel counts
        as delivered. Without it each message record counts on its own.
    :param success_statuses: statuses that count as delivered. Default ``DELIVERED``.
    :param failure_statuses: final statuses that count as failed. Default ``UNDELIVERED``,
        ``ERROR``, ``EXPIRED``, ``CANCELLED``, ``CANCELED``, ``REJECTED``, ``FAILED``.
    :param min_success_ratio: finish early once this share (0..1) of destinations succeeded.
    :param max_failure_ratio: fail fast once more than this share (0..1) of destinations failed.
    :param return_failed_destinations: add the failed destinations to the result, so a next
        step can try them on another channel (listed once, when the wait ends).
    :param failed_destinations_limit: at most this many failed destinations are returned.
    :param auth_failure_limit: checks in a row that may fail because TWIN refused a token the
        client had just renewed (a renewal racing another expiry) before the task fails;
        each such check is tried again at the next poke or poll (not in reschedule mode). Default 3.
    :param twin_conn_id: the ``twin`` connection.
    :param deferrable: check once, then wait in the triggerer (no worker slot) with
        :class:`~airflow_provider_twin.triggers.messages.TwinMessageStatusTrigger` until
        ``timeout``. Default from ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = ("targets", *TARGET_KINDS, "expected_total")
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
        auth_failure_limit: int = DEFAULT_AUTH_FAILURE_LIMIT,
        twin_conn_id: str = TwinHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.targets = targets
        self.expected_total = expected_total
        self.bulk_ids = bulk_ids
        self.group_ids = group_ids
        self.message_ids = message_ids
        self.flow_ids = flow_ids
        Targets.check_arguments(targets, **self._ids())
        if failed_destinations_limit < 0:
            raise ValueError("failed_destinations_limit must not be negative")
        # Validated now, so a typo in a status list fails at DAG parse time.
        self.criteria = Criteria.of(success_statuses, failure_statuses, min_success_ratio, max_failure_ratio)
        self.success_statuses = self.criteria.success_statuses
        self.failure_statuses = self.criteria.failure_statuses
        self.min_success_ratio = min_success_ratio
        self.max_failure_ratio = max_failure_ratio
        self.return_failed_destinations = return_failed_destinations
        self.failed_destinations_limit = failed_destinations_limit
        self._failures = CheckFailures(auth_failure_limit)  # checked now: fails at parse time
        self.auth_failure_limit = self._failures.limit
        self.twin_conn_id = twin_conn_id
        self.deferrable = deferrable

    def _ids(self) -> dict[str, Any]:
        return {kind: getattr(self, kind) for kind in TARGET_KINDS}

    def resolved_targets(self) -> Targets:
        """The rendered targets, checked: exactly one kind of id, or a send summary."""
        try:
            return Targets.given(self.targets, expected_total=self.expected_total, **self._ids())
        except TwinError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}") from exc

    def _execute_deferrable(self, context: Context) -> Any:
        targets = self.resolved_targets()
        deadline = time.time() + self.timeout
        result = self._check(context, targets)
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
                auth_failure_limit=self.auth_failure_limit,
                timezone=self.timezone_name(),
                reported=self._last_progress(),
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

    def _resume(self, context: Context, event: Mapping[str, Any] | None) -> Any:
        """The trigger's event turned into the result, or into a clear failure."""
        if not isinstance(event, Mapping):
            raise AirflowException(f"{self.task_id}: the TWIN status trigger sent no event")
        status = event.get("status")
        result = event.get("result")
        message = str(event.get("message") or "")
        if status == "success" and isinstance(result, Mapping):
            self.log.info("%s", message)
            return self._add_failed_destinations(dict(result))
        if status == "failure" and isinstance(result, Mapping):
            self._push_failure(context, dict(result))
            raise AirflowFailException(f"{self.task_id}: {message}")
        if status == "timeout":
            raise AirflowSensorTimeout(f"{self.task_id}: {message}")
        raise AirflowException(
            f"{self.task_id}: waiting for TWIN delivery statuses failed: {message or dict(event)}"
        )

    def _check(self, context: Context, targets: Targets) -> dict[str, Any] | None:
        """One check: the final result, None while pending, AirflowFailException on failure.

        A failed check that may pass (transient TWIN trouble, a token refused right after its
        renewal) is tried again at the next, as :meth:`CheckFailures.end_of_wait` says.
        """
        failures = self._failures
        try:
            client = self._client()
            progress = client.run(check_delivery(targets, self.criteria, local_zone(self.timezone_name())))
            failures.succeeded(progress.message)
            self._log_progress(progress.message)
            if not progress.done:
                return None
            result = client.run(delivery_breakdown(targets, self.criteria, progress))
            if progress.state == "success":
                return self._add_failed_destinations(result)
        except TwinError as exc:
            ending = failures.end_of_wait(exc, restarts=self.reschedule)
            if ending is None:
                self.log.warning("TWIN status check failed, trying again later: %s", error_summary(exc))
                return None
            if isinstance(exc, TwinTokenRejected):
                raise AirflowException(f"{self.task_id}: {ending}") from exc
            raise
        self._push_failure(context, result)
        raise AirflowFailException(f"{self.task_id}: {progress.message}")

    def _timeout_detail(self) -> str | None:
        return self._failures.describe()

    def _add_failed_destinations(self, result: dict[str, Any], best_effort: bool = False) -> dict[str, Any]:
        """``result``, with its failed destinations when ``return_failed_destinations`` asks."""
        if not self.return_failed_destinations:
            return result
        limit = self.failed_destinations_limit
        procedure = with_failed_destinations(result, self.criteria, limit, best_effort=best_effort)
        completed, warning = self._client().run(procedure)
        if warning is not None:
            self.log.warning("%s", warning)
        return completed

    def _push_failure(self, context: Context, result: dict[str, Any]) -> None:
        """Push the outcome of a failed wait under ``delivery``; failed destinations best-effort."""
        outcome = self._add_failed_destinations(result, best_effort=True)
        context["ti"].xcom_push(key=FAILURE_XCOM_KEY, value=outcome)
