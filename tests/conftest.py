"""Test-wide set-up: an isolated Airflow home, the emulator fixtures, loopback only.

Airflow reads its configuration from the environment when first imported, so the
environment is prepared here, at import time, before any test module imports Airflow.

``make test`` runs the suite in several processes (pytest-xdist). Each of them imports this
file, so each has its own Airflow home, SQLite metadata database and emulator (on a free
loopback port); the database is migrated once per run and copied to the other processes.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DAG_SOURCES = (REPO / "tests" / "integration" / "dags", REPO / "example_dags")

_HOME = Path(tempfile.mkdtemp(prefix="twin-airflow-home-"))
_DAGS = _HOME / "dags"
_DAGS.mkdir()
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW_CONN_TWIN_DEFAULT", None)
# The emulator is reached over loopback; never let a proxy setting send it elsewhere.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
# The emulator holds the provider to what TWIN's documents make explicit (its strict mode), in
# every emulator the suite starts, in process or as a child (docs/emulator.md, "Strict mode").
# The emulator's own tests choose per test (tests/emulator/conftest.py).
os.environ.setdefault("TWIN_EMULATOR_STRICT", "1")

pytest_plugins = ["airflow_provider_twin.emulator.pytest_plugin"]


def _link_dag_files() -> None:
    for source in DAG_SOURCES:
        if not source.is_dir():
            continue
        for path in source.glob("*.py"):
            if path.name == "__init__.py":
                continue
            target = _DAGS / f"{source.name}__{path.name}"
            if not target.exists():
                target.symlink_to(path)
        data = source / "data"
        if data.is_dir() and not (_DAGS / "data").exists():
            (_DAGS / "data").symlink_to(data)


def _migrate() -> None:
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
        timeout=300,
    )


def _close_pooled_connections() -> None:
    """Close the connections this process's Airflow pooled (sync and async) to the metadata database."""
    from airflow import settings

    if settings.engine is not None:
        settings.engine.dispose()
    if settings.async_engine is not None:
        settings.async_engine.sync_engine.dispose()


def _copy_database(source: Path, target: Path) -> None:
    """Copy a SQLite database into ``target`` through SQLite itself (its backup API).

    Airflow opens SQLite in WAL mode: committed pages may still sit in ``<db>-wal``, which a file
    copy would miss, and replacing the file under open connections leaves them reading (and, when
    they close, checkpointing) a file that is gone while new ones read the new one. The backup
    API reads the source as a reader and writes the target in place, under SQLite's own locks.
    """
    with (
        closing(sqlite3.connect(source, timeout=60)) as reader,
        closing(sqlite3.connect(target, timeout=60)) as writer,
    ):
        reader.backup(writer)


def _migrated_database(shared: Path | None) -> None:
    """Migrate ``$AIRFLOW_HOME/airflow.db``, or copy the migrated one another process of this run made.

    ``shared`` is a folder all processes of one pytest-xdist run share (None without xdist). The
    first process to get there migrates and leaves a copy; the others copy it (a file copy instead
    of a second ``airflow db migrate``, whose start-up and migrations take seconds of CPU each).
    """
    database = _HOME / "airflow.db"
    if shared is None:
        _migrate()
        return
    template = shared / "migrated-airflow.db"
    _close_pooled_connections()  # none may hold the database while it is rewritten
    with (shared / "migrated-airflow.db.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if template.exists():
            _copy_database(template, database)
        else:
            _migrate()
            _copy_database(database, template)
    _close_pooled_connections()  # nor read a schema cached from before


def _reuse_one_in_process_execution_api() -> None:
    """Give ``dag.test()`` one in-process Execution API for all its tasks, as Airflow 3.3 does.

    Airflow 3.2's ``dag.test()`` builds a new FastAPI app (the routes and models of every API
    version) for each task it runs and each trigger it runs inline, about 3 s of CPU each, and
    leaves the event loop thread of each running: that made the suite take more than twice as
    long on Airflow 3.2 as on 3.3. Airflow 3.3 caches that app (apache/airflow#65235); this does
    the same where Airflow does not, with that change's removal of the DAG-bag override for
    the triggers' client. What the tasks and triggers do, and what the API answers, is unchanged.
    """
    from airflow.sdk.execution_time import supervisor

    if hasattr(supervisor.in_process_api_server, "cache_clear"):
        return  # Airflow 3.3 and later
    supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)
    build_client = supervisor.InProcessTestSupervisor._api_client

    def api_client(dag: Any = None) -> Any:
        if dag is None:
            from airflow.api_fastapi.common.dagbag import dag_bag_from_app

            supervisor.in_process_api_server().app.dependency_overrides.pop(dag_bag_from_app, None)
        return build_client(dag)

    supervisor.InProcessTestSupervisor._api_client = staticmethod(api_client)


@pytest.fixture(scope="session", autouse=True)
def _one_execution_api_per_dag_test() -> None:
    _reuse_one_in_process_execution_api()


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite metadata database and a DAGs folder holding the test and example DAGs."""
    _link_dag_files()
    in_xdist_run = "PYTEST_XDIST_WORKER" in os.environ
    _migrated_database(tmp_path_factory.getbasetemp().parent if in_xdist_run else None)
    return _HOME


@pytest.fixture
def airflow_twin(airflow_db: Path, twin_emulator, twin_connection_env):  # type: ignore[no-untyped-def]
    """A migrated Airflow whose ``twin_default`` connection points at a fresh emulator."""
    return twin_emulator
