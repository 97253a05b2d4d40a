"""Prometheus metrics of the service, served on ``/metrics``.

Every label takes a bounded set of values (routing modes and paths, HTTP statuses, the components and
operations of ``metadata``), never anything a client chose freely.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

# LLM calls take seconds to minutes: buckets up to the default upstream timeout (120 s).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)


class Metrics:
    """The service's instruments, in a registry of its own (one per app, so several apps can live in a test run)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "reasoning_api_requests",
            "Chat completion requests answered, by requested routing mode, path taken and HTTP status.",
            ["mode", "path", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "reasoning_api_request_duration_seconds",
            "Time to answer a chat completion, the whole stream included.",
            ["mode", "path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_duration = Histogram(
            "reasoning_api_upstream_request_duration_seconds",
            "Time of one call to LiteLLM, a streamed one until its stream is closed.",
            ["component", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "reasoning_api_upstream_errors",
            "Failed calls to LiteLLM, by the status the app answers for them (LiteLLM's, or 502/504).",
            ["component", "operation", "status"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
