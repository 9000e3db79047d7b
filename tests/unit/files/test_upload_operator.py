"""The hook's upload from a local path or an ObjectStoragePath, and TwinUploadFileOperator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.files import TwinUploadFileOperator

pytestmark = pytest.mark.usefixtures("twin_connection_env")

PDF = b"%PDF-1.4\n" + b"terms " * 100


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    path = tmp_path / "terms.pdf"
    path.write_bytes(PDF)
    return path


def test_hook_uploads_a_local_path_and_reads_it_back(terms: Path) -> None:
    hook = TwinHook()
    metadata = hook.upload_file(str(terms), private=True, ttl=600, path="dags")
    assert metadata["name"] == "terms.pdf"
    assert metadata["contentType"] == "application/pdf"
    assert metadata["size"] == len(PDF)
    downloaded = hook.download_file(metadata["id"])
    assert downloaded.data == PDF
    assert downloaded.name == "terms.pdf"
    hook.close()


def test_hook_reads_an_object_storage_path_through_its_open(terms: Path) -> None:
    source = ObjectStoragePath(f"file://{terms}")
    metadata = TwinHook().upload_file(source, name="conditions.pdf")
    assert metadata["name"] == "conditions.pdf"
    assert metadata["size"] == len(PDF)


def test_a_url_source_becomes_an_object_storage_path(terms: Path) -> None:
    metadata = TwinHook().upload_file(f"file://{terms}")
    assert metadata["name"] == "terms.pdf"


def _run(op: TwinUploadFileOperator) -> dict[str, Any]:
    return dict(op.execute(context={}))  # type: ignore[arg-type]


def test_operator_returns_the_summary(terms: Path, twin_emulator: TwinEmulator) -> None:
    summary = _run(TwinUploadFileOperator(task_id="upload", source=terms, ttl=3600))
    assert set(summary) == {"file_id", "name", "size", "content_type", "url", "download_link"}
    assert summary["name"] == "terms.pdf"
    assert summary["size"] == len(PDF)
    assert summary["content_type"] == "application/pdf"
    assert summary["url"].endswith(summary["file_id"])
    stored = twin_emulator.state.files.get(summary["file_id"], twin_emulator.state.now())
    assert stored is not None
    assert stored.data == PDF


def test_a_file_over_the_limit_fails_the_task_before_any_request(
    tmp_path: Path, twin_emulator: TwinEmulator
) -> None:
    big = tmp_path / "video.mp4"
    big.write_bytes(b"\0" * (10 * 1024 * 1024 + 1))
    with pytest.raises(AirflowFailException, match="video.mp4: larger than the 10 MB a file may have"):
        _run(TwinUploadFileOperator(task_id="upload", source=big))
    assert twin_emulator.admin.requests() == []


def test_a_type_twin_may_refuse_fails_before_any_request(tmp_path: Path, twin_emulator: TwinEmulator) -> None:
    script = tmp_path / "install.sh"
    script.write_text("echo hi")
    with pytest.raises(AirflowFailException, match="install.sh: content type .* is not accepted"):
        _run(TwinUploadFileOperator(task_id="upload", source=script))
    assert twin_emulator.admin.requests() == []


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"source": "a.pdf", "ttl": 0}, "ttl must be a positive number"),
        ({"source": "a.pdf", "private": "yes"}, "private must be True or False"),
        ({"source": ""}, "needs a source"),
    ],
)
def test_arguments_are_checked_when_the_dag_is_parsed(arguments: dict[str, Any], said: str) -> None:
    with pytest.raises(ValueError, match=said):
        TwinUploadFileOperator(task_id="upload", **arguments)


def test_max_file_bytes_refuses_a_larger_file_before_any_request(
    terms: Path, twin_emulator: TwinEmulator
) -> None:
    with pytest.raises(ValueError, match="max_file_bytes"):
        TwinUploadFileOperator(task_id="upload", source=terms, max_file_bytes=0)
    small = TwinUploadFileOperator(task_id="upload", source=terms, max_file_bytes=len(PDF) - 1)
    with pytest.raises(AirflowFailException, match="terms.pdf"):
        _run(small)
    assert twin_emulator.admin.requests(method="POST", route="/iam/api/v1/files") == []
    fits = TwinUploadFileOperator(task_id="upload", source=terms, max_file_bytes=len(PDF))
    assert _run(fits)["size"] == len(PDF)
