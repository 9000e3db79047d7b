"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_twin import __version__


def _url_field(label: str, default: str, description: str) -> dict[str, Any]:
    return {
        "label": label,
        "description": description,
        "schema": {"type": ["string", "null"], "format": "url", "default": default},
    }


#: The form of the ``twin`` connection (Airflow >= 3.2 reads it without importing the hook).
CONN_FIELDS: dict[str, Any] = {
    "company_id": {
        "label": "Company ID",
        "description": "TWIN company id sent at login (optional; for accounts in several companies).",
        "schema": {"type": ["integer", "null"], "minimum": 1},
    },
    # Not "token_ttl": Airflow masks the value of every field whose name contains "token".
    "auth_ttl": {
        "label": "Token lifetime (s)",
        "description": "Lifetime asked for each access token; renewed automatically before expiry "
        "(the extra auth_ttl; its old name token_ttl is still read).",
        "schema": {"type": ["integer", "null"], "default": 3600, "minimum": 60, "maximum": 604800},
    },
    "api_token": {
        "label": "API token",
        "description": "Static token from TWIN's 'API help' tab, instead of e-mail and password. "
        "It cannot be renewed: replace it when it expires.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "iam_url": _url_field("IAM URL", "https://iam.twin24.ai/api/v1", "TWIN IAM (auth) API base URL."),
    "notify_url": _url_field(
        "Notify URL", "https://notify.twin24.ai/api/v1", "TWIN notification (messages) API base URL."
    ),
    "chat_url": _url_field("Chat URL", "https://chat-api.twin24.ai/api/v1", "TWIN chat API base URL."),
    "centrifugo_url": {
        "label": "Realtime websocket URL",
        "description": "TWIN Centrifugo websocket for live chat events.",
        "schema": {
            "type": ["string", "null"],
            "default": "wss://twin24.ai/centrifugo/connection/websocket",
        },
    },
    "timeout": {
        "label": "Request timeout (s)",
        "description": "Read timeout of one request, in seconds (connect timeout is 5 s).",
        "schema": {"type": ["number", "null"], "default": 60, "minimum": 1},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of a failed call (429, 5xx, network errors) before giving up.",
        "schema": {"type": ["integer", "null"], "default": 4, "minimum": 0, "maximum": 20},
    },
    "user_id": {
        "label": "Chat widget user id",
        "description": "userId sent when connecting to TWIN's chat websocket (optional); "
        "a chat sensor's user_id overrides it.",
        "schema": {"type": ["string", "null"]},
    },
}


#: The ``[twin]`` section of Airflow's configuration: the webhook receiver (docs/webhooks.md).
CONFIG: dict[str, Any] = {
    "twin": {
        "description": "TWIN status webhooks received by Airflow's API server (docs/webhooks.md).",
        "options": {
            "webhook_secret": {
                "description": "Secret the per-asset tokens of the webhook URLs derive from (HMAC-SHA256). "
                "Without it the receiver refuses every call (503). Changing it changes every URL. "
                "Also AIRFLOW__TWIN__WEBHOOK_SECRET, or _CMD / _SECRET variants.",
                "version_added": "0.1.0",
                "type": "string",
                "example": None,
                "default": None,
                "sensitive": True,
            },
            "webhook_base_url": {
                "description": "URL at which TWIN reaches Airflow's API server; callbackUrls start with it.",
                "version_added": "0.1.0",
                "type": "string",
                "example": "https://airflow.example.com",
                "default": None,
            },
        },
    }
}


def _modules(*names: str) -> list[dict[str, Any]]:
    return [
        {
            "integration-name": "TWIN",
            "python-modules": [f"airflow_provider_twin.{name}" for name in names],
        }
    ]


def get_provider_info() -> dict[str, Any]:
    """Describe the provider: its connection type, hooks, operators, sensors and triggers."""
    return {
        "package-name": "airflow-provider-twin",
        "name": "TWIN",
        "description": "`TWIN <https://twin24.ai>`__ messaging platform: SMS, e-mail, push, "
        "WhatsApp, Viber, Telegram, VK, OK and chat-bot sessions.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "TWIN",
                "external-doc-url": "https://twin24.ai",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("hooks.twin"),
        "operators": _modules(
            "operators.messages",
            "operators.templates",
            "operators.files",
            "operators.chat",
            "operators.chat_sessions",
            "operators.chat_approval",
            "operators.send_jobs",
        ),
        "sensors": _modules("sensors.messages", "sensors.chat", "sensors.send_jobs"),
        "triggers": _modules(
            "triggers.messages",
            "triggers.chat",
            "triggers.message_events",
            "triggers.chat_events",
            "triggers.chat_approval",
            "triggers.send_jobs",
        ),
        "notifications": ["airflow_provider_twin.notifications.twin.TwinNotifier"],
        "config": CONFIG,
        "connection-types": [
            {
                "connection-type": "twin",
                "hook-class-name": "airflow_provider_twin.hooks.twin.TwinHook",
                "hook-name": "TWIN",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "port", "schema", "extra"],
                    "relabeling": {"login": "Account e-mail", "password": "Password"},
                    "placeholders": {
                        "login": "user@example.com (leave empty when using an API token)",
                        "password": "account password",
                    },
                },
            }
        ],
    }
