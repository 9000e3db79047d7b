"""A chat wait that will need the websocket checks the ``realtime`` extra when it is declared.

A missing extra then fails the DAG's import (shown in the UI), instead of failing the task after
the chat session was started; a mapped wait (``.partial(...).expand(...)``), constructed only
when it runs, is checked by ``partial``. The check asks ``importlib.util.find_spec`` and imports
nothing.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_twin.client.chat import INSTALL_HINT, realtime
from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor
from tests.file_modules import REPO, load_file

PIP = "pip install 'airflow-provider-twin[realtime]'"
CRM_EXAMPLE = REPO / "example_dags" / "example_twin_crm_chat_flow.py"


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


def import_errors(folder: Path) -> tuple[dict[str, str], set[str]]:
    """What Airflow's DAG processor makes of the DAG files in ``folder``: errors and DAG ids."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,attr-defined]

    bag = DagBag(dag_folder=str(folder))
    return dict(bag.import_errors), set(bag.dags)


def write_dag(folder: Path, *lines: str) -> None:
    """A DAG file ``chat_wait.py`` whose DAG holds ``lines`` (in a task group ``leads``)."""
    header = """
        import pendulum
        from airflow.sdk import DAG, TaskGroup
        from airflow_provider_twin.sensors.chat import TwinChatSessionClosedSensor

        with DAG("chat_wait", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
            with TaskGroup("leads"):
    """
    body = "".join(f"        {line}\n" for line in lines)
    (folder / "chat_wait.py").write_text(textwrap.dedent(header) + body)


def test_the_dag_fails_to_import_with_the_hint(without: Any, tmp_path: Path) -> None:
    write_dag(tmp_path, 'TwinChatSessionClosedSensor(task_id="closed", session_id="s-1", deferrable=True)')
    without("centrifuge")
    errors, dags = import_errors(tmp_path)
    (error,) = errors.values()
    assert "leads.closed: waiting for TWIN chat events" in error
    assert PIP in error
    assert "chat_wait" not in dags


@pytest.fixture
def hidden_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither ``centrifuge`` nor ``websocket`` installed, as the one ``find_spec`` check sees it."""
    packages = {
        name: [package for _, package in needs] for name, needs in realtime.TRANSPORT_PACKAGES.items()
    }
    monkeypatch.setattr(realtime, "missing_packages", packages.__getitem__)


@pytest.mark.usefixtures("hidden_extra")
def test_parsing_the_crm_example_without_the_extra_fails_before_any_session() -> None:
    """The example maps its waits (``.partial(...).expand(...)``): ``partial`` checks the extra."""
    with pytest.raises(ImportError) as raised:
        load_file(CRM_EXAMPLE)
    message = str(raised.value)
    assert message.startswith(
        "wait_for_close: waiting for TWIN chat events over the websocket in the triggerer"
    )
    assert "needs centrifuge-python, which is not installed" in message
    assert PIP in message


@pytest.mark.usefixtures("hidden_extra")
def test_a_mapped_poking_wait_without_the_extra_fails_the_dag_import(tmp_path: Path) -> None:
    write_dag(
        tmp_path, 'TwinChatSessionClosedSensor.partial(task_id="closed").expand(session_id=["s-1", "s-2"])'
    )
    errors, dags = import_errors(tmp_path)
    (error,) = errors.values()
    assert "leads.closed: waiting for TWIN chat events over the websocket in the worker" in error
    assert "needs websocket-client, which is not installed" in error
    assert PIP in error
    assert "chat_wait" not in dags


def test_a_mapped_wait_reads_its_mode_from_the_default_args(without: Any) -> None:
    from airflow.sdk import DAG

    without("centrifuge")
    with DAG("chat_wait", schedule=None, default_args={"deferrable": True}):
        with pytest.raises(ImportError, match="closed: .* in the triggerer .* needs centrifuge-python"):
            TwinChatSessionClosedSensor.partial(task_id="closed").expand(session_id=["s-1"])
        # poking with REST checks only needs no extra; without centrifuge a poking wait is fine too
        TwinChatSessionClosedSensor.partial(task_id="rest", deferrable=False).expand(session_id=["s-1"])


def test_a_mapped_rest_only_wait_needs_no_extra(hidden_extra: None) -> None:
    from airflow.sdk import DAG

    with DAG("chat_wait", schedule=None):
        mapped = TwinChatSessionClosedSensor.partial(task_id="rest", listen_timeout=0).expand(
            session_id=["s-1"]
        )
    assert mapped.partial_kwargs["listen_timeout"] == 0


def test_a_mapped_wait_is_still_a_partial_on_the_class_only() -> None:
    """Overriding ``partial`` keeps Airflow's guard: a task object cannot be mapped again."""
    task = TwinChatSessionClosedSensor(task_id="one", session_id="s-1", deferrable=True)
    with pytest.raises(TypeError):
        task.partial(task_id="again")


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
