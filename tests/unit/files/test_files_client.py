"""File storage on the client: limits before any request, the SDK's multipart shape, upload and download."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from airflow_provider_twin.client import (
    AsyncTwinClient,
    RetryPolicy,
    TwinClient,
    TwinClientConfig,
    TwinCredentials,
    TwinEndpoints,
    TwinInputError,
)
from airflow_provider_twin.client.core.engine import Engine
from airflow_provider_twin.client.files import (
    FileLimits,
    download_file,
    file_summary,
    prepare_upload,
    upload_files,
    upload_procedure,
)
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.emulator.multipart_form import parse_form

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _config(emulator: TwinEmulator) -> TwinClientConfig:
    base = emulator.base_url
    return TwinClientConfig(
        retry=RetryPolicy(backoff_initial=0.001, backoff_max=0.005),
        credentials=TwinCredentials(
            email=emulator.connection["login"], password=emulator.connection["password"]
        ),
        endpoints=TwinEndpoints(
            iam_url=f"{base}/iam/api/v1", notify_url=f"{base}/notify/api/v1", chat_url=f"{base}/chat/api/v1"
        ),
    )


@pytest.fixture
def twin(twin_emulator: TwinEmulator) -> Iterator[TwinClient]:
    with TwinClient(_config(twin_emulator)) as client:
        yield client


def test_the_upload_is_the_multipart_form_the_sdk_sends() -> None:
    config = TwinClientConfig(TwinCredentials(api_token="t"))
    upload = prepare_upload(PNG, "logo.png")
    call = upload_files([upload.part()], private=True, path="campaigns", ttl=600)
    request = Engine(config).build_request(call, "t")
    assert request.method == "POST"
    assert str(request.url) == "https://iam.twin24.ai/api/v1/files"
    assert request.headers["Authorization"] == "Bearer t"
    parts = parse_form(request.read(), request.headers["Content-Type"])
    files = [part for part in parts if part.filename is not None]
    fields = {part.name: part.text for part in parts if part.filename is None}
    assert [(part.name, part.filename, part.content_type, part.data) for part in files] == [
        ("file[]", "logo.png", "image/png", PNG)
    ]
    assert fields == {"private": "1", "path": "campaigns", "ttl": "600"}


def test_a_public_upload_says_so_and_sends_no_unset_field() -> None:
    call = upload_files([prepare_upload(b"hi", "a.txt").part()])
    request = Engine(TwinClientConfig(TwinCredentials(api_token="t"))).build_request(call, "t")
    fields = {part.name: part.text for part in parse_form(request.read(), request.headers["Content-Type"])}
    assert fields == {"private": "0", "file[]": "hi"}


@pytest.mark.parametrize(
    ("data", "name", "kind", "said"),
    [
        (b"x" * 11, "big.png", None, "big.png: larger than the 10 bytes a file may have"),
        (
            b"MZ",
            "tool.exe",
            "application/x-msdownload",
            "tool.exe: content type application/x-msdownload is not",
        ),
        (b"", "empty.txt", None, "empty.txt: the file is empty"),
        (b"x", "data.unknown-kind", None, "data.unknown-kind: content type application/octet-stream"),
        (b"x", "", None, "name: '' is not a file name"),
    ],
    ids=["size", "type", "empty", "unknown-type", "no-name"],
)
def test_limits_name_the_file_and_the_limit(data: bytes, name: str, kind: str | None, said: str) -> None:
    with pytest.raises(TwinInputError) as caught:
        prepare_upload(data, name, content_type=kind, limits=FileLimits(max_bytes=10))
    assert said in str(caught.value)
    assert "nothing was uploaded" in str(caught.value)


def test_a_big_file_object_is_not_read_past_the_limit() -> None:
    stream = io.BytesIO(b"x" * 1000)
    with pytest.raises(TwinInputError):
        prepare_upload(stream, "big.txt", limits=FileLimits(max_bytes=10))
    assert stream.tell() == 11


def test_a_given_content_type_wins_over_the_name() -> None:
    assert prepare_upload(b"x", "photo.bin", content_type="image/jpeg").content_type == "image/jpeg"


def test_nothing_reaches_twin_when_a_limit_is_broken(twin: TwinClient, twin_emulator: TwinEmulator) -> None:
    uploads = [prepare_upload(b"x", f"{n}.txt") for n in range(11)]
    with pytest.raises(TwinInputError, match="11 files; one upload carries at most 10"):
        twin.run(upload_procedure(uploads))
    with pytest.raises(TwinInputError, match="ttl: must be a positive number"):
        twin.run(upload_procedure(uploads[:1], ttl=0))
    assert twin_emulator.admin.requests() == []


@pytest.mark.twin_strict
def test_upload_and_download_round_trip(twin: TwinClient) -> None:
    uploads = [prepare_upload(PNG, "logo.png"), prepare_upload("Привет".encode(), "отчёт.txt")]
    logo, report = twin.run(upload_procedure(uploads, private=True, path="dags", ttl=3600))
    assert logo["name"] == "logo.png"
    assert report["name"] == "отчёт.txt"
    assert logo["isPrivate"] is True
    downloaded = twin.send(download_file(report["id"]))
    assert downloaded.data == "Привет".encode()
    assert downloaded.name == "отчёт.txt"
    assert downloaded.content_type == "text/plain"
    summary = file_summary(logo)
    assert summary == {
        "file_id": logo["id"],
        "name": "logo.png",
        "size": len(PNG),
        "content_type": "image/png",
        "url": None,
        "download_link": None,  # a signed link in XCom would give access to a private file
    }
    public = file_summary({**logo, "isPrivate": False, "url": "https://f/1", "downloadLink": "https://f/1/d"})
    assert (public["url"], public["download_link"]) == ("https://f/1", "https://f/1/d")


async def test_the_async_client_runs_the_same_procedure(twin_emulator: TwinEmulator) -> None:
    client = AsyncTwinClient(_config(twin_emulator))
    try:
        (stored,) = await client.run(upload_procedure([prepare_upload(PNG, "logo.png")], ttl=60))
        downloaded = await client.send(download_file(stored["id"]))
    finally:
        await client.aclose()
    assert stored["isPrivate"] is False
    assert downloaded.data == PNG
    assert downloaded.content_type == "image/png"


def test_an_upload_whose_answer_is_lost_is_repeated_and_stores_a_copy(
    twin: TwinClient, twin_emulator: TwinEmulator
) -> None:
    """The documented trade-off: TWIN has no file lookup, so a lost answer costs an unused copy."""
    twin_emulator.admin.add_fault(method="POST", path="/iam/api/v1/files", kind="drop", times=1)
    twin_emulator.admin.add_fault(method="POST", path="/iam/api/v1/files", kind="status", status=503, times=1)
    (stored,) = twin.run(upload_procedure([prepare_upload(PNG, "logo.png")]))
    with twin_emulator.state.lock:
        copies = [item.id for item in twin_emulator.state.files.files.values()]
    assert len(copies) == 2
    assert stored["id"] in copies
