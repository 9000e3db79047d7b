"""A real Airflow for the chat-approval tests, and how they read what Airflow and TWIN recorded.

The UI tests' :class:`~tests.ui.airflow_stack.AirflowStack` (a fresh SQLite home, then
``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as child processes on
loopback) on the DAGs of ``dags/``, unpaused at creation, so a test only triggers runs. Airflow
is read and answered through its public REST API as the stack's admin: runs, task states, a
task's return value, the Human-in-the-loop detail of a task (``GET``) and an answer to it
(``PATCH .../hitlDetails``, what the Required Actions page sends). TWIN's side is read from the
emulator's admin API: the chat sessions of the approval chat, with their messages.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from airflow_provider_twin.emulator import TwinEmulator
from tests.ui.airflow_stack import AirflowStack

DAGS = Path(__file__).resolve().parent / "dags"


class ApprovalStack(AirflowStack):
    """Airflow's four components on the approval DAGs, with readers of runs and HITL details."""

    def __init__(self, workdir: Path, emulator: TwinEmulator, dag_ids: list[str]) -> None:
        settings = {"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}
        super().__init__(workdir, emulator, dags_folder=DAGS, dag_ids=dag_ids, extra_env=settings)

    def trigger(self, dag_id: str) -> str:
        """Start a manual run of ``dag_id`` now; its run id."""
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        return str(run["dag_run_id"])

    def _task_path(self, dag_id: str, run_id: str, task_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"

    def hitl_detail(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """The Human-in-the-loop detail of a task (its question, and the answer once there is one)."""
        found: dict[str, Any] = self.api("GET", f"{self._task_path(dag_id, run_id, task_id)}/-1/hitlDetails")
        return found

    def answer(self, dag_id: str, run_id: str, task_id: str, chosen: list[str]) -> dict[str, Any]:
        """Answer the task's question as the admin user, as the Required Actions page does."""
        path = f"{self._task_path(dag_id, run_id, task_id)}/-1/hitlDetails"
        found: dict[str, Any] = self.api("PATCH", path, json={"chosen_options": chosen, "params_input": {}})
        return found

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        """One task's state in a run."""
        state: str | None = self.api("GET", self._task_path(dag_id, run_id, task_id))["state"]
        return state

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float
    ) -> str:
        """Wait until the task is in one of ``states``; the state."""

        def reached() -> str | None:
            state = self.task_state(dag_id, run_id, task_id)
            return state if state in states else None

        return self.wait_for(f"{dag_id}.{task_id} to be {states}", reached, time.monotonic() + timeout, 0.5)

    def returned(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """What the task returned (its ``return_value`` XCom)."""
        value = self.api("GET", f"{self._task_path(dag_id, run_id, task_id)}/xcomEntries/return_value")[
            "value"
        ]
        return json.loads(value) if isinstance(value, str) else value

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log of one try, as text."""
        path = f"{self._task_path(dag_id, run_id, task_id)}/logs/{try_number}"
        found = self.api("GET", path, params={"full_content": True})
        content = found.get("content") if isinstance(found, dict) else found
        if isinstance(content, list):
            return "\n".join(
                str(line.get("event", line) if isinstance(line, dict) else line) for line in content
            )
        return str(content)


def sessions_of(emulator: TwinEmulator, chat_id: str, phone: str) -> list[dict[str, Any]]:
    """The chat sessions of ``chat_id`` with the client ``phone``, with their messages, oldest first."""
    items = emulator.admin.sessions(chatId=chat_id, limit=1000)["items"]
    return [item for item in items if str(item.get("clientPhone")) == phone]


def texts(session: dict[str, Any], *author_types: str) -> list[str]:
    """The bodies of a session's messages by these authors (all when none given), oldest first."""
    return [
        str(message.get("body"))
        for message in session.get("messages", [])
        if not author_types or message.get("authorType") in author_types
    ]
