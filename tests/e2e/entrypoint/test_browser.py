"""A real headless browser logs into Phoenix and the LiteLLM admin UI through the TLS entry point (see browser.py:
Chromium trusts the dev CA, nothing about the certificate is ignored) and checks what the pages show."""

from __future__ import annotations

import re
import secrets as random_secrets

from selenium.webdriver.common.by import By

from browser import _chromium, page, ui_settings  # noqa: F401  (fixtures)
from conftest import INVENTORY_KEYS

PHOENIX_ADMIN_EMAIL = "admin@localhost"
LOGIN_FAILED = r"(?i)invalid|incorrect|failed|wrong|unauthori[sz]ed"


def _phoenix_login(page, ui_settings, password: str) -> None:
    page.open(f"{ui_settings['phoenix_url']}/")
    page.wait(lambda _: page.path() == "/login", "Phoenix to send a visitor without a session to /login")
    page.fill("input[name=email]", PHOENIX_ADMIN_EMAIL, "Phoenix's email field")
    page.fill("input[name=password]", password, "Phoenix's password field")
    page.element("button[type=submit]", "Phoenix's Log In button").click()


def _litellm_login(page, ui_settings, password: str) -> None:
    # /ui as a person types it: LiteLLM answers with a redirect to /ui/, which must stay on HTTPS (the entry point
    # sends X-Forwarded-Proto and LiteLLM must trust it, else the browser lands on http:// at the HTTPS port).
    page.open(f"{ui_settings['litellm_url']}/ui")
    assert page.driver.current_url.startswith("https://"), f"LiteLLM redirected to plain HTTP: {page.describe()}"
    page.wait(lambda _: page.path().startswith("/ui/login"), "LiteLLM's UI to send a visitor without a session to its login")
    page.fill("form input:not([type=password])", ui_settings["litellm_ui_username"], "LiteLLM's username field")
    page.fill("form input[type=password]", password, "LiteLLM's password field")
    page.element("form button[type=submit]", "LiteLLM's Login button").click()


def test_phoenix_shows_its_login_page_not_the_traces(page, ui_settings):
    page.open(f"{ui_settings['phoenix_url']}/")
    page.element("input[name=email]", "Phoenix's login form")
    page.element("input[name=password]", "Phoenix's login form")
    assert page.path() == "/login", f"Phoenix without a session: expected /login; the page showed {page.describe()}"
    assert ui_settings["litellm_phoenix_project_name"] not in page.text().split(), page.describe()


def test_phoenix_admin_logs_in_and_sees_the_stack_project(page, ui_settings, secrets):
    password = secrets["phoenix_admin_password"]
    project = ui_settings["litellm_phoenix_project_name"]
    project_shown = rf"(?m)^{re.escape(project)}$"
    _phoenix_login(page, ui_settings, password)
    # Phoenix may pass through /projects before it sends the admin on, so the page's content decides, not its path.
    page.wait(
        lambda _: page.visible("input[name=newPassword]") or (
            page.path().startswith("/projects") and re.search(project_shown, page.text())),
        "Phoenix to let the admin in (its projects page, or its password reset at the first login)",
    )
    # Phoenix asks its default admin for a new password at the first login, whatever the initial one, and its form
    # refuses the same password: the playbook must clear that request (patchViewer with the vault's password), or
    # the vault's password would open nothing but this form.
    assert not page.visible("input[name=newPassword]"), (
        f"Phoenix asks the admin for a new password instead of showing the projects: {page.describe()}"
    )
    page.wait(lambda _: page.path().startswith("/projects"), "Phoenix's projects page after the login")
    page.wait_text(project_shown, f"the project {project!r} on Phoenix's projects page")
    assert not page.visible("input[name=password]"), f"still a login form: {page.describe()}"


def test_phoenix_wrong_password_stays_on_the_login_page_with_an_error(page, ui_settings):
    _phoenix_login(page, ui_settings, random_secrets.token_urlsafe(16))
    page.wait_text(LOGIN_FAILED, "Phoenix's error for a wrong password")
    assert page.path() == "/login", f"a wrong password left the login page: {page.describe()}"


def _assert_litellm_ui_not_served(page, ui_settings) -> None:
    """Where the inventory keeps LiteLLM's UI off the entry point (prod), the browser gets no login form there."""
    page.open(f"{ui_settings['litellm_url']}/ui/")
    # The page has loaded (open waits for it): the UI's Next.js bundle would be in it by now, the form comes later.
    served = len(page.driver.find_elements(By.CSS_SELECTOR, "script[src*='/_next/'], input[type=password]")) > 0
    assert not served and "LiteLLM" not in page.driver.title, f"LiteLLM's UI is served publicly: {page.describe()}"


def test_litellm_ui_logs_in_and_shows_the_virtual_keys(page, ui_settings, secrets):
    if not ui_settings["litellm_ui_public"]:
        _assert_litellm_ui_not_served(page, ui_settings)
        return
    _litellm_login(page, ui_settings, secrets["litellm_ui_password"])
    page.wait(lambda _: not page.path().startswith("/ui/login"), "LiteLLM's UI to let the admin in")
    # The dashboard opens on its home page: the sidebar's entry leads to the keys.
    page.click_text("Virtual Keys", "the sidebar's Virtual Keys entry")
    for alias in INVENTORY_KEYS:
        page.wait_text(rf"\b{re.escape(alias)}\b", f"the inventory's key {alias!r} in LiteLLM's key list")


def test_litellm_ui_wrong_password_stays_on_the_login_form_with_an_error(page, ui_settings):
    if not ui_settings["litellm_ui_public"]:
        _assert_litellm_ui_not_served(page, ui_settings)
        return
    _litellm_login(page, ui_settings, random_secrets.token_urlsafe(16))
    page.wait_text(LOGIN_FAILED, "LiteLLM's error for a wrong password")
    assert page.path().startswith("/ui/login"), f"a wrong password left the login form: {page.describe()}"
