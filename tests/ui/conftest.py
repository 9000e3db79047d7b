"""The UI tests' set-up: one TWIN emulator, one real Airflow and one headless Chromium per session.

``make test-ui`` runs these tests (``make pytest`` ignores this folder: they need the browser).
Screenshots of each step, ``index.md`` listing them, and the Airflow components' logs are kept
in ``$TWIN_UI_ARTIFACTS`` (default ``.artifacts/ui``), printed at the start and end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from airflow_provider_twin.emulator import TwinEmulator

from .airflow_stack import AirflowStack, load_demo_script
from .browser_session import (
    VIEWPORT,
    OfflinePage,
    Screenshots,
    artifacts_dir,
    chromium_path,
    launch_chromium,
    missing_chromium_message,
)

#: Playwright's auto-waiting assertions wait this long (ms): the machine may be busy.
EXPECT_TIMEOUT_MS = 60_000
#: Page loads may take long while the scheduler and the DAG processor keep both cores busy.
NAVIGATION_TIMEOUT_MS = 120_000


def pytest_report_header(config: pytest.Config) -> str:
    return f"UI test artefacts (screenshots, index.md, Airflow logs): {artifacts_dir()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    folder = artifacts_dir()
    count = len(list(folder.glob("[0-9][0-9]-*.png"))) if folder.is_dir() else 0
    terminalreporter.write_sep("-", "UI test artefacts")
    terminalreporter.write_line(f"{count} screenshot(s), index.md and Airflow logs in {folder}")


@pytest.fixture(scope="session")
def screenshots() -> Screenshots:
    shots = Screenshots(artifacts_dir())
    shots.start()
    return shots


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's driver, after checking the OS package's Chromium is there (fail, never skip)."""
    path = chromium_path()
    if not path.exists():
        pytest.fail(missing_chromium_message(path), pytrace=False)
    with sync_playwright() as driver:
        driver.selectors.set_test_id_attribute("data-testid")
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = launch_chromium(playwright_driver)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def twin() -> Iterator[TwinEmulator]:
    """The demo's TWIN emulator, its clock advanced whenever reminders wait for a send window."""
    demo = load_demo_script()
    with TwinEmulator(demo.emulator_settings()) as emulator, demo.FastForward(emulator):
        yield emulator


@pytest.fixture(scope="session")
def airflow(browser: Browser, twin: TwinEmulator, screenshots: Screenshots) -> Iterator[AirflowStack]:
    """Airflow's api-server, scheduler, dag-processor and triggerer with the example DAGs."""
    with AirflowStack(screenshots.folder, twin) as stack:
        yield stack


@pytest.fixture
def ui(browser: Browser, airflow: AirflowStack, screenshots: Screenshots) -> Iterator[OfflinePage]:
    """A fresh browser page on the Airflow UI (English, UTC) that may only reach loopback."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    context = browser.new_context(
        base_url=airflow.base_url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = OfflinePage(context.new_page(), screenshots)
    try:
        yield page
    finally:
        context.close()
