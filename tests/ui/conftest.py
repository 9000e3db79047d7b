"""The UI tests' set-up: one TWIN emulator, one real Airflow and one headless Chromium per session.

``make test-ui`` runs these tests (``make pytest`` ignores this folder: they need the browser).
Screenshots of each step, ``index.md`` listing them, and the Airflow components' logs are kept
in ``$TWIN_UI_ARTIFACTS`` (default ``.artifacts/ui``), printed at the start and end of the run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from airflow_provider_twin.emulator import TwinEmulator
from tests.file_modules import load_demo_script

from .airflow_stack import AirflowStack
from .browser_session import (
    ACTION_TIMEOUT_MS,
    OfflinePage,
    Screenshots,
    artifacts_dir,
    chromium_path,
    launch_chromium,
    missing_chromium_message,
    offline_page,
)
from .example_runs import Triggered, close_sessions_as_the_bot, trigger_all


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
        expect.set_options(timeout=ACTION_TIMEOUT_MS)
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = launch_chromium(playwright_driver)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def twin() -> Iterator[TwinEmulator]:
    """The demo's TWIN emulator; messages held for a send window jump there as under ``make airflow``.

    As there, a held message is fast-forwarded only after it has waited a while, which gives
    ``example_twin_delayed_with_cancel`` the time to cancel its scheduled reminder. Like every
    emulator the suite starts, it runs in strict mode unless ``TWIN_EMULATOR_STRICT`` says
    otherwise (``tests/conftest.py``).
    """
    demo = load_demo_script()
    after = demo.UI_FAST_FORWARD_AFTER_SECONDS
    with TwinEmulator(demo.emulator_settings()) as emulator, demo.FastForward(emulator, after_seconds=after):
        yield emulator


@pytest.fixture(scope="session")
def airflow(browser: Browser, twin: TwinEmulator, screenshots: Screenshots) -> Iterator[AirflowStack]:
    """Airflow's api-server, scheduler, dag-processor and triggerer with the example DAGs.

    It asks for the browser first, so that a missing Chromium fails the run before Airflow starts.
    """
    with AirflowStack(screenshots.folder, twin) as stack:
        yield stack


@pytest.fixture
def ui(browser: Browser, airflow: AirflowStack, screenshots: Screenshots) -> Iterator[OfflinePage]:
    """A fresh browser page on the Airflow UI (English, UTC) that may only reach loopback."""
    with offline_page(browser, airflow.base_url, screenshots) as page:
        yield page


@pytest.fixture(scope="session")
def chat_bot(twin: TwinEmulator) -> Iterator[None]:
    """Close the CRM example's chat sessions as its sales bot would; approve the approval example."""
    stop = threading.Event()
    thread = threading.Thread(target=close_sessions_as_the_bot, args=(twin, stop), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def example_runs(
    browser: Browser, airflow: AirflowStack, screenshots: Screenshots, chat_bot: None
) -> dict[str, Triggered]:
    """The example DAGs' runs, triggered from the UI the first time a test asks for them."""
    return trigger_all(browser, airflow, screenshots)
