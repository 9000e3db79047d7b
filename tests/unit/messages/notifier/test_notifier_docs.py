"""The notifications docs page covers the API (its examples are included from the DAG file)."""

from __future__ import annotations

import inspect
from pathlib import Path

from airflow_provider_twin.client.messages.text_fitting import TRUNCATION_MARKER
from airflow_provider_twin.notifications.event import CallbackEvent
from airflow_provider_twin.notifications.templates import DEFAULT_TEXT
from airflow_provider_twin.notifications.twin import TwinNotifier

REPO = Path(__file__).resolve().parents[4]
DOC = REPO / "docs" / "notifications.md"


def test_docs_mention_every_argument_and_template_field() -> None:
    doc = DOC.read_text()
    arguments = [name for name in inspect.signature(TwinNotifier.__init__).parameters if name != "self"]
    missing = [name for name in [*arguments, *TwinNotifier.template_fields] if f"`{name}`" not in doc]
    assert not missing, f"arguments missing from {DOC.name}: {missing}"


def test_docs_mention_every_template_name() -> None:
    doc = DOC.read_text()
    names = CallbackEvent(scope="task", kind="failed", event="failed").template_variables()
    missing = [name for name in names if f"`{name}`" not in doc]
    assert not missing, f"template names missing from {DOC.name}: {missing}"


def test_docs_state_the_defaults_and_the_marker() -> None:
    doc = DOC.read_text()
    assert "Airflow: {{ summary }} {{ log_url }} {{ error }}" in doc
    assert DEFAULT_TEXT.startswith("Airflow: {{ summary }}")
    assert f"`{TRUNCATION_MARKER}`" in doc
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(TwinNotifier.__init__).parameters.items()
        if parameter.default is not inspect.Parameter.empty and parameter.default is not None
    }
    for name, default in defaults.items():
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        assert f"| `{name}` | `{shown}` |" in doc, name
