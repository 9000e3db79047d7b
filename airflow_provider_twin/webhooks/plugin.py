"""The Airflow plugin that serves the TWIN webhook receiver on Airflow's API server.

Registered through the ``airflow.plugins`` entry point of this package, so installing the
provider is enough: ``airflow api-server`` mounts :func:`.receiver.create_app` under
``/twin-webhooks`` (``airflow plugins`` lists it as ``twin_webhooks``). The app is built once per
API server worker process; each has its own dedupe memory (see docs/webhooks.md).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_twin.webhooks.callback_urls import URL_PREFIX
from airflow_provider_twin.webhooks.receiver import create_app


class TwinWebhooksPlugin(AirflowPlugin):
    """Receives TWIN status webhooks (``callbackUrl``) and records them as asset events."""

    name = "twin_webhooks"
    fastapi_apps: list[Any] = [  # noqa: RUF012 - Airflow reads this class attribute
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "TWIN status webhooks"}
    ]


__all__ = ["TwinWebhooksPlugin"]
