#!/usr/bin/python
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A development CA and a server certificate signed by it, kept (not regenerated) while still good."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tls_dev_certificates
short_description: Keep a development CA and a server certificate for some host names, as PEM text
description:
  - Takes the CA and the server certificate a run read from the vault (empty on a first run) and returns the
    certificates unchanged while they are still good, or new certificates and their new keys otherwise (a key is
    returned only when new). Nothing is written anywhere; the caller keeps the
    result in the inventory's vault (role C(llm_gateway_secrets)).
  - The CA (an ECDSA P-256 key, a self-signed certificate that may sign server certificates only) is created when
    missing, when its key does not match its certificate, or when it expires within O(renew_days).
  - The server certificate (ECDSA P-256, for TLS servers, its subject alternative names exactly O(names)) is issued
    again when missing, not signed by that CA, not matching its key, not for exactly O(names), or expiring within
    O(renew_days). Otherwise nothing changes (V(changed=false)).
  - For development and test stacks only; production brings a certificate from a real CA.
  - Needs the Python C(cryptography) library where it runs (the controller's, with C(delegate_to=localhost)).
options:
  names:
    description: DNS names the server certificate is for (its subject alternative names; the first is its common name).
    type: list
    elements: str
    required: true
  ca_certificate:
    description: The CA's certificate (PEM) held so far; empty when there is none.
    type: str
    default: ""
  ca_private_key:
    description: The CA's private key (PEM, unencrypted) held so far; empty when there is none.
    type: str
    default: ""
  certificate:
    description: The server certificate (PEM) held so far; empty when there is none.
    type: str
    default: ""
  private_key:
    description: The server certificate's private key (PEM, unencrypted) held so far; empty when there is none.
    type: str
    default: ""
  ca_common_name:
    description: Common name of a new CA.
    type: str
    default: llm-gateway development CA
  ca_valid_days:
    description: Days a new CA certificate is valid.
    type: int
    default: 3650
  valid_days:
    description: Days a new server certificate is valid (browsers refuse more than 398).
    type: int
    default: 397
  renew_days:
    description: A certificate that expires within this many days is replaced.
    type: int
    default: 30
notes:
  - Use C(no_log=true) on the task, since its result holds the private keys.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module has no side effect; in check mode it returns what it would return otherwise.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
requirements:
  - cryptography >= 3.1
author:
  - llm-gateway-ansible contributors !UNKNOWN
"""

EXAMPLES = r"""
- name: Keep the development CA and the server certificate
  llm_gateway.stack.tls_dev_certificates:
    names: [api.llm-gateway.localhost, llm.llm-gateway.localhost, phoenix.llm-gateway.localhost]
    ca_certificate: "{{ secrets.tls_ca_certificate | default('') }}"
    ca_private_key: "{{ secrets.tls_ca_private_key | default('') }}"
    certificate: "{{ secrets.tls_certificate | default('') }}"
    private_key: "{{ secrets.tls_private_key | default('') }}"
  delegate_to: localhost
  register: tls
  no_log: true
"""

RETURN = r"""
ca_certificate:
  description: The CA's certificate (PEM).
  returned: success
  type: str
ca_private_key:
  description:
    - The new CA's private key (PEM, PKCS#8, unencrypted).
    - Only when a new CA was made (a key given as input would come back masked, as a no_log value).
  returned: when ca_created
  type: str
certificate:
  description: The server certificate (PEM).
  returned: success
  type: str
private_key:
  description: The new server certificate's private key (PEM, PKCS#8, unencrypted), only when one was issued.
  returned: when certificate_issued
  type: str
ca_created:
  description: Whether a new CA was made.
  returned: success
  type: bool
certificate_issued:
  description: Whether a new server certificate was issued.
  returned: success
  type: bool
reasons:
  description: Why something was made again (empty when nothing changed).
  returned: success
  type: list
  elements: str
  sample: ["the server certificate is for other names"]
not_after:
  description: When the server certificate expires (ISO 8601, UTC).
  returned: success
  type: str
"""

import datetime
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    CRYPTOGRAPHY_ERROR = traceback.format_exc()
else:
    CRYPTOGRAPHY_ERROR = None


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _not_after(cert):
    return cert.not_valid_after_utc if hasattr(cert, "not_valid_after_utc") else cert.not_valid_after.replace(
        tzinfo=datetime.timezone.utc)


def _load(cert_pem, key_pem):
    """(certificate, key) from PEM text, or (None, None) when either is missing or unreadable."""
    if not cert_pem.strip() or not key_pem.strip():
        return None, None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        return None, None
    return cert, key


def _public_bytes(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_matches(cert, key):
    return _public_bytes(cert.public_key()) == _public_bytes(key.public_key())


def _signed_by(cert, ca_cert):
    if cert.issuer != ca_cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _dns_names(cert):
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return set(san.get_values_for_type(x509.DNSName))


def ca_problem(cert, key, renew_days, now=None):
    """Why the CA must be made again, or None when it is good."""
    now = now or _now()
    if cert is None:
        return "there is no CA yet"
    if not _key_matches(cert, key):
        return "the CA's key does not match its certificate"
    if _not_after(cert) - now < datetime.timedelta(days=renew_days):
        return f"the CA expires within {renew_days} days"
    return None


def certificate_problem(cert, key, ca_cert, names, renew_days, now=None):
    """Why the server certificate must be issued again, or None when it is good."""
    now = now or _now()
    if cert is None:
        return "there is no server certificate yet"
    if not _key_matches(cert, key):
        return "the server certificate does not match its key"
    if not _signed_by(cert, ca_cert):
        return "the server certificate is not signed by the CA"
    if _dns_names(cert) != set(names):
        return "the server certificate is for other names"
    if _not_after(cert) - now < datetime.timedelta(days=renew_days):
        return f"the server certificate expires within {renew_days} days"
    return None


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name, valid_days, now=None):
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        # It signs server certificates only (no intermediate CA below it).
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_certificate(ca_cert, ca_key, names, valid_days, now=None):
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=valid_days), _not_after(ca_cert)))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def ensure(params, now=None):
    """The module's result (without 'changed' semantics beyond the two flags) from its parameters."""
    names = list(dict.fromkeys(params["names"]))
    result = {"ca_created": False, "certificate_issued": False, "reasons": []}
    ca_cert, ca_key = _load(params["ca_certificate"], params["ca_private_key"])
    reason = ca_problem(ca_cert, ca_key, params["renew_days"], now)
    if reason:
        ca_cert, ca_key = make_ca(params["ca_common_name"], params["ca_valid_days"], now)
        result["ca_created"] = True
        result["reasons"].append(reason)
        result["ca_certificate"], result["ca_private_key"] = _pem_cert(ca_cert), _pem_key(ca_key)
    else:
        result["ca_certificate"] = params["ca_certificate"]

    cert, key = _load(params["certificate"], params["private_key"])
    reason = certificate_problem(cert, key, ca_cert, names, params["renew_days"], now)
    if reason:
        cert, key = issue_certificate(ca_cert, ca_key, names, params["valid_days"], now)
        result["certificate_issued"] = True
        result["reasons"].append(reason)
        result["certificate"], result["private_key"] = _pem_cert(cert), _pem_key(key)
    else:
        result["certificate"] = params["certificate"]
    result["not_after"] = _not_after(cert).isoformat()
    result["changed"] = result["ca_created"] or result["certificate_issued"]
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "ca_certificate": {"type": "str", "default": ""},
            "ca_private_key": {"type": "str", "default": "", "no_log": True},
            "certificate": {"type": "str", "default": ""},
            "private_key": {"type": "str", "default": "", "no_log": True},
            "ca_common_name": {"type": "str", "default": "llm-gateway development CA"},
            "ca_valid_days": {"type": "int", "default": 3650},
            "valid_days": {"type": "int", "default": 397},
            "renew_days": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    if CRYPTOGRAPHY_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_ERROR)
    if not module.params["names"]:
        module.fail_json(msg="names is empty: give the DNS names the server certificate is for")
    if module.params["renew_days"] >= module.params["valid_days"]:
        module.fail_json(msg=f"renew_days ({module.params['renew_days']}) must be below valid_days "
                             f"({module.params['valid_days']}), or every run would issue a new certificate")
    module.exit_json(**ensure(module.params))


if __name__ == "__main__":
    main()
