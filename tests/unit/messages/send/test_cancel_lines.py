"""The cancel operator's log line names statuses and counts, not a dict's repr."""

from __future__ import annotations

from unittest import mock

from airflow_provider_twin.operators.messages import TwinCancelMessagesOperator
from tests.unit.messages.send.conftest import Twin
from tests.unit.messages.send.operator_runs import cancel, context, logged, operator


def test_the_cancel_line_lists_statuses_as_words(twin: Twin) -> None:
    sent = operator(
        recipients=[{"phone": f"7999{i:07d}"} for i in range(3)],
        channels=["sms"],
        send_at="2099-01-01T10:00:00+00:00",
    ).execute(context())
    log = mock.MagicMock()
    with mock.patch.object(
        TwinCancelMessagesOperator, "log", new_callable=mock.PropertyMock, return_value=log
    ):
        cancel(bulk_ids=sent["bulk_ids"]).execute(context())
    (line,) = [text for text in logged(log, "info") if text.startswith("TWIN cancel:")]
    assert line.endswith("; statuses CANCELLED 3"), line
