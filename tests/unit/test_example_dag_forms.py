"""Every example DAG triggers from the Airflow UI's form with its defaults, and says what it is.

The form is built from the params as the API serves them (the serialized DAG's param specs:
value, JSON schema, description). Its rules, as Airflow 3.2-3.3's trigger form applies them:

* a field whose schema has a ``type`` without ``"null"`` is required, and an empty required
  field (no value, ``""``) keeps the Trigger button disabled;
* an ``array`` whose ``items`` have no type or the type ``string`` is edited as lines of text,
  so objects in it show as ``[object Object]``; other arrays get a JSON editor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.file_modules import load_file

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
DAG_FILES = sorted(EXAMPLES.glob("example_*.py"))


def form_fields(dag: Any) -> dict[str, dict[str, Any]]:
    """The params as the API serves them to the trigger form (``GET /api/v2/dags/{id}/details``)."""
    from airflow.serialization.serialized_objects import DagSerialization

    served = DagSerialization.from_dict(DagSerialization.to_dict(dag)).params
    return {name: served.get_param(name).dump() for name in served}


def required_in_form(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return bool(kind) and not (isinstance(kind, list) and "null" in kind)


def edited_as_lines(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    items = schema.get("items") or {}
    return "array" in kinds and items.get("type") in (None, "string")


@pytest.fixture(params=DAG_FILES, ids=[path.stem for path in DAG_FILES])
def dag(request: pytest.FixtureRequest) -> Any:
    return load_file(request.param).dag


def test_the_examples_are_all_here() -> None:
    # At least the examples of the first release; test_docs_examples.py checks each is listed.
    assert len(DAG_FILES) >= 9


def test_the_defaults_are_valid_params(dag: Any) -> None:
    dag.params.validate()


def test_no_required_field_of_the_form_is_empty(dag: Any) -> None:
    for name, field in form_fields(dag).items():
        if required_in_form(field["schema"]):
            assert field["value"] not in (None, ""), f"{dag.dag_id}: {name} is required and empty"


def test_lists_of_objects_are_edited_as_json(dag: Any) -> None:
    for name, field in form_fields(dag).items():
        value = field["value"]
        if isinstance(value, list) and any(not isinstance(item, str) for item in value):
            assert not edited_as_lines(field["schema"]), f"{dag.dag_id}: {name} would show [object Object]"


def test_every_example_describes_itself(dag: Any) -> None:
    assert dag.description
    assert {"example", "twin"} <= set(dag.tags)
    assert (dag.doc_md or "").strip()


def test_the_campaign_fields_are_optional_and_say_which_date_has_reminders() -> None:
    fields = form_fields(load_file(EXAMPLES / "example_twin_reminder_campaign.py").dag)
    for name in ("campaign_date", "recipients_file", "report_file"):
        assert not required_in_form(fields[name]["schema"]), name
        assert fields[name]["value"] is None, name
    assert fields["campaign_date"]["schema"]["format"] == "date"  # a date picker
    assert "2026-03-02" in fields["campaign_date"]["description"]


def test_an_emptied_cancellation_list_keeps_the_reminder() -> None:
    module = load_file(EXAMPLES / "example_twin_delayed_with_cancel.py")
    fields = form_fields(module.dag)
    assert not required_in_form(fields["cancelled_appointments"]["schema"])
    module.dag.params.validate()
    check = module.dag.get_task("check_booking").python_callable
    assert check("APT-1042", {"cancelled_appointments": None}) == "keep_reminder"
    assert check("APT-1042", {"cancelled_appointments": ["APT-1042"]}) == "cancel_reminder"
