"""A real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) for the UI checks.

Settings (the environment first, then the deployed inventory's variables, then the roles' defaults):
  LLM_GATEWAY_INVENTORY       the inventory folder (default inventories/dev); its group_vars give
                              balancer_https_port, llm_gateway_domain, llm_gateway_public_address, litellm_ui_username
  LLM_GATEWAY_HTTPS_PORT, LLM_GATEWAY_DOMAIN, LLM_GATEWAY_PUBLIC_ADDRESS   override those
  LLM_GATEWAY_CA_CERT         the dev CA's certificate (default <inventory>/tls/ca.crt)
  LLM_GATEWAY_BROWSER_TIMEOUT seconds a page or an element may take (default 240: the asset bundles of Phoenix come
                              slowly from a loaded CI host)

The browser trusts the dev CA for real: it is added to an NSS database in the browser's own fresh HOME (Chromium
on Linux reads its user trust store from $HOME/.pki/nssdb, not from the profile), so the certificate chain, the
host names and the dates are all verified. Certificate errors are never ignored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

INVENTORY = Path(os.environ.get("LLM_GATEWAY_INVENTORY", "inventories/dev"))
TIMEOUT = int(os.environ.get("LLM_GATEWAY_BROWSER_TIMEOUT", "240"))
RESULTS = Path(os.environ.get("LLM_GATEWAY_TEST_RESULTS", ".test-results"))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NETWORK_CHANGED_LOADS = 5
# The roles' defaults (the interface shared with the TLS entry point and the logins).
DEFAULTS = {
    "balancer_https_port": 8443,
    "llm_gateway_domain": "llm-gateway.localhost",
    "llm_gateway_public_address": "127.0.0.1",
    "litellm_ui_username": "admin",
    "litellm_phoenix_project_name": "default",
    # The stack's and the litellm role's defaults; LiteLLM's UI reaches the entry point only when both say so (dev:
    # both true; prod: both false).
    "balancer_litellm_admin_public": False,
    "litellm_ui_enabled": True,
}
ENV_OVERRIDES = {
    "balancer_https_port": "LLM_GATEWAY_HTTPS_PORT",
    "llm_gateway_domain": "LLM_GATEWAY_DOMAIN",
    "llm_gateway_public_address": "LLM_GATEWAY_PUBLIC_ADDRESS",
    "litellm_ui_username": "LITELLM_UI_USERNAME",
    "litellm_phoenix_project_name": "PHOENIX_PROJECT",
    "balancer_litellm_admin_public": "LLM_GATEWAY_LITELLM_ADMIN_PUBLIC",
    "litellm_ui_enabled": "LITELLM_UI_ENABLED",
}


def _inventory_vars() -> dict:
    """The gateway host's variables as the inventory sets them (no vault: nothing secret is decrypted here)."""
    env = dict(os.environ, ANSIBLE_VARS_ENABLED="host_group_vars", ANSIBLE_INVENTORY_IGNORE_REGEX="^vault$,^tls$")
    run = subprocess.run(
        ["ansible-inventory", "-i", str(INVENTORY), "--list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, f"ansible-inventory -i {INVENTORY} --list failed: {run.stderr[-2000:]}"
    data = json.loads(run.stdout)
    hosts = data.get("gateway", {}).get("hosts") or list(data.get("_meta", {}).get("hostvars", {}))
    assert hosts, f"no host in the inventory {INVENTORY}"
    return data["_meta"]["hostvars"].get(hosts[0], {})


@pytest.fixture(scope="session")
def ui_settings() -> dict:
    found = _inventory_vars()
    settings = {
        name: os.environ.get(ENV_OVERRIDES[name]) or found.get(name, default) for name, default in DEFAULTS.items()
    }
    for flag in ("balancer_litellm_admin_public", "litellm_ui_enabled"):
        settings[flag] = str(settings[flag]).lower() in ("true", "yes", "1")
    settings["litellm_ui_public"] = settings["balancer_litellm_admin_public"] and settings["litellm_ui_enabled"]
    domain = settings["llm_gateway_domain"]
    base = f"https://{{}}.{domain}:{settings['balancer_https_port']}"
    settings["phoenix_url"] = base.format("phoenix")
    settings["litellm_url"] = base.format("llm")
    settings["ca_cert"] = Path(os.environ.get("LLM_GATEWAY_CA_CERT", INVENTORY / "tls" / "ca.crt"))
    assert settings["ca_cert"].is_file(), (
        f"the dev CA's certificate {settings['ca_cert']} is missing: the playbook writes it to <inventory>/tls/ca.crt"
    )
    return settings


def _trusting_home(ca_cert: Path) -> str:
    """A fresh HOME whose NSS database trusts the dev CA for TLS servers (and nothing else is added)."""
    home = tempfile.mkdtemp(prefix="llm-gateway-browser-")
    nssdb = Path(home, ".pki", "nssdb")
    nssdb.mkdir(parents=True)
    for args in (["-N", "--empty-password"], ["-A", "-n", "llm-gateway dev CA", "-t", "C,,", "-i", str(ca_cert)]):
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", *args], check=True, capture_output=True, timeout=60)
    return home


class Page:
    """The browser as the tests use it: navigation and explicit waits whose failures say what the page showed."""

    def __init__(self, driver: webdriver.Chrome):
        self.driver = driver
        # The page opened last, while nothing was typed into it since: a load that lost a resource to a network
        # change can then be done again without losing anything.
        self._reloadable_url: str | None = None
        self._loads_left = 0
        self._failed_loads: list[str] = []

    def describe(self) -> str:
        """Title, URL, the start of the visible text (no input values: a typed password never shows) and the
        resources the browser failed to load (a page that stays empty says why)."""
        try:
            text = self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException as error:
            text = f"<no body: {error.msg}>"
        excerpt = re.sub(r"\s+", " ", text).strip()[:600]
        self._network_changed()
        failed = "; ".join(self._failed_loads[-8:]) or "none"
        return f"title {self.driver.title!r}, URL {self.driver.current_url}, text: {excerpt!r}, failed loads: {failed}"

    def _network_changed(self) -> bool:
        """Whether the browser lost a load (the page or any resource: a script, a request of the app) to a change
        of the host's addresses since the last call; every failed load is kept for describe()."""
        changed = False
        for entry in self.driver.get_log("browser"):
            message = entry.get("message", "")
            if "Failed to load resource" in message:
                self._failed_loads.append(message[:200])
                changed = changed or "ERR_NETWORK_CHANGED" in message
        return changed

    def open(self, url: str) -> None:
        """Load a page. The engine's host adds and removes container networks all the time (other test stacks come
        and go), and Chromium drops a connection being made when the host's addresses change (ERR_NETWORK_CHANGED):
        a page is loaded again when it, or a resource of it, was lost that way, up to NETWORK_CHANGED_LOADS times in
        all, until something is typed into it (see wait). Measured here: with networks added and removed in a loop,
        7 of 30 loads of Phoenix's login page lost a script and stayed empty."""
        self._failed_loads.clear()
        self._reloadable_url, self._loads_left = url, NETWORK_CHANGED_LOADS
        self._load(url)

    def _load(self, url: str) -> None:
        while True:
            self._loads_left -= 1
            try:
                self.driver.get(url)
            except TimeoutException:
                pytest.fail(f"{url} did not load within {TIMEOUT} s; the page showed {self.describe()}")
            lost = self._network_changed() or "ERR_NETWORK_CHANGED" in self.text()
            if not lost or self._loads_left <= 0:
                return

    def _reload_if_network_changed(self) -> None:
        if self._reloadable_url and self._loads_left > 0 and self._network_changed():
            self._load(self._reloadable_url)

    def text(self) -> str:
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return ""

    def wait(self, condition, what: str):
        """Wait for condition(driver) to be truthy; on timeout fail with what was expected and what was shown."""

        def reloaded_or(driver):
            self._reload_if_network_changed()
            return condition(driver)

        try:
            return WebDriverWait(self.driver, TIMEOUT, ignored_exceptions=[WebDriverException]).until(reloaded_or)
        except TimeoutException:
            pytest.fail(f"waited {TIMEOUT} s for {what}; the page showed {self.describe()}")

    def element(self, css: str, what: str):
        """A displayed, enabled element matching a CSS selector."""

        def found(driver):
            for candidate in driver.find_elements(By.CSS_SELECTOR, css):
                if candidate.is_displayed() and candidate.is_enabled():
                    return candidate
            return None

        return self.wait(found, f"{what} ({css})")

    def visible(self, css: str) -> bool:
        try:
            return any(element.is_displayed() for element in self.driver.find_elements(By.CSS_SELECTOR, css))
        except WebDriverException:
            return False

    def click_text(self, text: str, what: str) -> None:
        """Click the displayed element whose own text is exactly this (a link, a menu entry)."""

        def found(driver):
            xpath = f"//*[normalize-space(text())='{text}']"
            return next((e for e in driver.find_elements(By.XPATH, xpath) if e.is_displayed()), None)

        self.wait(found, what).click()

    def wait_text(self, pattern: str, what: str) -> str:
        """The page's visible text once it matches a regular expression."""
        return self.wait(lambda driver: re.search(pattern, self.text()) and self.text(), what)

    def fill(self, css: str, value: str, what: str) -> None:
        field = self.element(css, what)
        self._reloadable_url = None  # a load from here on would lose what was typed
        field.clear()
        field.send_keys(value)

    def path(self) -> str:
        return urlsplit(self.driver.current_url).path


@pytest.fixture(scope="session")
def _chromium(ui_settings):
    """One headless Chromium for the whole session (its HTTP cache spares a reload of the UIs' bundles)."""
    assert Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file(), (
        f"{CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver libnss3-tools"
    )
    home = _trusting_home(ui_settings["ca_cert"])
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The console's "Failed to load resource" lines: how Page sees a load lost to a network change.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    resolve = ", ".join(
        f"MAP {name}.{ui_settings['llm_gateway_domain']} {ui_settings['llm_gateway_public_address']}"
        for name in ("phoenix", "llm")
    )
    for argument in (
        # Root in a container: no sandbox; no GPU; and nothing that reaches for the (closed) network by itself.
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={home}/profile",
        # The entry point's names lead to its published address, whatever the domain resolves to here.
        f"--host-resolver-rules={resolve}",
        # An HTTP/2 session is closed with every request on it when the host's addresses change (a container
        # network comes or goes): measured here, 7 of 30 page loads failed with HTTP/2, none with HTTP/1.1.
        "--disable-http2",
    ):
        options.add_argument(argument)
    # HOME is the fresh one with the trusted dev CA; chromedriver hands its environment to Chromium.
    service = Service(CHROMEDRIVER, env=dict(os.environ, HOME=home))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(TIMEOUT)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def page(_chromium, ui_settings, request):
    """The session's browser, logged out of both UIs (cookies and storage cleared, the HTTP cache kept); a failed
    test leaves a screenshot under .test-results/browser/ (not the HTML: React copies a typed password into the
    input's value attribute)."""
    for url in (ui_settings["phoenix_url"], ui_settings["litellm_url"]):
        origin = url.rstrip("/")
        _chromium.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
    _chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    yield Page(_chromium)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = RESULTS / "browser"
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        _chromium.save_screenshot(str(folder / f"{name}.png"))
