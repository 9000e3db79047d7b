"""Files in messages: the channel rules, and the send operator's ``attachments`` against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from airflow.sdk import DAG, ObjectStoragePath
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_twin.client import ApiCall
from airflow_provider_twin.client.core.engine import Engine
from airflow_provider_twin.client.messages import AttachedFile, attach_files, attachment_problems
from airflow_provider_twin.emulator import TwinEmulator
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.messages import TwinSendMessagesOperator

PDF = ("terms.pdf", "application/pdf")
PNG = ("logo.png", "image/png")


def test_whatsapp_gets_the_link_and_a_document_its_name() -> None:
    files = [AttachedFile("terms.pdf", "application/pdf", "https://files/1")]
    channels = attach_files({"whatsapp": {"from": "Shop"}}, files)
    assert channels == {
        "whatsapp": {"from": "Shop", "mediaUrl": "https://files/1", "documentFilename": "terms.pdf"}
    }


def test_an_image_fills_whatsapp_media_and_viber_and_push_image_in_order() -> None:
    files = [AttachedFile("logo.png", "image/png", "https://files/2")]
    channels = attach_files(["viber", "whatsapp", "push"], files)
    assert list(channels) == ["viber", "whatsapp", "push"]
    assert channels["viber"] == {"imageUrl": "https://files/2"}
    assert channels["whatsapp"] == {"mediaUrl": "https://files/2"}
    assert channels["push"] == {"imageUrl": "https://files/2"}


@pytest.mark.parametrize(
    ("channels", "files", "said"),
    [
        (["sms"], [PDF], "channels.sms: cannot carry a file: SMS carries text only"),
        (["email"], [PDF], "channels.email: cannot carry a file: TWIN documents no attachment field"),
        (["vkontakte"], [PNG], "channels.vkontakte: cannot carry a file: VK attachments are VK media ids"),
        (["chat"], [PNG], "channels.chat: cannot carry a file"),
        (["telegram"], [PNG], "channels.telegram: cannot carry a file"),
        (["viber"], [PDF], "channels.viber: imageUrl carries an image; terms.pdf is application/pdf"),
        (["whatsapp"], [PDF, PNG], "channels.whatsapp: carries one file per message, got 2"),
        ({"push": {"imageUrl": "https://x"}}, [PNG], "channels.push.imageUrl: already set"),
        ({"whatsap": None}, [PNG], "channels.whatsap: unknown channel"),
    ],
)
def test_channels_that_cannot_carry_the_files_are_named(
    channels: Any, files: list[tuple[str, str]], said: str
) -> None:
    assert any(said in line for line in attachment_problems(channels, files)), attachment_problems(
        channels, files
    )


def test_no_files_no_problem() -> None:
    assert attachment_problems(["sms"], []) == []


# -- the send operator ---------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("twin_connection_env")


def _send(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("recipients", [{"phone": "+7 999 000-00-01"}, {"phone": "+7 999 000-00-02"}])
    kwargs.setdefault("text", "Your terms")
    with DAG("attachments", schedule=None):
        op = TwinSendMessagesOperator(task_id=kwargs.pop("task_id", "send"), settle_seconds=0.0, **kwargs)
    ti = mock.MagicMock(try_number=1, map_index=-1)
    return op.execute({"ti": ti, "dag_run": mock.MagicMock(run_id="manual__1", start_date=None)})  # type: ignore[arg-type]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The channels of every message the client posts to ``/messages``."""
    seen: list[Any] = []
    build = Engine.build_request

    def recording(self: Engine, call: ApiCall[Any], token: str | None) -> Any:
        if call.method == "POST" and call.path == "/messages":
            seen.extend(message["channels"] for message in call.json["messages"])
        return build(self, call, token)

    monkeypatch.setattr(Engine, "build_request", recording)
    return seen


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    path = tmp_path / "terms.pdf"
    path.write_bytes(b"%PDF-1.4 terms")
    return path


def test_attachments_upload_once_and_fill_the_channel(
    terms: Path, twin_emulator: TwinEmulator, sent: list[Any]
) -> None:
    summary = _send(channels={"whatsapp": {"from": "Shop"}}, attachments=[str(terms)])
    assert summary["accepted"] == 2
    uploads = twin_emulator.admin.requests(method="POST", route="/iam/api/v1/files")
    assert len(uploads) == 1
    (stored,) = twin_emulator.state.files.files.values()
    assert stored.data == b"%PDF-1.4 terms"
    link = stored.metadata(twin_emulator.base_url + "/")["url"]
    assert sent == [
        {
            "whatsapp": {
                "from": "Shop",
                "mediaUrl": link,
                "documentFilename": "terms.pdf",
                "text": "Your terms",
            }
        }
    ]


