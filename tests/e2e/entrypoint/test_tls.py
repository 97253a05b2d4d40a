"""The TLS entry point (the balancer's HTTPS frontend) of a deployed stack: its certificate verifies against the
inventory's development CA for each host name, plain HTTP redirects to it, old TLS is refused, each name reaches its
service, LiteLLM's admin routes follow the inventory's balancer_litellm_admin_public, an unknown name is refused.

Every request goes to the entry point's address (127.0.0.1 unless LLM_GATEWAY_TLS_ADDRESS says otherwise) with the
host name as SNI and Host header, so no DNS entry is needed. The inventory (LLM_GATEWAY_INVENTORY, default
inventories/dev) gives the CA (<inventory>/tls/ca.crt, or LLM_GATEWAY_TLS_CA) and the settings: its group_vars/llm_gateway/*.yml over the
stack's defaults (group_vars/all/stack.yml).
"""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
INVENTORY = Path(os.environ.get("LLM_GATEWAY_INVENTORY", REPO / "inventories" / "dev"))
ADDRESS = os.environ.get("LLM_GATEWAY_TLS_ADDRESS", "127.0.0.1")


def _settings() -> dict:
    merged = yaml.safe_load((REPO / "group_vars" / "all" / "stack.yml").read_text())
    for path in sorted((INVENTORY / "group_vars" / "llm_gateway").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


SETTINGS = _settings()
DOMAIN = SETTINGS["llm_gateway_domain"]
HTTPS_PORT = int(SETTINGS["balancer_https_port"])
HTTP_PORT = int(SETTINGS["balancer_http_redirect_port"])
ADMIN_PUBLIC = bool(SETTINGS["balancer_litellm_admin_public"])
NAMES = {"app": f"api.{DOMAIN}", "litellm": f"llm.{DOMAIN}", "phoenix": f"phoenix.{DOMAIN}"}


@pytest.fixture(scope="module")
def ca_file() -> Path:
    path = Path(os.environ.get("LLM_GATEWAY_TLS_CA", INVENTORY / "tls" / "ca.crt"))
    assert path.is_file(), f"{path} is missing: the playbook writes the development CA's certificate there"
    return path


@pytest.fixture(scope="module")
def tls(ca_file) -> httpx.Client:
    """A client that trusts the development CA only (not the system's CAs)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with httpx.Client(verify=context, timeout=60, follow_redirects=False) as client:
        yield client


def via_entry_point(client: httpx.Client, name: str, path: str, method: str = "GET", **kw) -> httpx.Response:
    """A request to the entry point's address for the host name `name` (its SNI and Host header)."""
    return client.request(method, f"https://{ADDRESS}:{HTTPS_PORT}{path}", headers={"Host": name, **kw.pop("headers", {})},
                          extensions={"sni_hostname": name}, **kw)


@pytest.mark.parametrize("role", sorted(NAMES))
def test_certificate_verifies_against_the_development_ca(ca_file, role):
    name = NAMES[role]
    context = ssl.create_default_context(cafile=str(ca_file))  # verifies the chain and the host name
    with socket.create_connection((ADDRESS, HTTPS_PORT), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname=name) as conn:
        names = [value for kind, value in conn.getpeercert()["subjectAltName"] if kind == "DNS"]
        assert conn.version() in ("TLSv1.2", "TLSv1.3")
    assert name in names


def test_certificate_is_refused_without_the_ca():
    context = ssl.create_default_context(cafile=None, capath=None, cadata=None)  # the system's CAs only
    with socket.create_connection((ADDRESS, HTTPS_PORT), timeout=30) as raw, pytest.raises(ssl.SSLCertVerificationError):
        context.wrap_socket(raw, server_hostname=NAMES["app"])


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")  # deprecated on purpose: the old versions
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLSv1.0", "TLSv1.1"])
def test_old_tls_is_refused_by_the_server(version):
    # The client offers only the old version (allowed at security level 0): the refusal must be the server's alert.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = context.maximum_version = version
    with socket.create_connection((ADDRESS, HTTPS_PORT), timeout=30) as raw, pytest.raises(ssl.SSLError) as refused:
        context.wrap_socket(raw, server_hostname=NAMES["app"])
    assert "ALERT_PROTOCOL_VERSION" in str(refused.value), refused.value


@pytest.mark.parametrize("role", sorted(NAMES))
def test_http_redirects_to_https(http, role):
    name = NAMES[role]
    response = http.get(f"http://{ADDRESS}:{HTTP_PORT}/some/path?x=1", headers={"Host": f"{name}:{HTTP_PORT}"})
    assert response.status_code == 301
    port = "" if HTTPS_PORT == 443 else f":{HTTPS_PORT}"
    assert response.headers["location"] == f"https://{name}{port}/some/path?x=1"


def test_http_refuses_an_unknown_host_name(http):
    response = http.get(f"http://{ADDRESS}:{HTTP_PORT}/", headers={"Host": f"unknown.{DOMAIN}"})
    assert response.status_code == 421


def test_the_api_name_reaches_the_app(tls):
    response = via_entry_point(tls, NAMES["app"], "/health")
    assert response.status_code == 200, response.text
    assert response.json()["service"] == "reasoning-api"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    # Phoenix's health path answers the app's refusal (its token is required everywhere but /health), not Phoenix's OK.
    assert via_entry_point(tls, NAMES["app"], "/healthz").status_code in (401, 404)


def test_the_apps_metrics_are_not_public(tls):
    response = via_entry_point(tls, NAMES["app"], "/metrics")
    assert response.status_code == 404 and response.text == "not routed", (response.status_code, response.text[:200])


def test_the_llm_name_reaches_litellm(tls):
    response = via_entry_point(tls, NAMES["litellm"], "/health/liveliness")
    assert response.status_code == 200, response.text
    assert "alive" in response.text.lower()
    # LiteLLM's API: without a key, LiteLLM itself refuses (not the entry point's 404).
    models = via_entry_point(tls, NAMES["litellm"], "/v1/models")
    assert models.status_code == 401, models.text


def test_the_phoenix_name_reaches_phoenix(tls):
    response = via_entry_point(tls, NAMES["phoenix"], "/healthz")
    assert response.status_code == 200, response.text
    assert response.headers["strict-transport-security"].startswith("max-age=")
    # LiteLLM's path: Phoenix's own answer (its web app's page), not LiteLLM's.
    assert "alive" not in via_entry_point(tls, NAMES["phoenix"], "/health/liveliness").text.lower()


@pytest.mark.parametrize("path", ["/key/generate", "/ui/", "/login"])
def test_litellm_admin_routes_follow_the_inventory(tls, path):
    response = via_entry_point(tls, NAMES["litellm"], path, method="POST" if path == "/key/generate" else "GET")
    if ADMIN_PUBLIC:
        assert not (response.status_code == 404 and response.text == "not routed"), f"{path} is not routed"
    else:
        assert response.status_code == 404 and response.text == "not routed", (response.status_code, response.text[:200])


def test_an_unknown_host_name_is_refused(tls):
    # A valid SNI for the handshake, but a Host this entry point does not serve.
    response = via_entry_point(tls, NAMES["app"], "/health", headers={"Host": f"unknown.{DOMAIN}"})
    assert response.status_code == 421
