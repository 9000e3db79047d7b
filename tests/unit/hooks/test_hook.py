"""TwinHook: reading the connection, refusing stray credentials, provider metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from airflow_provider_twin.client import TwinConfigError
from airflow_provider_twin.get_provider_info import CONN_FIELDS, get_provider_info
from airflow_provider_twin.hooks.connection import EXTRA_FIELDS, client_config
from airflow_provider_twin.hooks.twin import TwinHook


class Conn:
    def __init__(self, login: str | None, password: str | None, extra: dict[str, Any]) -> None:
        self.conn_id = "twin_test"
        self.login = login
        self.password = password
        self.extra_dejson = extra


def test_connection_fields_map_to_client_config() -> None:
    cfg = client_config(
        Conn(
            "ops@example.com",
            "pw",
            {
                "company_id": "12",
                "auth_ttl": 86400,
                "iam_url": "http://127.0.0.1:9/iam/api/v1/",
                "notify_url": "http://127.0.0.1:9/notify/api/v1",
                "chat_url": "http://127.0.0.1:9/chat/api/v1",
                "centrifugo_url": "ws://127.0.0.1:9/centrifugo/connection/websocket",
                "timeout": "15",
                "max_retries": 2,
            },
        )
    )
    assert cfg.credentials.email == "ops@example.com"
    assert cfg.credentials.company_id == 12
    assert cfg.credentials.token_ttl == 86400
    assert cfg.endpoints.iam_url == "http://127.0.0.1:9/iam/api/v1"
    assert cfg.read_timeout == 15.0
    assert cfg.retry.max_attempts == 3


def test_defaults_are_production_and_prefixed_extras_are_read() -> None:
    cfg = client_config(Conn(None, None, {"extra__twin__api_token": "tok", "company_id": ""}))
    assert cfg.credentials.uses_static_token
    assert cfg.credentials.company_id is None
    assert cfg.endpoints.notify_url == "https://notify.twin24.ai/api/v1"


@pytest.mark.parametrize(
    ("login", "extra", "message"),
    [
        (None, {}, "connection 'twin_test': TWIN credentials are incomplete"),
        ("a@b.c", {"company_id": "abc"}, "extra field company_id must be a number"),
        ("a@b.c", {"notify_urls": "x"}, "unknown extra field.*notify_urls"),
        ("a@b.c", {"notify_url": "ftp://x"}, "notify_url must be an absolute http or https URL"),
        ("a@b.c", {"max_retries": -1}, "max_retries must be a positive number"),
    ],
)
def test_bad_connections_name_the_field(login: str | None, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(TwinConfigError, match=message):
        client_config(Conn(login, "pw" if login else None, extra))


@pytest.mark.parametrize("key", ["token_ttl", "extra__twin__token_ttl", "extra__twin__auth_ttl"])
def test_the_token_lifetime_is_read_under_its_old_names(key: str) -> None:
    cfg = client_config(Conn("a@b.c", "pw", {key: "7200"}))
    assert cfg.credentials.token_ttl == 7200


def test_the_token_lifetime_given_twice_alike_is_accepted() -> None:
    cfg = client_config(Conn("a@b.c", "pw", {"token_ttl": "7200", "auth_ttl": 7200}))
    assert cfg.credentials.token_ttl == 7200


def test_the_token_lifetime_given_twice_differently_names_both_fields() -> None:
    with pytest.raises(TwinConfigError) as caught:
        client_config(Conn("a@b.c", "pw", {"auth_ttl": 3600, "token_ttl": 86400}))
    message = str(caught.value)
    assert message.startswith("connection 'twin_test': ")
    assert "auth_ttl (3600)" in message
    assert "token_ttl (86400)" in message
    assert "keep only auth_ttl" in message


@pytest.mark.parametrize("field", ["api_token", "notify_url", "user_id"])
def test_a_field_given_twice_differently_names_the_fields_but_quotes_no_value(field: str) -> None:
    """The error reaches the Test button, the CLI and task logs: a token must not appear in it."""
    extra = {field: "secret-one-4f2a", f"extra__twin__{field}": "secret-two-9c1b"}
    with pytest.raises(TwinConfigError) as caught:
        client_config(Conn(None, None, extra))
    message = str(caught.value)
    assert message == (
        f"connection 'twin_test': extra fields {field} and extra__twin__{field} both set {field} "
        f"and differ; keep only {field}"
    )
    assert "secret-one" not in message
    assert "secret-two" not in message


def test_only_the_secret_field_of_the_form_is_masked_by_airflow() -> None:
    """Airflow shows ``***`` for every connection field whose name holds a sensitive word."""
    from airflow._shared.secrets_masker import secrets_masker

    sensitive = secrets_masker.DEFAULT_SENSITIVE_FIELDS
    for name in CONN_FIELDS:
        words = sorted(word for word in sensitive if word in name)
        hidden = secrets_masker.should_hide_value_for_key(name)
        if name == "api_token":
            assert words
            assert hidden
        else:
            assert not words, f"Airflow would mask the form field {name} (it contains {words})"
            assert not hidden, f"Airflow would mask the form field {name}"
    assert CONN_FIELDS["auth_ttl"]["label"] == "Token lifetime (s)"


@pytest.mark.parametrize("argument", ["token", "api_token", "password"])
def test_hook_refuses_credentials_as_arguments(argument: str) -> None:
    with pytest.raises(ValueError, match="credentials live in the Airflow connection"):
        TwinHook(**{argument: "x"})


def test_hook_reads_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "twin", "login": "a@b.c", "password": "pw", "extra": {"company_id": 3}}
    monkeypatch.setenv("AIRFLOW_CONN_TWIN_UNIT", json.dumps(conn))
    hook = TwinHook("twin_unit")
    assert hook.client_config.credentials.company_id == 3
    client = hook.get_client()
    assert hook.get_client() is client  # one pooled client per hook
    hook.close()


def test_hook_attributes() -> None:
    assert TwinHook.conn_type == "twin"
    assert TwinHook.conn_name_attr == "twin_conn_id"
    assert TwinHook.default_conn_name == "twin_default"
    assert TwinHook.hook_name == "TWIN"


def _airflow_schema(name: str) -> dict[str, Any]:
    import airflow

    return json.loads((Path(airflow.__file__).parent / name).read_text())  # type: ignore[no-any-return]


def test_provider_info_matches_airflow_schema() -> None:
    jsonschema.validate(get_provider_info(), _airflow_schema("provider_info.schema.json"))


def test_connection_form_matches_provider_yaml_schema() -> None:
    schema = _airflow_schema("provider.yaml.schema.json")
    item_schema = schema["properties"]["connection-types"]["items"]
    for connection_type in get_provider_info()["connection-types"]:
        jsonschema.validate(connection_type, item_schema)


def test_connection_form_declares_every_extra() -> None:
    assert set(CONN_FIELDS) == set(EXTRA_FIELDS)
    assert CONN_FIELDS["api_token"]["schema"]["format"] == "password"


def test_modules_named_in_provider_info_import() -> None:
    import importlib

    info = get_provider_info()
    for section in ("hooks", "operators", "sensors"):
        for entry in info.get(section, []):
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for entry in info.get("triggers", []):
        for module in entry["python-modules"]:
            importlib.import_module(module)
    for dotted in [c["hook-class-name"] for c in info["connection-types"]] + info.get("notifications", []):
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name)
