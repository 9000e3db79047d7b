"""Airflow notifiers that send TWIN messages from task, DAG and deadline callbacks."""

from __future__ import annotations

from airflow_provider_twin.notifications.twin import TwinNotifier, send_twin_notification

__all__ = ["TwinNotifier", "send_twin_notification"]
