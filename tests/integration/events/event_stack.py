"""A real Airflow for the event tests and the latency benchmark, and how they read what it recorded.

The UI tests' :class:`~tests.ui.airflow_stack.AirflowStack` (a fresh SQLite home, then
``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as child processes of
this interpreter's Airflow, on loopback), here on the DAGs of ``dags/`` (or any folder) with what
event-driven scheduling needs:

* DAGs unpaused at creation. Airflow runs an asset's watchers only while a DAG scheduled on
  the asset is active and unpaused (the DAG processor registers their triggers when it writes
  the DAG); a paused DAG's watchers do not poll TWIN at all.
* A triggerer that heartbeats every second and counts as dead after a few seconds without one,
  so that after a crash (SIGKILL) the restarted triggerer takes the watchers over within
  seconds rather than after Airflow's default 30 s.
* The webhook receiver's ``[twin] webhook_secret`` and ``webhook_base_url`` (this API server).

The readers go through Airflow's public REST API only: the asset events of an asset
(``/api/v2/assets/events``), a DAG's runs and the asset events that triggered a run
(``/api/v2/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents``).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_provider_twin.emulator import TwinEmulator
from tests.ui.airflow_stack import AirflowStack

DAGS = Path(__file__).resolve().parent / "dags"
#: What Airflow's REST API returns at most per page (``[api] maximum_page_limit``).
PAGE = 100
#: The triggerer's heartbeat and after how long without one it counts as dead (seconds).
TRIGGERER_HEARTBEAT = 1
TRIGGERER_DEAD_AFTER = 8


class EventStack(AirflowStack):
    """Airflow's four components on the event DAGs, with readers of asset events and runs."""

    def __init__(
        self,
        workdir: Path,
        emulator: TwinEmulator,
        dag_ids: list[str],
        *,
        dags_folder: Path = DAGS,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        #: The receiver's master secret; a test builds callback URLs with it.
        self.webhook_secret = secrets.token_urlsafe(32)
        settings = {
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": str(TRIGGERER_HEARTBEAT),
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(TRIGGERER_DEAD_AFTER),
            "AIRFLOW__TWIN__WEBHOOK_SECRET": self.webhook_secret,
            **(extra_env or {}),
        }
        super().__init__(workdir, emulator, dags_folder=dags_folder, dag_ids=dag_ids, extra_env=settings)
        self.env.setdefault("AIRFLOW__TWIN__WEBHOOK_BASE_URL", self.base_url)

    # -- reading what Airflow recorded -----------------------------------------------------------
    def pages(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged REST listing (``key`` names the list in each page)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.api("GET", path, params={**params, "limit": PAGE, "offset": len(items)})
            items.extend(page[key])
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    def asset_id(self, name: str) -> int | None:
        """The id of the asset called ``name`` (None until the DAG processor has written it)."""
        assets = self.pages("/api/v2/assets", "assets", name_pattern=name)
        ids = [asset["id"] for asset in assets if asset["name"] == name]
        return int(ids[0]) if ids else None

    def asset_events(self, name: str) -> list[dict[str, Any]]:
        """The asset events of the asset ``name``, oldest first."""
        asset_id = self.asset_id(name)
        if asset_id is None:
            return []
        return self.pages("/api/v2/assets/events", "asset_events", asset_id=asset_id, order_by="timestamp")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """A DAG's runs, oldest first."""
        return self.pages(f"/api/v2/dags/{dag_id}/dagRuns", "dag_runs", order_by="id")

    def triggering_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The asset events that triggered a run (what the run sees as ``triggering_asset_events``)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents"
        events: list[dict[str, Any]] = self.api("GET", path)["asset_events"]
        return events

    def wait_for_events(
        self, asset: str, count: int, timeout: float, *, matching: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Wait until ``asset`` has at least ``count`` events whose payload holds ``matching``."""

        def enough() -> list[dict[str, Any]] | None:
            found = [e for e in self.asset_events(asset) if payload_matches(e, matching or {})]
            return found if len(found) >= count else None

        return self.wait_for(
            f"{count} event(s) of {asset} like {matching}", enough, time.monotonic() + timeout
        )

    def wait_for_run_of(self, dag_id: str, event_id: str, timeout: float) -> dict[str, Any]:
        """Wait for a run of ``dag_id`` that ``event_id`` triggered; the run, with its ``events``."""

        def triggered() -> dict[str, Any] | None:
            for run in self.dag_runs(dag_id):
                events = self.triggering_events(dag_id, run["dag_run_id"])
                if event_id in event_ids(events):
                    return {**run, "events": events}
            return None

        return self.wait_for(f"a run of {dag_id} for {event_id}", triggered, time.monotonic() + timeout)


def payload(event: Mapping[str, Any]) -> dict[str, Any]:
    """The TWIN event an asset event carries (watchers and webhooks alike put it in ``payload``)."""
    extra = event.get("extra") or {}
    found = extra.get("payload")
    return dict(found) if isinstance(found, Mapping) else {}


def payload_matches(event: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    """Whether the event's payload holds every key of ``expected`` with that value."""
    found = payload(event)
    return all(found.get(key) == value for key, value in expected.items())


def event_ids(events: list[dict[str, Any]]) -> list[str]:
    """The TWIN event ids of asset events, in their order (repeats kept)."""
    return [str(payload(event).get("event_id")) for event in events]


def repeats(ids: list[str]) -> dict[str, int]:
    """The ids that occur more than once, with how often."""
    return {key: count for key, count in Counter(ids).items() if count > 1}
