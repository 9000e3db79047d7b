"""A chat wait that will need the websocket checks the ``realtime`` extra when it is constructed.

A missing extra then fails the DAG's import (shown in the UI), instead of failing the task after
the chat session was started. The check asks ``importlib.util.find_spec`` and imports nothing.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_twin.client.chat import INSTALL_HINT
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor

PIP = "pip install 'airflow-provider-twin[realtime]'"


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make ``find_spec`` report the given top-level modules as not installed."""
    real = importlib.util.find_spec

    def hide(*names: str) -> None:
        def find_spec(name: str, package: str | None = None) -> Any:
            return None if name in names else real(name, package)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide


def test_a_deferrable_wait_without_centrifuge_fails_at_construction(without: Any) -> None:
    without("centrifuge")
    with pytest.raises(ImportError) as raised:
        TwinChatSessionClosedSensor(task_id="wait_closed", session_id="s-1", deferrable=True)
    message = str(raised.value)
    assert message.startswith("wait_closed: waiting for TWIN chat events over the websocket in the triggerer")
    assert "needs centrifuge-python, which is not installed" in message
    assert PIP in message
    assert message.endswith(INSTALL_HINT)


def test_a_poking_wait_without_websocket_client_fails_at_construction(without: Any) -> None:
    without("websocket")
    needs = r"wait_closed: .* in the worker .* needs websocket-client"
    with pytest.raises(ImportError, match=needs) as raised:
        TwinChatSessionClosedSensor(task_id="wait_closed", session_id="s-1", deferrable=False)
    assert PIP in str(raised.value)
    # the deferrable wait does not use websocket-client: it constructs
    TwinChatSessionClosedSensor(task_id="deferred", session_id="s-1", deferrable=True)


def test_a_rest_only_wait_needs_no_extra(without: Any) -> None:
    without("centrifuge", "websocket")
    task = TwinChatSessionClosedSensor(task_id="rest", session_id="s-1", deferrable=False, listen_timeout=0)
    assert task.listen_timeout == 0


def test_the_dag_fails_to_import_with_the_hint(without: Any, tmp_path: Path) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,attr-defined]

    (tmp_path / "chat_wait.py").write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.sdk import DAG
            from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor

            with DAG("chat_wait", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
                TwinChatSessionClosedSensor(task_id="closed", session_id="s-1", deferrable=True)
            """
        )
    )
    without("centrifuge")
    bag = DagBag(dag_folder=str(tmp_path))
    (error,) = bag.import_errors.values()
    assert "closed: waiting for TWIN chat events" in error
    assert PIP in error
    assert "chat_wait" not in bag.dags


def test_with_the_extra_constructing_imports_no_websocket_library() -> None:
    code = textwrap.dedent(
        """
        import sys
        from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor

        TwinChatSessionClosedSensor(task_id="a", session_id="s", deferrable=True)
        TwinChatSessionClosedSensor(task_id="b", session_id="s", deferrable=False)
        print(sorted(m for m in ("centrifuge", "websocket") if m in sys.modules))
        """
    )
    assert importlib.util.find_spec("centrifuge") is not None
    assert importlib.util.find_spec("websocket") is not None
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