def test_an_object_storage_path_and_an_uploaded_summary(
    terms: Path, twin_emulator: TwinEmulator, sent: list[Any]
) -> None:
    summary = {
        "file_id": "f1",
        "name": "logo.png",
        "size": 3,
        "content_type": "image/png",
        "url": "https://files.example/logo.png",
        "download_link": "https://files.example/logo.png",
    }
    _send(channels=["viber"], attachments=[summary])
    assert twin_emulator.admin.requests(method="POST", route="/iam/api/v1/files") == []
    assert sent[0]["viber"]["imageUrl"] == "https://files.example/logo.png"
    _send(channels=["whatsapp"], attachments=ObjectStoragePath(f"file://{terms}"), task_id="send2")
    assert sent[1]["whatsapp"]["documentFilename"] == "terms.pdf"


def test_a_channel_that_cannot_carry_files_refuses_before_any_request(
    terms: Path, twin_emulator: TwinEmulator
) -> None:
    with pytest.raises(AirflowFailException, match="channels.sms: cannot carry a file"):
        _send(channels={"whatsapp": {}, "sms": {}}, attachments=[str(terms)])
    assert twin_emulator.admin.requests() == []


def test_a_file_over_the_limit_refuses_before_any_request(
    tmp_path: Path, twin_emulator: TwinEmulator
) -> None:
    big = tmp_path / "clip.mp4"
    big.write_bytes(b"\0" * (10 * 1024 * 1024 + 1))
    with pytest.raises(AirflowFailException, match=r"attachments\[0\]: clip.mp4: larger than the 10 MB"):
        _send(channels=["whatsapp"], attachments=[str(big)])
    assert twin_emulator.admin.requests() == []


def test_a_bad_recipient_refuses_before_the_upload(terms: Path, twin_emulator: TwinEmulator) -> None:
    with pytest.raises(AirflowFailException, match="recipients"):
        _send(channels=["whatsapp"], attachments=[str(terms)], recipients=[{"phone": "not a phone"}])
    assert twin_emulator.admin.requests() == []


def test_a_private_summary_is_refused(twin_emulator: TwinEmulator) -> None:
    private = {
        "file_id": "f",
        "name": "a.png",
        "content_type": "image/png",
        "url": None,
        "download_link": "x",
    }
    with pytest.raises(AirflowFailException, match="a.png has no public url"):
        _send(channels=["viber"], attachments=[private])
    assert twin_emulator.admin.requests() == []


def test_a_bare_file_id_is_refused_naming_what_to_give(twin_emulator: TwinEmulator) -> None:
    with pytest.raises(AirflowFailException, match="looks like a TWIN file id, which carries no link"):
        _send(channels=["viber"], attachments=["6f1c3c2e-9d8a-4d7e-8b1a-0c2d3e4f5a6b"])
    assert twin_emulator.admin.requests() == []


def test_a_recipient_missing_a_template_variable_refuses_before_the_upload(
    terms: Path, twin_emulator: TwinEmulator
) -> None:
    hook = TwinHook()
    template_id = hook.create_template("terms", ["whatsapp"], "Hi {{name}}, your terms")
    hook.close()
    with pytest.raises(AirflowFailException, match="name"):
        _send(channels=["whatsapp"], template_id=template_id, text=None, attachments=[str(terms)])
    routes = [(r["method"], r["route"]) for r in twin_emulator.admin.requests()]
    assert ("POST", "/iam/api/v1/files") not in routes
    assert ("POST", "/notify/api/v1/messages") not in routes
    reads = [
        route for method, route in routes if method == "GET" and route.startswith("/notify/api/v1/templates")
    ]
    assert len(reads) == 1  # one GET of the template serves both checks


def test_a_missing_template_refuses_before_the_upload(terms: Path, twin_emulator: TwinEmulator) -> None:
    twin_emulator.admin.update_settings(implicit_templates=False)
    with pytest.raises(AirflowFailException, match="TWIN has no template"):
        _send(
            channels=["whatsapp"],
            template_id="0b7d8c1e-5a0f-4c1e-9d7a-2f3e4a5b6c7d",
            text=None,
            attachments=[str(terms)],
        )
    routes = [(r["method"], r["route"]) for r in twin_emulator.admin.requests()]
    assert ("POST", "/iam/api/v1/files") not in routes
    assert ("POST", "/notify/api/v1/messages") not in routes
