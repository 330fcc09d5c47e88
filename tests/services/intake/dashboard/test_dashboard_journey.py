"""A person's first hour with the dashboard, in a real headless chromium against the whole
stack: sign in with a sandbox key, add a company and connect it to ANAF through the OAuth
consent (the simulator's), add a webhook endpoint (its secret shown once), send a test invoice
and watch its status reach `accepted` on the list without a reload, open its timeline, see the
endpoint's delivery, sign out (a copy of the cookie opens nothing after). Screenshots of each
page go to browser_support.SCREENSHOTS."""

from __future__ import annotations

import re
from contextlib import aclosing

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.intake.dashboard.browser_support import (
    element,
    headless_chromium,
    in_thread,
    screenshot,
    text_of,
    wait_for,
)
from tests.services.intake.dashboard.dashboard_support import (
    DashboardClient,
    api_key_of,
    sent_to_sign_in,
)
from tests.services.webhook_dispatcher.webhooktools import running_receiver

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _sign_in(driver: webdriver.Chrome, base: str, key: str) -> None:
    driver.get(f"{base}/dashboard/invoices")
    wait_for(driver, lambda: driver.current_url.endswith("/dashboard/sign-in"))
    element(driver, "#api_key").send_keys(key)
    element(driver, "form button[type=submit]").click()
    wait_for(driver, lambda: driver.current_url.endswith("/dashboard/invoices"))
    assert text_of(driver, "#mode") == "Sandbox mode: government simulators"
    cookie = driver.get_cookie("cw_session")
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
    assert "cw_session" not in driver.execute_script("return document.cookie")
    assert key not in driver.page_source
    assert key not in driver.current_url


def _connect_ro(driver: webdriver.Chrome, base: str) -> None:
    driver.get(f"{base}/dashboard/connections")
    element(driver, "#legalName").send_keys("TechVision SRL")
    element(driver, "#vatNumber").send_keys("RO12345678")
    Select(element(driver, "#company-country")).select_by_visible_text("RO")
    element(driver, "#add-company").click()
    wait_for(driver, lambda: "The company was added." in driver.page_source)
    Select(element(driver, "#connect-country")).select_by_visible_text("RO")
    # Off to ANAF's consent (the simulator's approves at once), back through the API's
    # callback, and from there to the connection's page.
    element(driver, "#connect").click()
    wait_for(driver, lambda: re.search(r"/dashboard/connections/conn_\w+", driver.current_url))
    assert text_of(driver, "#connection-status") == "active"
    assert "The connection is active." in driver.page_source
    screenshot(driver, "connection")
    driver.get(f"{base}/dashboard/connections")
    assert "TechVision SRL" in text_of(driver, "#connections")
    screenshot(driver, "connections")


def _add_endpoint(driver: webdriver.Chrome, base: str, url: str) -> str:
    driver.get(f"{base}/dashboard/webhooks")
    element(driver, "#url").send_keys(url)
    element(driver, "#description").send_keys("the journey's receiver")
    element(driver, "#add-endpoint").click()
    secret = wait_for(driver, lambda: text_of(driver, "#secret"))
    assert secret.startswith("whsec_")
    endpoint_page = element(driver, "#refresh-deliveries").get_attribute("href")
    assert endpoint_page is not None
    driver.get(endpoint_page)  # shown once: not on the page again
    assert secret not in driver.page_source
    return endpoint_page


def _send_and_watch(driver: webdriver.Chrome, base: str) -> str:
    driver.get(f"{base}/dashboard/sandbox")
    screenshot(driver, "sandbox")
    element(driver, "#send-test-invoice").click()
    wait_for(driver, lambda: driver.current_url.endswith("/dashboard/invoices?notice=sent"))
    badge = "#invoices tbody tr:first-child .status"
    assert text_of(driver, badge) != "accepted"
    # Marks this page: a reload would lose it, so finding it afterwards proves the status
    # changed in place.
    driver.execute_script("window.stillThisPage = true")
    wait_for(driver, lambda: text_of(driver, badge) == "accepted", timeout=90)
    assert driver.execute_script("return window.stillThisPage") is True
    screenshot(driver, "invoices")
    link = element(driver, "#invoices tbody tr:first-child a")
    invoice_id = link.text
    link.click()
    wait_for(driver, lambda: "invoice.accepted" in text_of(driver, "#timeline"))
    timeline = text_of(driver, "#timeline")
    for event in ("invoice.created", "invoice.validated", "invoice.submitted"):
        assert event in timeline
    assert "6188.00 RON" in driver.page_source
    screenshot(driver, "invoice")
    return invoice_id


def _see_delivery(driver: webdriver.Chrome, endpoint_page: str) -> None:
    def delivered() -> bool:
        driver.get(endpoint_page)
        rows = driver.find_elements(By.CSS_SELECTOR, "#deliveries tbody tr")
        return any("invoice.accepted" in r.text and "delivered" in r.text for r in rows)

    wait_for(driver, delivered, timeout=60)
    assert "HTTP 200" in text_of(driver, "#deliveries")
    screenshot(driver, "webhook")


def _sign_out(driver: webdriver.Chrome, base: str) -> None:
    element(driver, "#sign-out").click()
    wait_for(driver, lambda: "You are signed out." in driver.page_source)
    assert driver.get_cookie("cw_session") is None
    driver.get(f"{base}/dashboard/invoices")
    wait_for(driver, lambda: driver.current_url.endswith("/dashboard/sign-in"))


async def _documents_are_served(base: str, session_cookie: str, invoice_id: str) -> None:
    """The invoice page's links, with the browser's session: the XML and ANAF's receipt."""
    async with aclosing(DashboardClient(base, session_cookie)) as client:
        for link in ("document", "receipt"):
            answer = await client.get(f"/dashboard/invoices/{invoice_id}/{link}")
            assert answer.status_code == 200, (link, answer.text)
            assert answer.content.lstrip().startswith((b"<?xml", b"<", b"PK")), link


async def test_a_person_connects_sends_and_follows_an_invoice_in_a_browser(
    stack: Stack, make_account: MakeAccount
) -> None:
    _, api = await make_account()
    key = api_key_of(api)
    base = stack.api_url
    async with running_receiver() as receiver:
        hook_url = receiver.route()
        with headless_chromium() as driver:
            await in_thread(lambda: _sign_in(driver, base, key))
            await in_thread(lambda: _connect_ro(driver, base))
            endpoint_page = await in_thread(lambda: _add_endpoint(driver, base, hook_url))
            invoice_id = await in_thread(lambda: _send_and_watch(driver, base))
            session = driver.get_cookie("cw_session")
            assert session is not None
            await _documents_are_served(base, session["value"], invoice_id)
            await in_thread(lambda: _see_delivery(driver, endpoint_page))
            await in_thread(lambda: _sign_out(driver, base))
            # The cookie as it was before sign-out opens nothing: the server ended the session.
            assert await sent_to_sign_in(base, session["value"])
    # What the browser showed is what the API says.
    accepted = (await api.get(f"/v1/invoices/{invoice_id}")).json()["data"]
    assert accepted["status"] == "accepted"
    connections = (await api.get("/v1/connections")).json()["data"]
    assert [(c["countryCode"], c["status"]) for c in connections] == [("RO", "active")]
