"""The ``twin`` connection in Admin → Connections: its form, and testing it from the list."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from airflow import __version__ as airflow_version
from packaging.version import Version
from playwright.sync_api import Locator, expect

from airflow_provider_twin.emulator import TwinEmulator

from .airflow_stack import AirflowStack
from .airflow_ui import add_connection_form, connection_row, expand, field, label, open_connections
from .browser_session import OfflinePage

#: Airflow 3.3's connection list tests a connection with ``port: 0`` when none is stored, and its
#: API refuses a port that differs from the stored one (NULL): every connection whose form hides
#: the port answers Bad Request. An Airflow bug, in every 3.3 release so far (3.3.2 is the newest);
#: docs/connection.md gives the workaround this module checks. When a fixed Airflow is pinned,
#: the test of a form-made connection fails here, asking for this branch to go.
UI_TEST_REFUSES_UNSTORED_PORT = Version("3.3.0") <= Version(airflow_version) <= Version("3.3.2")

#: The TWIN fields of the form: label → the default it shows (None: empty).
TWIN_FIELDS: dict[str, str | None] = {
    "Company ID": None,
    "Token lifetime (s)": "3600",
    "API token": None,
    "IAM URL": "https://iam.twin24.ai/api/v1",
    "Notify URL": "https://notify.twin24.ai/api/v1",
    "Chat URL": "https://chat-api.twin24.ai/api/v1",
    "Realtime websocket URL": "wss://twin24.ai/centrifugo/connection/websocket",
    "Request timeout (s)": "60",
    "Max retries": "4",
}
#: Airflow's generic fields a TWIN connection does not use.
HIDDEN_FIELDS = ("Host", "Port", "Schema")
#: The emulator's connection, field by field as the form labels them.
EMULATOR_EXTRAS = {
    "Company ID": "company_id",
    "IAM URL": "iam_url",
    "Notify URL": "notify_url",
    "Chat URL": "chat_url",
    "Realtime websocket URL": "centrifugo_url",
}


def test_twin_connection_form_shows_the_twin_fields_with_labels_and_defaults(ui: OfflinePage) -> None:
    form = add_connection_form(ui.page, "twin_form_check", "TWIN")

    expand(form, "Standard Fields")
    expect(label(form, "Account e-mail")).to_be_visible()
    expect(label(form, "Password")).to_be_visible()
    expect(field(form, "Account e-mail")).to_have_attribute("placeholder", re.compile("user@example.com"))
    for generic in HIDDEN_FIELDS:
        expect(label(form, generic)).not_to_be_visible()
    ui.screenshot(
        "connection-form-standard-fields",
        "Admin → Connections → Add, type TWIN: the standard fields relabelled (Account e-mail, "
        "Password); host, port and schema hidden",
        height=1200,
    )

    expand(form, "Extra Fields")
    for text, default in TWIN_FIELDS.items():
        expect(label(form, text)).to_be_visible()
        expect(field(form, text)).to_have_value(default or "")
    expect(field(form, "Token lifetime (s)")).not_to_have_value("***")
    ui.screenshot(
        "connection-form-twin-fields",
        "The TWIN extra fields with their labels and defaults (token lifetime 3600 s, the "
        "twin24.ai URLs, timeout 60 s, 4 retries)",
        height=2200,
    )
    ui.assert_offline()


def expect_test_success(ui: OfflinePage, row: Locator, connection: dict[str, Any], which: str) -> None:
    """Click the row's Test button: Airflow's toast says the hook logged in to the emulator."""
    row.get_by_role("button", name="Test Connection").click()
    outcome = ui.page.get_by_text(re.compile(r"^Test Connection (Successful|Failed)$"))
    expect(outcome).to_be_visible()
    ui.screenshot(f"connection-test-{which}", f"Admin → Connections: the Test button's answer for {which}")
    toast = ui.page.locator("[data-scope='toast'][data-part='root']").filter(has=outcome)
    assert outcome.inner_text() == "Test Connection Successful", f"{which}: {toast.inner_text()}"
    expect(toast).to_contain_text(
        f"Connected to TWIN at {connection['extra']['notify_url']} as {connection['login']}"
    )


def test_make_airflow_twin_default_tests_successfully(ui: OfflinePage, twin: TwinEmulator) -> None:
    """The twin_default connection ``make airflow`` stores is listed and its Test button works."""
    open_connections(ui.page)
    row = connection_row(ui.page, "twin_default")
    expect(row).to_be_visible()
    expect_test_success(ui, row, twin.connection, "twin_default as make airflow stores it")
    ui.assert_offline()


def test_twin_connection_added_in_the_ui_can_be_tested(
    ui: OfflinePage, twin: TwinEmulator, airflow: AirflowStack
) -> None:
    """A connection added in the form keeps its token lifetime and tests successfully.

    On Airflow 3.3 (up to 3.3.2) the list's Test button cannot test it (Airflow's port refusal):
    the test checks that refusal and the command-line test docs/connection.md gives instead.
    """
    connection = twin.connection
    form = add_connection_form(ui.page, "twin_emulator", "TWIN")
    expand(form, "Standard Fields")
    field(form, "Account e-mail").fill(connection["login"])
    field(form, "Password").fill(connection["password"])
    expand(form, "Extra Fields")
    for text, key in EMULATOR_EXTRAS.items():
        field(form, text).fill(str(connection["extra"][key]))
    ui.screenshot(
        "connection-form-filled-for-the-emulator",
        "A twin connection filled in with the emulator's account and URLs, before Save",
        height=2200,
    )
    form.get_by_role("button", name="Save").click()
    row = connection_row(ui.page, "twin_emulator")
    expect(row).to_be_visible()

    row.get_by_role("button", name="Edit Connection").click()
    form = ui.page.get_by_role("dialog")
    expand(form, "Extra Fields")
    expect(field(form, "Token lifetime (s)")).to_have_value("3600")
    expect(field(form, "IAM URL")).to_have_value(connection["extra"]["iam_url"])
    ui.screenshot(
        "connection-saved-keeps-its-token-lifetime",
        "Edit Connection on the saved twin connection: the token lifetime reads 3600, not ***",
        height=2200,
    )
    form.get_by_role("button", name="Close").click()
    expect(form).not_to_be_visible()

    if not UI_TEST_REFUSES_UNSTORED_PORT:
        expect_test_success(ui, row, connection, "a twin connection added in the UI")
        ui.assert_offline()
        return
    expect_airflow_port_refusal(ui, row, "a twin connection added in the UI (Airflow 3.3's refusal)")
    ui.assert_offline()
    expect_cli_test_success(airflow, "twin_emulator")


def expect_airflow_port_refusal(ui: OfflinePage, row: Locator, which: str) -> None:
    """The Test button answers Airflow 3.3's port refusal: the bug, not the hook, is what fails."""
    row.get_by_role("button", name="Test Connection").click()
    outcome = ui.page.get_by_text(re.compile(r"^Test Connection (Successful|Failed)$"))
    expect(outcome).to_be_visible()
    ui.screenshot(f"connection-test-{which}", f"Admin → Connections: the Test button's answer for {which}")
    toast = ui.page.locator("[data-scope='toast'][data-part='root']").filter(has=outcome)
    assert outcome.inner_text() == "Test Connection Failed", (
        f"Airflow {airflow_version} now tests a connection without a stored port: "
        "drop UI_TEST_REFUSES_UNSTORED_PORT and the workaround in docs/connection.md"
    )
    # The toast shows the status text only; the API's reason ("The host or port to test differs
    # from the stored connection") is pinned by tests/integration/test_make_airflow.py.
    expect(toast).to_contain_text("Bad Request")


def expect_cli_test_success(airflow: AirflowStack, conn_id: str) -> None:
    """docs/connection.md's workaround: ``airflow connections test`` logs in to the emulator."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "test", conn_id],
        env={**airflow.env, "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Connection success!" in output, output
