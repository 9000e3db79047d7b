"""TwinCancelMessagesOperator against the emulator: ids read once, kinds cancelled apart, idempotent."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import read_cancel_targets, read_ids
from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator
from tests.unit.messages.send.conftest import Twin
from tests.unit.messages.send.operator_runs import cancel, context, operator
from tests.unit.messages.twin_wire import DELETE


def send(count: int, delayed: bool = True, run_id: str = "r1", batch_size: int = 1000) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"send_at": "2099-01-01T10:00:00+00:00"} if delayed else {}
    op = operator(
        recipients=[{"phone": f"7999{i:07d}"} for i in range(count)],
        channels=["sms"],
        text="Hello",
        batch_size=batch_size,
        **kwargs,
    )
    return op.execute(context(run_id=run_id))


def test_needs_ids_and_a_sane_request_size() -> None:
    with pytest.raises(ValueError, match="needs message_ids, bulk_ids, group_ids or flow_ids"):
        cancel()
    with pytest.raises(
        ValueError, match=r"max_ids_per_request must be a whole \(finite\) number of at least 1"
    ):
        cancel(bulk_ids=["b"], max_ids_per_request=0)
    assert set(TwinCancelMessagesOperator.template_fields) == {
        "message_ids",
        "bulk_ids",
        "group_ids",
        "flow_ids",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("a", ["a"]),
        ("a, b,,c", ["a", "b", "c"]),
        ('["a", "b"]', ["a", "b"]),
        (["a,b", "c"], ["a", "b", "c"]),
        (("a",), ["a"]),
        ([12], ["12"]),
    ],
)
def test_id_lists(value: Any, expected: list[str]) -> None:
    assert read_ids("bulk_ids", value) == expected
    assert read_cancel_targets(bulk_ids=value)["bulk_ids"] == list(dict.fromkeys(expected))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"bulk_ids": ["a"]}, "bulk_ids: expected a list of ids, got dict"),
        ([None], "bulk_ids: ids must be strings, got None"),
        ("[oops", "bulk_ids: cannot read a list of ids from '\\[oops'"),
        (3.5, "bulk_ids: expected a list of ids, got float"),
    ],
)
def test_bad_id_lists(value: Any, message: str, twin: Twin) -> None:
    with pytest.raises(TwinInputError, match=message):
        read_cancel_targets(bulk_ids=value)
    with pytest.raises(AirflowFailException, match=message):
        cancel(bulk_ids=value).execute(context())
    assert twin.requests[DELETE] == 0


def test_cancels_a_delayed_send_by_its_bulk_ids(twin: Twin) -> None:
    summary = send(25, batch_size=10)
    result = cancel(bulk_ids=summary["bulk_ids"], max_ids_per_request=2).execute(context())
    bodies = twin.wire.bodies[DELETE]
    assert [body["bulkId"].count(",") + 1 for body in bodies] == [2, 1]
    assert all(body["id"] is None and body["groupId"] is None for body in bodies)
    cancelled_ids = result.pop("cancelled_message_ids")
    assert sorted(cancelled_ids) == sorted(summary["message_ids"])
    assert result == {
        "requested": {"message_ids": 0, "bulk_ids": 3, "group_ids": 0, "flow_ids": 0},
        "requests": 2,
        "matched": 25,
        "cancelled": 25,
        "not_cancellable": 0,
        "statuses": {"CANCELLED": 25},
        "errors": [],
        "cancelled_message_ids_truncated": False,
    }


def test_is_idempotent_and_counts_what_could_not_be_cancelled(twin: Twin) -> None:
    delayed = send(3)
    sent = send(2, delayed=False, run_id="r2")
    op = cancel(bulk_ids=delayed["bulk_ids"] + sent["bulk_ids"])
    first = op.execute(context())
    again = op.execute(context())  # a retry of the task: already cancelled is not an error
    for result in (first, again):
        assert (result["matched"], result["cancelled"], result["not_cancellable"]) == (5, 3, 2)
        assert result["statuses"] == {"CANCELLED": 3, "PENDING": 2}


def test_kinds_are_cancelled_separately_and_deduplicated(twin: Twin) -> None:
    summary = send(4)
    first, second = summary["message_ids"][:2]
    result = cancel(
        bulk_ids=summary["bulk_ids"], group_ids=summary["group_id"], message_ids=f"{first},{second},{first}"
    ).execute(context())
    bodies = twin.wire.bodies[DELETE]
    assert len(bodies) == 3
    assert [sorted(k for k, v in body.items() if v) for body in bodies] == [
        ["id"],
        ["bulkId"],
        ["groupId"],
    ]
    assert result["requested"] == {"message_ids": 2, "bulk_ids": 1, "group_ids": 1, "flow_ids": 0}
    assert (result["matched"], result["cancelled"]) == (4, 4)  # each message counted once


def test_fail_if_nothing_cancelled(twin: Twin) -> None:
    sent = send(2, delayed=False)
    with pytest.raises(AirflowFailException, match=r"nothing was cancelled: 2 message\(s\) matched"):
        cancel(bulk_ids=sent["bulk_ids"], fail_if_nothing_cancelled=True).execute(context())
    assert cancel(bulk_ids=sent["bulk_ids"]).execute(context())["cancelled"] == 0


def test_empty_id_lists_send_nothing(twin: Twin) -> None:
    result = cancel(bulk_ids=[], group_ids="").execute(context())
    assert (result["requests"], result["matched"]) == (0, 0)
    assert twin.requests[DELETE] == 0
    with pytest.raises(AirflowFailException, match="nothing was cancelled"):
        cancel(bulk_ids=[], fail_if_nothing_cancelled=True).execute(context())


def test_cancelled_ids_are_capped(twin: Twin) -> None:
    summary = send(30)
    result = cancel(bulk_ids=summary["bulk_ids"], max_message_ids_in_xcom=10).execute(context())
    assert result["cancelled"] == 30
    assert len(result["cancelled_message_ids"]) == 10
    assert result["cancelled_message_ids_truncated"] is True


def test_items_with_errors_are_reported(twin: Twin) -> None:
    error = {"message": "already processing", "file": "x", "line": 1, "trace": []}
    answer = [{"id": "m1", "status": "PENDING", "error": error}, {"id": "m2", "status": "CANCELED"}]
    twin.wire.rewrite(DELETE, lambda body, items: answer)
    result = cancel(message_ids=["m1", "m2"]).execute(context())
    assert (result["cancelled"], result["not_cancellable"]) == (1, 1)
    assert result["errors"] == [{"id": "m1", "status": "PENDING", "error": error}]


def test_errors_map_to_airflow_outcomes(twin: Twin) -> None:
    twin.fault("DELETE", status=422, body={"error": "bad id"}, times=1)
    with pytest.raises(AirflowFailException, match="HTTP 422"):
        cancel(message_ids="x").execute(context())
    twin.fault("DELETE", status=502, times=4)
    with pytest.raises(AirflowException) as raised:
        cancel(message_ids="x").execute(context())
    assert not isinstance(raised.value, AirflowFailException)
    assert twin.requests[DELETE] == 5  # a cancel is safe to repeat: the engine retried it
