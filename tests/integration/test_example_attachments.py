"""The attachments example runs green against the emulator (``dag.test()``): the terms PDF is
uploaded from object storage once, the logo from a local path once, and both sends reach TWIN."""

from __future__ import annotations

from typing import Any

import pytest

from tests.file_modules import load_file
from tests.integration.test_example_dags import EXAMPLES, Run, records


@pytest.mark.integration
def test_attachments_example_uploads_each_file_once_and_sends(airflow_twin: Any) -> None:
    run = Run(load_file(EXAMPLES / "example_twin_attachments.py").dag)
    assert run.state == "success", run.states
    terms = run.value("upload_terms")
    assert terms["name"] == "order_terms.pdf"
    assert terms["content_type"] == "application/pdf"
    assert terms["size"] == (EXAMPLES / "data" / "order_terms.pdf").stat().st_size
    assert terms["url"].endswith(terms["file_id"])
    with airflow_twin.state.lock:
        stored = {item.name: item for item in airflow_twin.state.files.files.values()}
    assert sorted(stored) == ["order_terms.pdf", "shop_logo.png"]
    assert stored["shop_logo.png"].data == (EXAMPLES / "data" / "shop_logo.png").read_bytes()
    assert stored["order_terms.pdf"].path.startswith("examples/terms/")
    assert run.value("send_terms")["accepted"] == 2
    assert run.value("send_logo")["accepted"] == 2
    assert len(records(airflow_twin)) == 4


@pytest.mark.integration
@pytest.mark.twin_strict
def test_attachments_example_passes_strict_mode(airflow_twin: Any) -> None:
    run = Run(load_file(EXAMPLES / "example_twin_attachments.py").dag)
    assert run.state == "success", run.states
