"""TWIN notify: send campaigns, follow their delivery, cancel delayed messages.

``api`` holds the endpoint calls (``POST/GET/DELETE /messages``); the other modules hold the
procedures built on them, each written once.
"""

from __future__ import annotations

from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.failed_destinations import scan_failed_destinations
from airflow_provider_twin.client.messages.status import check_delivery, delivery_breakdown
from airflow_provider_twin.client.messages.targets import TARGET_KINDS, Targets, read_ids
from airflow_provider_twin.client.messages.verdict import (
    FAILURE_STATUSES,
    SUCCESS_STATUSES,
    Criteria,
    DeliveryProgress,
)

__all__ = [
    "FAILURE_STATUSES",
    "SUCCESS_STATUSES",
    "TARGET_KINDS",
    "Criteria",
    "DeliveryProgress",
    "Problems",
    "Targets",
    "check_delivery",
    "delivery_breakdown",
    "read_ids",
    "scan_failed_destinations",
]
