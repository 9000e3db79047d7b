"""TWIN status webhooks as Airflow asset events: an Airflow plugin on the API server.

TWIN POSTs a message's status changes to the ``callbackUrl`` it was sent with (twin-api.md
§3.2.7). :func:`callback_url` gives the URL for an asset (with its token); the plugin
(:mod:`.plugin`, app in :mod:`.receiver`) checks the token and records an asset event whose
extra is ``{"from_webhook": true, "payload": <the event>}``. See docs/webhooks.md.

Importing this package needs neither FastAPI nor Airflow's server: only the URL functions load.
"""

from __future__ import annotations

from airflow_provider_twin.webhooks.callback_urls import URL_PREFIX, callback_url, webhook_token

__all__ = ["URL_PREFIX", "callback_url", "webhook_token"]
