"""The emulator's route list at ``/_emulator/docs``: plain HTML rendered from its OpenAPI schema.

The emulator runs offline, so its documentation page must too. FastAPI's Swagger UI and ReDoc
pages load their scripts and styles from a CDN and are blank without the network; this page is
rendered on the server, has no script and no external asset, and links to the schema itself
(``/_emulator/openapi.json``) for tools that read OpenAPI.
"""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi import FastAPI
from starlette.responses import HTMLResponse
from starlette.routing import WebSocketRoute

#: Sections of the page: a path prefix and its heading, in the order they are shown.
SECTIONS = (
    ("/iam/", "TWIN IAM API (log-in, tokens)"),
    ("/notify/", "TWIN notify API (messages)"),
    ("/chat/", "TWIN chat API (chat-bot sessions)"),
    ("/_emulator", "Emulator admin API (inspect and steer the emulator; not part of TWIN)"),
)
METHOD_ORDER = ("get", "post", "put", "patch", "delete")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem;
       color: #1a1a1a; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
td.method { font-family: monospace; font-weight: bold; width: 5rem; }
td.path { font-family: monospace; white-space: nowrap; }
td.about p { margin: 0 0 .4rem; }
code { font-family: monospace; background: #f3f3f3; padding: 0 .2rem; }
"""


def operations(schema: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, summary, description) of every operation in an OpenAPI schema."""
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in METHOD_ORDER:
            operation = item.get(method)
            if operation is not None:
                summary = str(operation.get("summary", ""))
                description = str(operation.get("description", "")).strip()
                found.append((method.upper(), path, summary, description))
    return found


def websocket_paths(app: FastAPI) -> list[str]:
    """Paths of the app's websocket endpoints (OpenAPI does not describe websockets)."""
    return [route.path for route in app.router.routes if isinstance(route, WebSocketRoute)]


#: reST inline literals in the route docstrings: ``text``.
INLINE_LITERAL = re.compile(r"``(.+?)``")


def prose(text: str) -> str:
    """A route docstring as HTML: paragraphs at blank lines, wrapped lines joined, literals as code."""
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip())
    return "".join(
        "<p>" + INLINE_LITERAL.sub(r"<code>\1</code>", html.escape(paragraph, quote=False)) + "</p>"
        for paragraph in paragraphs
    )


def _rows(items: list[tuple[str, str, str, str]]) -> str:
    return "\n".join(
        "<tr>"
        f'<td class="method">{html.escape(method)}</td>'
        f'<td class="path">{html.escape(path)}</td>'
        f"<td><strong>{html.escape(summary)}</strong></td>"
        f'<td class="about">{prose(description)}</td>'
        "</tr>"
        for method, path, summary, description in items
    )


def _table(items: list[tuple[str, str, str, str]]) -> str:
    head = "<tr><th>Method</th><th>Path</th><th>Name</th><th>What it does</th></tr>"
    return f"<table>\n{head}\n{_rows(items)}\n</table>"


def render_docs_page(app: FastAPI, openapi_url: str) -> str:
    """The whole page: one table per section, then the websocket endpoints."""
    schema = app.openapi()
    info = schema.get("info", {})
    listed = operations(schema)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(str(info.get('title', 'API')))} routes</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(str(info.get('title', 'API')))}</h1>",
        f"<p>{html.escape(str(info.get('description', '')))}</p>",
        f'<p>OpenAPI schema: <a href="{html.escape(openapi_url)}">{html.escape(openapi_url)}</a></p>',
    ]
    for prefix, heading in SECTIONS:
        items = [item for item in listed if item[1].startswith(prefix)]
        if items:
            parts += [f"<h2>{html.escape(heading)}</h2>", _table(items)]
    others = [item for item in listed if not any(item[1].startswith(prefix) for prefix, _ in SECTIONS)]
    if others:
        parts += ["<h2>Other routes</h2>", _table(others)]
    sockets = websocket_paths(app)
    if sockets:
        parts.append("<h2>Realtime websocket (TWIN's Centrifugo)</h2><ul>")
        parts += [f"<li><code>{html.escape(path)}</code></li>" for path in sockets]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def install_docs_page(app: FastAPI, docs_url: str, openapi_url: str) -> None:
    """Serve the route list at ``docs_url`` (left out of the schema it describes)."""

    async def docs_page() -> HTMLResponse:
        return HTMLResponse(render_docs_page(app, openapi_url))

    app.add_api_route(docs_url, docs_page, methods=["GET"], include_in_schema=False)
