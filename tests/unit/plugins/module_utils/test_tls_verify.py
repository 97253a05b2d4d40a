"""tls_verify: which httpx verify setting a module's client gets for its URL."""

import re
import ssl

import certifi
import pytest

from ansible_collections.llm_gateway.stack.plugins.module_utils._tls_verify import tls_verify


@pytest.mark.parametrize("url", ["http://127.0.0.1:4000", "HTTP://litellm.test", "http://phoenix:6006/"])
def test_an_http_url_gets_no_tls_context_and_reads_no_ca_file(tmp_path, url):
    assert tls_verify(url, True, str(tmp_path / "missing.pem")) is False


def test_https_validates_with_the_default_cas():
    assert tls_verify("https://litellm.example") is True


def test_https_without_validation_does_not_verify(tmp_path):
    assert tls_verify("https://litellm.example", False, str(tmp_path / "missing.pem")) is False


def test_https_with_a_ca_file_trusts_that_file():
    context = tls_verify("https://litellm.example", True, certifi.where())
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] > 0


def test_https_with_a_missing_ca_file_is_the_callers_error_naming_it(tmp_path):
    class CallersError(Exception):
        pass

    missing = str(tmp_path / "missing.pem")
    with pytest.raises(CallersError, match=re.escape("cannot load the CA certificates of ca_path %s: " % missing)):
        tls_verify("https://litellm.example", True, missing, error=CallersError)


def test_a_missing_ca_file_is_a_value_error_by_default(tmp_path):
    with pytest.raises(ValueError, match="missing.pem"):
        tls_verify("https://litellm.example", True, str(tmp_path / "missing.pem"))
