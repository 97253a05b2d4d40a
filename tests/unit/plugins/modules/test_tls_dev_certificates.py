"""tls_dev_certificates: a CA and a server certificate made once, kept while good (changed=false), made again when
the names change, they near expiry, or they do not belong together; the whole module in check mode; keys never
echoed back."""

import datetime
import json

import pytest
from ansible.module_utils.testing import patch_module_args
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.llm_gateway.stack.plugins.modules import tls_dev_certificates as mod

NAMES = ["api.example.test", "llm.example.test", "phoenix.example.test"]
DEFAULTS = {"ca_common_name": "test CA", "ca_valid_days": 3650, "valid_days": 397, "renew_days": 30}
UTC = datetime.timezone.utc


def params(names=None, held=None, **kw):
    held = held or {}
    return dict(DEFAULTS, names=names or NAMES, ca_certificate=held.get("ca_certificate", ""),
                ca_private_key=held.get("ca_private_key", ""), certificate=held.get("certificate", ""),
                private_key=held.get("private_key", ""), **kw)


def held_after(first, previous=None):
    """What the vault holds after a run: the previous values, updated with what the run returned."""
    held = dict(previous or {})
    held.update({k: first[k] for k in ("ca_certificate", "ca_private_key", "certificate", "private_key") if k in first})
    return held


def cert(pem):
    return x509.load_pem_x509_certificate(pem.encode())


def test_first_run_makes_a_ca_and_a_certificate_for_the_names():
    result = mod.ensure(params())
    assert result["changed"] and result["ca_created"] and result["certificate_issued"]
    ca, server = cert(result["ca_certificate"]), cert(result["certificate"])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == NAMES
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    server.verify_directly_issued_by(ca)
    key = serialization.load_pem_private_key(result["private_key"].encode(), password=None)
    assert key.public_key().public_numbers() == server.public_key().public_numbers()
    assert server.not_valid_after_utc - datetime.datetime.now(UTC) > datetime.timedelta(days=396)


def test_second_run_changes_nothing_and_returns_no_key():
    held = held_after(mod.ensure(params()))
    second = mod.ensure(params(held=held))
    assert not second["changed"] and second["reasons"] == []
    assert second["ca_certificate"] == held["ca_certificate"] and second["certificate"] == held["certificate"]
    # A key given in comes back masked by Ansible (no_log): the module must not return it at all.
    assert "private_key" not in second and "ca_private_key" not in second


def test_other_names_issue_a_new_certificate_from_the_same_ca():
    held = held_after(mod.ensure(params()))
    names = ["api.other.test", "llm.other.test", "phoenix.other.test"]
    result = mod.ensure(params(names=names, held=held))
    assert result["certificate_issued"] and not result["ca_created"]
    assert result["reasons"] == ["the server certificate is for other names"]
    assert "ca_private_key" not in result
    cert(result["certificate"]).verify_directly_issued_by(cert(held["ca_certificate"]))


def test_the_same_names_in_another_order_keep_the_certificate():
    held = held_after(mod.ensure(params()))
    assert not mod.ensure(params(names=list(reversed(NAMES)), held=held))["changed"]


def test_a_certificate_near_expiry_is_issued_again():
    held = held_after(mod.ensure(params()))
    later = datetime.datetime.now(UTC) + datetime.timedelta(days=380)
    result = mod.ensure(params(held=held), now=later)
    assert result["certificate_issued"] and not result["ca_created"]
    assert result["reasons"] == ["the server certificate expires within 30 days"]
    assert cert(result["certificate"]).not_valid_before_utc <= later


def test_a_ca_near_expiry_is_made_again_with_a_new_certificate():
    held = held_after(mod.ensure(params()))
    later = datetime.datetime.now(UTC) + datetime.timedelta(days=3640)
    result = mod.ensure(params(held=held), now=later)
    assert result["ca_created"] and result["certificate_issued"]
    assert result["ca_certificate"] != held["ca_certificate"]


def test_a_certificate_of_another_ca_is_issued_again():
    held = held_after(mod.ensure(params()))
    stranger = mod.ensure(params())
    mixed = dict(held, certificate=stranger["certificate"], private_key=stranger["private_key"])
    result = mod.ensure(params(held=mixed))
    assert result["reasons"] == ["the server certificate is not signed by the CA"]


def test_a_key_that_does_not_match_is_replaced():
    held = held_after(mod.ensure(params()))
    other = mod.ensure(params())
    result = mod.ensure(params(held=dict(held, private_key=other["private_key"])))
    assert result["reasons"] == ["the server certificate does not match its key"]
    result = mod.ensure(params(held=dict(held, ca_private_key=other["ca_private_key"])))
    assert result["reasons"][0] == "the CA's key does not match its certificate" and result["ca_created"]


def test_garbage_counts_as_missing():
    result = mod.ensure(params(held={"ca_certificate": "not a pem", "ca_private_key": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                                     "certificate": "x", "private_key": "y"}))
    assert result["reasons"] == ["there is no CA yet", "there is no server certificate yet"]


def run_module(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


def test_module_in_check_mode_reports_the_change_and_hides_given_keys(capsys):
    first = run_module(capsys, {"names": NAMES, "_ansible_check_mode": True})
    assert first["changed"] and "BEGIN PRIVATE KEY" in first["private_key"]
    held = held_after(first)
    second = run_module(capsys, dict(held, names=NAMES, _ansible_check_mode=True))
    assert second["changed"] is False
    assert held["private_key"] not in json.dumps(second) and held["ca_private_key"] not in json.dumps(second)


@pytest.mark.parametrize("args, message", [
    ({"names": []}, "names is empty"),
    ({"names": NAMES, "renew_days": 400}, "renew_days (400) must be below valid_days (397)"),
])
def test_module_refuses_bad_arguments(capsys, args, message):
    result = run_module(capsys, args)
    assert result["failed"] and message in result["msg"]
