"""What the TWIN sensors share: one TWIN client per task run, and where each waiting mode starts."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context, conf
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_provider_twin.client import TwinClient
from airflow_provider_twin.client.messages import ProgressNews
from airflow_provider_twin.hooks.twin import TwinHook

if TYPE_CHECKING:
    from airflow.sdk.definitions.mappedoperator import OperatorPartial


class _CheckedPartial:
    """``partial`` of the TWIN sensors: Airflow's, and the sensor's declaration checked at once.

    A mapped task (``.partial(...).expand(...)``) is constructed only when it runs, so what
    ``__init__`` checks at parse time would otherwise fail the task instead of the DAG's import:
    the sensor's ``_check_mapped`` checks it here, from the arguments as
    :func:`declared_argument` reads them. On a task (not its class) ``partial`` stays Airflow's
    refusal.
    """

    def __get__(self, task: TwinSensor | None, owner: type[TwinSensor]) -> Callable[..., OperatorPartial]:
        if task is not None:
            refusal: Callable[..., OperatorPartial] = super(TwinSensor, task).partial
            return refusal
        airflow_partial: Callable[..., OperatorPartial] = super(TwinSensor, owner).partial

        def partial(**kwargs: Any) -> OperatorPartial:
            mapped = airflow_partial(**kwargs)
            owner._check_mapped(str(mapped.kwargs["task_id"]), lambda name: declared_argument(mapped, name))
            return mapped

        return partial


class TwinSensor(BaseSensorOperator):
    """A sensor that reads TWIN through its ``twin_conn_id`` connection, in any waiting mode.

    Poke and reschedule modes run the base sensor's loop of :meth:`poke`; a ``deferrable``
    sensor runs :meth:`_execute_deferrable` instead (check once, then defer to a trigger). One
    sync client serves every check of a task run, so a poke-mode wait logs in once; it is
    closed when the run ends, and before deferring so no connection idles in the worker.
    """

    twin_conn_id: str
    deferrable: bool
    partial = _CheckedPartial()
    _hook: TwinHook | None = None
    _news: ProgressNews | None = None

    @classmethod
    def _check_mapped(cls, task_id: str, argument: Callable[[str], Any]) -> None:
        """Check a mapped task's declaration (``argument(name)``); raise as ``__init__`` would."""

    def execute(self, context: Context) -> Any:
        """Poke/reschedule through the base sensor; deferrable: check once, then defer."""
        try:
            if not self.deferrable:
                return self._poke_until_done(context)
            return self._check_then_defer(context)
        finally:
            self._close_client()

    def _check_then_defer(self, context: Context) -> Any:
        """:meth:`_execute_deferrable`; a failure of its check skips the task under ``soft_fail`` or
        ``never_fail``, as a failed poke does in the base sensor's loop."""
        try:
            return self._execute_deferrable(context)
        except AirflowFailException as exc:
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(str(exc)) from exc
            raise

    def _poke_until_done(self, context: Context) -> Any:
        """The base sensor's loop; its timeout also says what :meth:`_timeout_detail` knows."""
        try:
            return super().execute(context)
        except (AirflowSensorTimeout, AirflowSkipException) as exc:
            detail = self._timeout_detail()
            if detail is None or not str(exc).startswith("Sensor has timed out"):
                raise
            raise type(exc)(f"{exc} {detail}") from exc

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Turn the trigger's event into the result, or into a clear failure (:meth:`_resume`)."""
        try:
            return self._resume(context, event)
        finally:
            self._close_client()

    def _resume(self, context: Context, event: Mapping[str, Any] | None) -> Any:
        """The deferred wait's outcome from its trigger's ``event``."""
        raise NotImplementedError

    def _timeout_detail(self) -> str | None:
        """What to add to a poke-mode timeout (e.g. TWIN failing since when), if anything."""
        return None

    def _execute_deferrable(self, context: Context) -> Any:
        """The first check of a deferrable wait: its result, or a deferral to the trigger."""
        raise NotImplementedError

    def _log_progress(self, line: str) -> None:
        """Log a wait's progress line once, and again only when it changed (debug level between).

        Poke mode keeps the last line across pokes; a reschedule starts afresh.
        """
        self._news = self._news or ProgressNews()
        self.log.log(logging.INFO if self._news.news(line) else logging.DEBUG, "%s", line)

    def _last_progress(self) -> str | None:
        """The last progress line logged, handed to a trigger so it does not log it again."""
        return None if self._news is None else self._news.last

    def timezone_name(self) -> str | None:
        """The zone a wait shows times in: its DAG's ``timezone``, else ``[core] default_timezone``.

        A held message's send time is logged as TWIN gives it (with its offset) and in UTC, and
        in this zone too when it differs from both.
        """
        name = getattr(getattr(self.get_dag(), "timezone", None), "name", None)
        if isinstance(name, str) and name:
            return name
        return conf.get("core", "default_timezone", fallback=None)

    def _client(self) -> TwinClient:
        """The task's sync client: one login for every poke of a poke-mode wait."""
        if self._hook is None:
            self._hook = TwinHook(twin_conn_id=self.twin_conn_id)
        return self._hook.get_client()

    def _close_client(self) -> None:
        """Close the task's client; a later check of the run opens a new one."""
        if self._hook is not None:
            self._hook.close()
            self._hook = None


def declared_argument(mapped: OperatorPartial, name: str) -> Any:
    """A mapped task's argument ``name`` as its DAG file declares it (``.partial(...)``).

    Given to ``partial``, else from the ``default_args`` of its task group or DAG (which the task
    gets when it runs), else the default of the operator's ``__init__``. What ``expand`` maps is
    only known when the task runs, so an argument mapped there reads as its default here.
    """
    given = mapped.kwargs
    if name in given:
        return given[name]
    for owner in (given.get("task_group"), given.get("dag")):
        defaults = getattr(owner, "default_args", None)
        if isinstance(defaults, Mapping) and name in defaults:
            return defaults[name]
    parameter = inspect.signature(mapped.operator_class.__init__).parameters.get(name)
    return None if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default
