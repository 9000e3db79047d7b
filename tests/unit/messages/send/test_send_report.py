"""What a send reports: masked rejected destinations, progress lines, and the log lines of a result."""

from __future__ import annotations

from airflow_provider_twin.client.messages import Chunk, SendProgress, SendReport, redact_destination
from airflow_provider_twin.client.messages.send_report import ChunkResult


def test_redaction() -> None:
    assert redact_destination(
        {"phone": "79991234567", "email": "ann@example.com", "variables": {"a": 1}}
    ) == {
        "phone": "79*******67",
        "email": "a***@example.com",
    }
    assert redact_destination({"clientId": "abc"}) == {"clientId": "***"}


def test_progress_text() -> None:
    progress = SendProgress(done=2500, total=10000, chunks_done=3, elapsed=2.0)
    assert progress.rate == 1250
    assert progress.eta == 6
    assert progress.describe() == "sent 2500/10000 recipients (25.0%) in 3 chunk(s), 1250/s, ETA 6 s"
    assert SendProgress(0, 10, 0, 0.0).eta is None


def test_result_and_warning_lines() -> None:
    destinations: list[dict[str, str]] = [{"phone": f"7999000{i:04d}"} for i in range(25)]
    chunk = Chunk(0, "b0", [], 0, destinations)  # type: ignore[arg-type]
    items = [
        {"id": None if i % 2 else f"m{i}", "channel": "SMS", "error": {"message": "no"} if i % 2 else None}
        for i in range(25)
    ]
    report = SendReport(total=26)
    report.add(ChunkResult(chunk, "sent", items))  # type: ignore[arg-type]
    report.add(ChunkResult(Chunk(1, "b1", [], 25, [{"phone": "79990000099"}]), "skipped"))
    assert report.result_line() == (
        "TWIN accepted 13 and rejected 12 of 26 recipient(s); 1 chunk(s) (1 recipients) TWIN already "
        "held (an earlier try, or an answer lost on the way) were not sent again; per channel: SMS 13"
    )
    warnings = report.warning_lines(listed=10)
    assert warnings[0] == "rejected: recipient 1 (phone 79*******01): no"
    assert warnings[-1] == "... and 2 more rejected item(s)"
    assert report.rejected_beyond(None) is None
    assert report.rejected_beyond(0.5) is None
    assert report.rejected_beyond(0.4) == "TWIN rejected 12 of 25 message(s) (48.0%)"
    assert report.rejected_beyond(0.48) is None
    assert report.stop_line().startswith("TWIN send stopped: 26 of 26 recipient(s) in 2 chunk(s)")
