"""Headless Chromium for the UI tests: offline, screenshots of each step, an index of them.

The browser is the operating system's Chromium (Debian's ``chromium`` package), never one
Playwright downloads: the tests run without the network. Every request to a host other than
loopback is aborted and recorded, so a page that needs the network (a CDN script, a web font)
fails its test instead of passing on a machine that happens to be online.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Playwright, Route, ViewportSize

#: The browser used unless ``TWIN_UI_CHROMIUM`` names another executable.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
#: Playwright's auto-waiting actions and assertions wait this long (ms): the machine may be busy.
ACTION_TIMEOUT_MS = 60_000
#: Page loads may take long while the scheduler and the DAG processor keep both cores busy.
NAVIGATION_TIMEOUT_MS = 120_000


def artifacts_dir() -> Path:
    """Where screenshots and logs go: ``$TWIN_UI_ARTIFACTS``, else ``.artifacts/ui``, absolute."""
    return Path(os.environ.get("TWIN_UI_ARTIFACTS") or ".artifacts/ui").resolve()


def chromium_path() -> Path:
    """The Chromium executable: ``$TWIN_UI_CHROMIUM``, else the ``chromium`` OS package's."""
    return Path(os.environ.get("TWIN_UI_CHROMIUM") or DEFAULT_CHROMIUM)


def missing_chromium_message(path: Path) -> str:
    """What to do when the browser is not there (the UI tests fail rather than skip)."""
    return (
        f"Chromium not found at {path}. The UI tests drive the operating system's Chromium: "
        "install the `chromium` package (Debian/Ubuntu: `apt-get install chromium`), or point "
        "TWIN_UI_CHROMIUM at a Chromium executable. Playwright's own browser download is not used."
    )


def launch_chromium(playwright: Playwright) -> Browser:
    """Start headless Chromium from the OS package (see :func:`chromium_path`)."""
    return playwright.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)


class Screenshots:
    """Numbered full-page screenshots in one folder, with ``index.md`` saying what each shows.

    Numbers run across the whole test session, so the folder reads in the order the steps
    happened. Screenshots of an earlier run are removed when the first one is taken.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[tuple[str, str]] = []

    def start(self) -> None:
        """Create the folder and remove what an earlier run left there."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in [*self.folder.glob("[0-9][0-9]-*.png"), self.folder / "index.md"]:
            old.unlink(missing_ok=True)

    def take(self, page: Page, name: str, shows: str) -> Path:
        """Save ``page`` as ``NN-name.png`` and record ``shows`` (what it shows) in the index."""
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append((path.name, shows))
        self._write_index()
        return path

    def _write_index(self) -> None:
        lines = [
            "# Screenshots of the UI tests",
            "",
            "The Airflow UI (and the TWIN emulator's admin docs) in headless Chromium, step by step.",
            "",
            "| Screenshot | What it shows |",
            "| --- | --- |",
            *(f"| `{name}` | {shows} |" for name, shows in self.taken),
        ]
        (self.folder / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class OfflinePage:
    """A browser page that may only reach loopback; what it tried to fetch elsewhere is kept."""

    page: Page
    screenshots: Screenshots
    blocked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def screenshot(self, name: str, shows: str, height: int | None = None) -> Path:
        """A full-page screenshot; ``height`` enlarges the window first (for tall dialogs)."""
        if height is not None:
            self.page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        try:
            return self.screenshots.take(self.page, name, shows)
        finally:
            if height is not None:
                self.page.set_viewport_size(VIEWPORT)

    def assert_offline(self) -> None:
        """Fail if any page of this test asked for something beyond loopback."""
        assert not self.blocked, f"the pages needed the network: {sorted(set(self.blocked))}"


@contextmanager
def offline_page(browser: Browser, base_url: str, screenshots: Screenshots) -> Iterator[OfflinePage]:
    """A page in a fresh browser context (English, UTC, no cookies) on ``base_url``, loopback only."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    try:
        yield OfflinePage(context.new_page(), screenshots)
    finally:
        context.close()
