"""IAM file storage: multipart upload as TWIN's SDK sends it, metadata, download, limits in strict mode."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from emulator_testkit import TwinApi

from airflow_provider_twin.emulator import TwinEmulator

FILES = "/iam/api/v1/files"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

#: The fields of the SDK's FileMetadata (twin-api.md §2.6).
METADATA_FIELDS = {
    "id",
    "isPrivate",
    "createdAt",
    "contentType",
    "name",
    "baseName",
    "extension",
    "suggestedExtension",
    "path",
    "size",
    "url",
    "downloadLink",
    "ownerId",
}


def upload(
    api: TwinApi, files: list[tuple[str, bytes, str]], token: str | None = None, **fields: str
) -> httpx.Response:
    parts = [("file[]", (name, data, kind)) for name, data, kind in files]
    return api.http.post(FILES, files=parts, data=fields, headers=api.headers(token))


@pytest.fixture
def lenient(twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(strict=False)


@pytest.fixture
def strict(twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(strict=True)


def test_upload_answers_a_metadata_list_in_the_sdk_shape(api: TwinApi, lenient: None) -> None:
    response = upload(
        api,
        [("logo.png", PNG, "image/png"), ("terms.pdf", b"%PDF-1.4 terms", "application/pdf")],
        path="campaigns/spring",
        ttl="3600",
    )
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body, list)
    assert len(body) == 2
    logo, terms = body
    assert set(logo) == METADATA_FIELDS
    assert logo["name"] == "logo.png"
    assert logo["baseName"] == "logo"
    assert logo["extension"] == "png"
    assert logo["contentType"] == "image/png"
    assert logo["size"] == len(PNG)
    assert logo["suggestedExtension"] == "png"
    assert logo["isPrivate"] is False
    assert logo["url"] == logo["downloadLink"]
    assert logo["path"] == f"campaigns/spring/{logo['id']}.png"
    assert logo["ownerId"] == 1
    assert datetime.fromisoformat(logo["createdAt"]).tzinfo is not None
    assert terms["name"] == "terms.pdf"
    assert terms["id"] != logo["id"]


def test_public_file_downloads_without_a_token_with_its_name(api: TwinApi, lenient: None) -> None:
    meta = upload(api, [("logo.png", PNG, "image/png")]).json()[0]
    response = httpx.get(meta["url"])
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith('attachment; filename="logo.png"')


def test_private_file_needs_the_token(api: TwinApi, lenient: None) -> None:
    meta = upload(api, [("secret.txt", b"s3cret", "text/plain")], private="1").json()[0]
    assert meta["isPrivate"] is True
    assert meta["url"] is None
    assert api.http.get(f"{FILES}/{meta['id']}").status_code == 401
    response = api.http.get(f"{FILES}/{meta['id']}", headers=api.headers())
    assert response.status_code == 200
    assert response.content == b"s3cret"


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_private_false_as_php_and_others_write_it(api: TwinApi, lenient: None, value: str) -> None:
    meta = upload(api, [("a.txt", b"a", "text/plain")], private=value).json()[0]
    assert meta["isPrivate"] is False


def test_ttl_ends_a_file(api: TwinApi, twin_emulator: TwinEmulator, lenient: None) -> None:
    meta = upload(api, [("a.txt", b"a", "text/plain")], ttl="60").json()[0]
    assert api.http.get(f"{FILES}/{meta['id']}").status_code == 200
    twin_emulator.state.advance_clock(61)
    assert api.http.get(f"{FILES}/{meta['id']}").status_code == 404


def test_upload_needs_a_token_and_a_file(api: TwinApi, lenient: None) -> None:
    no_token = api.http.post(FILES, files=[("file[]", ("a.txt", b"a", "text/plain"))])
    assert no_token.status_code == 401
    no_file = api.http.post(FILES, files=[("other", ("a.txt", b"a", "text/plain"))], headers=api.headers())
    assert no_file.status_code == 422
    assert "file[]" in no_file.json()["details"]
    bad_ttl = upload(api, [("a.txt", b"a", "text/plain")], ttl="soon")
    assert bad_ttl.status_code == 422
    assert "ttl" in bad_ttl.json()["details"]
    not_form = api.http.post(FILES, json={"file": "a"}, headers=api.headers())
    assert not_form.status_code == 400


def test_unknown_file_is_404(api: TwinApi) -> None:
    assert api.http.get(f"{FILES}/00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ([("big.png", b"x" * (10 * 1024 * 1024 + 1), "image/png")], "big.png: 10485761 bytes"),
        ([("tool.exe", b"MZ", "application/x-msdownload")], "tool.exe: content type"),
        ([("empty.txt", b"", "text/plain")], "empty.txt: the file is empty"),
        ([(f"{n}.txt", b"a", "text/plain") for n in range(11)], "11 files in one upload"),
    ],
    ids=["size", "type", "empty", "count"],
)
def test_strict_mode_enforces_the_limits_naming_the_field(
    api: TwinApi, twin_emulator: TwinEmulator, files: list[tuple[str, bytes, str]], said: str
) -> None:
    twin_emulator.admin.update_settings(strict=False)
    assert upload(api, files).status_code == 201
    twin_emulator.admin.update_settings(strict=True)
    response = upload(api, files)
    assert response.status_code == 422
    assert any(said in line for line in response.json()["details"]["file[]"])


def test_reset_forgets_files(api: TwinApi, twin_emulator: TwinEmulator, lenient: None) -> None:
    meta = upload(api, [("a.txt", b"a", "text/plain")]).json()[0]
    twin_emulator.reset()
    assert api.http.get(f"{FILES}/{meta['id']}").status_code == 404
