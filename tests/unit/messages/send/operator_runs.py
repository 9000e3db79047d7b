"""Running the send and cancel operators in a test: recipients, operators and task contexts."""

from __future__ import annotations

from typing import Any
from unittest import mock

from airflow.sdk import DAG

from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator, TwinSendMessagesOperator


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"phone": f"+7 999 {i:07d}", "var_name": f"P{i}"} for i in range(start, start + count)]


def operator(**kwargs: Any) -> TwinSendMessagesOperator:
    if "messages" not in kwargs:
        kwargs.setdefault("channels", {"viber": {"from": "Shop"}, "sms": {"from": "Shop"}})
        kwargs.setdefault("text", "Hello")
    kwargs.setdefault("settle_seconds", 0.0)
    with DAG("campaign", schedule=None):
        return TwinSendMessagesOperator(task_id=kwargs.pop("task_id", "send"), **kwargs)


def cancel(**kwargs: Any) -> TwinCancelMessagesOperator:
    with DAG("campaign", schedule=None):
        return TwinCancelMessagesOperator(task_id="cancel", **kwargs)


def context(try_number: int = 1, map_index: int = -1, run_id: str = "manual__1") -> dict[str, Any]:
    ti = mock.MagicMock(try_number=try_number, map_index=map_index)
    return {"ti": ti, "dag_run": mock.MagicMock(run_id=run_id)}


def logged(log: mock.MagicMock, level: str) -> list[str]:
    return [call.args[0] % call.args[1:] for call in getattr(log, level).call_args_list]
