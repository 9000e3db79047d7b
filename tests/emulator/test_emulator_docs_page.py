"""The emulator's ``/_emulator/docs`` page works offline: it lists every route and loads nothing else."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from airflow_provider_twin.emulator import TwinEmulator


class AssetCollector(HTMLParser):
    """Every URL the page would load (scripts, styles, images, frames) or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a":
            self.links.append(values.get("href", ""))
        elif "src" in values:
            self.loaded.append(values["src"])
        elif tag == "link":
            self.loaded.append(values.get("href", ""))


def page(emulator: TwinEmulator, path: str) -> httpx.Response:
    return httpx.get(f"{emulator.base_url}{path}", timeout=10)


def test_docs_page_lists_the_twin_and_admin_routes_without_external_assets(
    twin_emulator: TwinEmulator,
) -> None:
    response = page(twin_emulator, "/_emulator/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    collector = AssetCollector()
    collector.feed(body)
    assert collector.loaded == []  # no script, style sheet or image to fetch
    assert "<script" not in body.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", body)  # no absolute URL at all
    assert collector.links == ["/_emulator/openapi.json"]
    # Every route of the schema, TWIN's and the admin API's, and the websocket.
    schema = page(twin_emulator, "/_emulator/openapi.json").json()
    for path, operations in schema["paths"].items():
        assert path in body
        for method in operations:
            assert re.search(rf">{method.upper()}</td>\s*<td class=\"path\">{re.escape(path)}<", body)
    for expected in ("/iam/api/v1/auth/login", "/notify/api/v1/messages", "/_emulator/clock/advance"):
        assert expected in body
    assert "/centrifugo/connection/websocket" in body
    assert "TWIN notify API" in body
    assert "Emulator admin API" in body


def test_no_cdn_documentation_page_is_served(twin_emulator: TwinEmulator) -> None:
    """FastAPI's Swagger UI and ReDoc pages need a CDN: none of their usual addresses answers."""
    for path in ("/docs", "/redoc", "/_emulator/redoc", "/docs/oauth2-redirect"):
        assert page(twin_emulator, path).status_code == 404, path
    assert "/_emulator/docs" not in page(twin_emulator, "/_emulator/openapi.json").json()["paths"]


def test_route_descriptions_read_as_prose_with_code() -> None:
    """Docstring wraps are joined, blank lines make paragraphs, ``literals`` become code, HTML is escaped."""
    from airflow_provider_twin.emulator.api_docs_page import prose

    text = 'Close connections: all, or\nthose of ``session_id``.\n\nBody: ``{"code": 3001}`` <b>'
    assert prose(text) == (
        "<p>Close connections: all, or those of <code>session_id</code>.</p>"
        '<p>Body: <code>{"code": 3001}</code> &lt;b&gt;</p>'
    )
