"""Secret hygiene: the password and every token stay out of logs, XCom, rendered fields, triggers.

The example DAGs (and the documented test DAGs) run against the emulator twice: once with an
e-mail/password connection whose password is distinctive, once with a static ``api_token``.
Then every artifact Airflow keeps is searched for the password, the static token, each access
token the clients obtained (and their signatures alone) and the refresh tokens TWIN issued:

* task and trigger logs: everything written to stdout/stderr during the runs, and the files
  under ``$AIRFLOW_HOME/logs``;
* XCom values of the runs;
* rendered template fields (``RenderedTaskInstanceFields``);
* serialized triggers: what each deferral handed to the triggerer (class path and kwargs),
  the ``trigger`` table and the task instances' ``next_kwargs``;
* and, to be sure, the raw bytes of the metadata database file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.file_modules import load_file

pytestmark = pytest.mark.integration

PASSWORD = "tw1n-Hygiene-Pa55word-7Qz4"  # distinctive: found anywhere means leaked
DELIVERY_SECONDS = 10.0
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


class Secrets:
    """The secrets of the runs, collected as clients obtain them."""

    def __init__(self) -> None:
        self.values: set[str] = {PASSWORD}
        self.triggers: list[tuple[str, dict[str, Any]]] = []

    def add_token(self, token: str) -> None:
        self.values.add(token)
        self.values.add(token.rsplit(".", 1)[-1])  # the signature alone

    def found_in(self, text: str) -> list[str]:
        leaks = [f"{secret[:6]}…" for secret in self.values if secret and secret in text]
        leaks.extend(f"JWT {match[:12]}…" for match in JWT_SHAPE.findall(text))
        return leaks


@pytest.fixture
def secrets_seen(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    """Record every token a TWIN client adopts and every trigger a deferral creates."""
    import airflow.sdk.definitions.dag as dag_module

    from airflow_provider_twin.hooks import secret_masking

    seen = Secrets()
    mask = secret_masking.mask_secret

    def recording_mask(secret: str) -> None:
        seen.add_token(secret)
        mask(secret)

    run_inline = dag_module._run_inline_trigger

    def recording_run(trigger: Any, ti: Any) -> Any:
        classpath, kwargs = trigger.serialize()
        seen.triggers.append((classpath, kwargs))
        return run_inline(trigger, ti)

    monkeypatch.setattr(secret_masking, "mask_secret", recording_mask)
    monkeypatch.setattr(dag_module, "_run_inline_trigger", recording_run)
    return seen


def _connection(emulator: Any, **changes: Any) -> str:
    connection = emulator.connection
    connection.update(changes)
    return json.dumps(connection)


def _run(dag: Any, **conf: Any) -> Any:
    dag_run = dag.test(run_conf=conf or None)
    return dag_run


def _example(name: str) -> Any | None:
    """The ``dag`` of ``example_dags/<name>.py``, or None when that example does not exist."""
    path = Path(__file__).resolve().parents[2] / "example_dags" / f"{name}.py"
    if not path.is_file():
        return None
    return load_file(path).dag


def _run_examples(tmp_path: Path) -> list[Any]:
    """The example DAGs and the documented test DAGs, each run once; returns the dag runs."""
    quickstart = _example("example_twin_quickstart")
    assert quickstart is not None
    runs = []
    with mock.patch.object(quickstart.get_task("wait"), "poke_interval", 0.3):
        runs.append(_run(quickstart))
    delayed = _example("example_twin_delayed_with_cancel")
    if delayed is not None:
        runs.append(_run(delayed))

    from tests.integration.dags import messages_example, status_example

    path = tmp_path / "ready.csv"
    path.write_text("phone,var_name,var_order\n79990000010,Cy,A-1010\n", encoding="utf-8")
    runs.append(_run(messages_example.dag, recipients_file=str(path)))
    with mock.patch.object(status_example.dag.get_task("wait_for_delivery"), "poke_interval", 0.3):
        runs.append(_run(status_example.dag))
    return runs


def _stored_artifacts(runs: list[Any]) -> dict[str, str]:
    """XCom values, rendered fields, trigger rows and next_kwargs of the runs, as text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    texts: dict[str, str] = {}
    with create_session() as session:
        for dag_run in runs:
            where = f"{dag_run.dag_id}/{dag_run.run_id}"
            rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id)).all()
            texts[f"XCom of {where}"] = json.dumps(
                [(row.task_id, row.key, XComModel.deserialize_value(row)) for row in rows], default=str
            )
            rendered = session.scalars(
                select(RenderedTaskInstanceFields).where(
                    RenderedTaskInstanceFields.dag_id == dag_run.dag_id,
                    RenderedTaskInstanceFields.run_id == dag_run.run_id,
                )
            ).all()
            texts[f"rendered fields of {where}"] = json.dumps(
                [(row.task_id, row.rendered_fields) for row in rendered], default=str
            )
            tis = session.scalars(
                select(TaskInstance).where(
                    TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
                )
            ).all()
            texts[f"next_kwargs of {where}"] = json.dumps(
                [(ti.task_id, ti.next_method, ti.next_kwargs) for ti in tis], default=str
            )
        texts["trigger table"] = json.dumps(
            [(row.classpath, row.kwargs) for row in session.scalars(select(Trigger)).all()], default=str
        )
    return texts


