"""The TWIN emulator's admin docs page (linked from ``make airflow``) renders offline."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from airflow_provider_twin.emulator import TwinEmulator

from .browser_session import OfflinePage

#: Routes the page must list: TWIN's API and the emulator's own admin API.
ROUTES = ("/iam/api/v1/auth/login", "/notify/api/v1/messages", "/_emulator/clock/advance")


def test_emulator_docs_page_lists_the_routes_without_the_network(ui: OfflinePage, twin: TwinEmulator) -> None:
    ui.page.goto(f"{twin.base_url}/_emulator/docs")

    expect(ui.page.get_by_role("heading", level=1)).to_be_visible()
    expect(ui.page.get_by_role("heading", name=re.compile("TWIN notify API"))).to_be_visible()
    expect(ui.page.get_by_role("heading", name=re.compile("Emulator admin API"))).to_be_visible()
    for route in ROUTES:
        expect(ui.page.get_by_role("cell", name=route, exact=True).first).to_be_visible()
    ui.screenshot(
        "emulator-docs-page",
        "The TWIN emulator's /_emulator/docs page, offline: TWIN's routes and the admin API's",
    )
    ui.assert_offline()
