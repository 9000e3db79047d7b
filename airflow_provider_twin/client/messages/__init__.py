"""TWIN notify: send campaigns, follow their delivery, cancel delayed messages.

``api`` holds the endpoint calls (``POST/GET/DELETE /messages``); the other modules hold the
procedures built on them, each written once.
"""

from __future__ import annotations

from airflow_provider_twin.client.core.problems import Problems

__all__ = [
    "Problems",
]
