# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# httpx's ``verify`` for the modules' clients. httpx builds its TLS context when the client is made, and loading the
# default CA bundle takes about 0.2 s of a module run: an http:// URL, which never uses TLS, skips it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ssl

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit


def tls_verify(url, validate_certs=True, ca_path=None, error=ValueError):
    """False for an http:// URL or without validation; a context trusting ca_path; else True (the default CAs).

    Raises ``error`` (the caller's own exception type) naming ca_path when its certificates cannot be loaded."""
    if not validate_certs or urlsplit(url).scheme.lower() == "http":
        return False
    if not ca_path:
        return True
    try:
        return ssl.create_default_context(cafile=ca_path)
    except (OSError, ssl.SSLError) as exc:
        raise error("cannot load the CA certificates of ca_path %s: %s" % (ca_path, exc))