def _log_files() -> dict[str, str]:
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    if not logs.is_dir():
        return {}
    return {
        f"log file {path}": path.read_text(encoding="utf-8", errors="replace")
        for path in logs.rglob("*")
        if path.is_file()
    }


def _database_bytes() -> dict[str, str]:
    home = Path(os.environ["AIRFLOW_HOME"])
    return {
        f"database file {path.name}": path.read_bytes().decode("latin-1")
        for path in home.glob("airflow.db*")
        if path.is_file()
    }


def test_no_secret_in_logs_xcom_rendered_fields_or_triggers(
    airflow_twin: Any,
    secrets_seen: Secrets,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    twin_emulator = airflow_twin
    admin = twin_emulator.admin
    account = twin_emulator.connection["login"]
    # Delivery takes longer than the gap between a send task and the sensor after it (seconds on
    # Airflow 3.2's dag.test()), so every delivery sensor's first check finds messages pending
    # and defers: the triggers it hands over are what this test scans.
    admin.update_settings(
        delivery_seconds=DELIVERY_SECONDS,
        accounts=[{"email": account, "password": PASSWORD, "company_id": 1}],
        outcome_rules=[{"status": "UNDELIVERED", "channel": "viber", "phone_suffix": "3"}],
    )
    # 1. E-mail and password.
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", _connection(twin_emulator, password=PASSWORD))
    runs = _run_examples(tmp_path)
    logins = admin.counters()["logins"]
    # 2. A static token from TWIN's API help tab.
    static = admin.mint_token(ttl=86400)
    secrets_seen.add_token(static)
    connection = json.loads(_connection(twin_emulator, login=None, password=None))
    connection["extra"]["api_token"] = static
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_DEFAULT", json.dumps(connection))
    runs.extend(_run_examples(tmp_path))

    with twin_emulator.state.lock:
        secrets_seen.values.update(twin_emulator.state.tokens._refresh)  # refresh tokens issued
    output = capfd.readouterr()

    assert {run.state for run in runs} == {"success"}, [(run.dag_id, run.state) for run in runs]
    assert logins >= 4, "the password runs did log in"
    assert admin.counters()["logins"] == logins, "the static-token runs must not log in"
    assert len(secrets_seen.values) >= 1 + 2 * 4 + 2, "tokens were collected"
    assert len(secrets_seen.triggers) >= 1, "deferrable sensors handed triggers over"
    assert PASSWORD not in JWT_SHAPE.pattern

    artifacts = {
        "task and trigger output (stdout)": output.out,
        "task and trigger output (stderr)": output.err,
        **_log_files(),
        **_stored_artifacts(runs),
        "serialized triggers": json.dumps(secrets_seen.triggers, default=str),
        **_database_bytes(),
    }
    assert sum(len(text) for text in artifacts.values()) > 10_000, "the artifacts were captured"
    assert "Validated" in output.out + output.err, "the tasks' log lines were captured"
    leaks = {name: found for name, text in artifacts.items() if (found := secrets_seen.found_in(text))}
    assert not leaks, f"secrets found: {leaks}"
