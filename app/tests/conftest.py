"""Test set-up: the package from app/src, and a fake LiteLLM proxy behind httpx.MockTransport."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reasoning_api_fakes import CLIENT_TOKEN, VIRTUAL_KEY, FakeProxy

from reasoning_api.config import Settings
from reasoning_api.main import create_app


@pytest.fixture
def proxy() -> FakeProxy:
    return FakeProxy()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """The spans of the apps ``make_client`` builds, each exported as it ends."""
    return InMemorySpanExporter()


@pytest.fixture
def make_client(proxy, exporter):
    """make_client(**settings) -> TestClient of an app on the fake ``proxy``, its spans sent to ``exporter``."""
    clients = []

    def make(raise_server_exceptions: bool = True, **overrides) -> TestClient:
        # Every app requires a client token, as deployed; the client sends it unless a test removes the header.
        values = {"llm_api_key": VIRTUAL_KEY, "llm_base_url": "http://litellm:4000", "client_tokens": (CLIENT_TOKEN,),
                  **overrides}
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        app = create_app(Settings(**values), transport=httpx.MockTransport(proxy), tracer_provider=provider)
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions,
                            headers={"Authorization": f"Bearer {CLIENT_TOKEN}"})
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()
