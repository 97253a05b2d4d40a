"""OpenTelemetry tracing in OpenInference terms, so that Phoenix renders a request as one trace.

The root span of a request is made by ``observation.RequestObserver``; each call to LiteLLM gets a child span
(``llm_client.UpstreamCall``) whose W3C ``traceparent`` goes out with the call, so that LiteLLM's own spans join the
trace under it. Spans hold routing facts and the metadata sent to LiteLLM, never a prompt, an answer or a header:
the prompts are in LiteLLM's spans, under LiteLLM's own switch for storing them.
"""

from __future__ import annotations

import json

from openinference.semconv.resource import ResourceAttributes
from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NoOpTracer, Span, Tracer, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from . import __version__
from .config import Settings

SERVICE_NAME = "reasoning-api"
# Bounds how long one export may wait on an unreachable Phoenix; exports run on the processor's thread, so this
# delays only the shutdown's last flush, never a request.
EXPORT_TIMEOUT_SECONDS = 5
CHAIN = OpenInferenceSpanKindValues.CHAIN.value
SESSION_ID = SpanAttributes.SESSION_ID
METADATA = SpanAttributes.METADATA
SPAN_KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
STATUS_CODE = "http.response.status_code"
_PROPAGATOR = TraceContextTextMapPropagator()


def tracer_provider(settings: Settings) -> TracerProvider | None:
    """A provider exporting in batches over OTLP/HTTP to the configured endpoint; None when tracing is off.

    The batch processor queues finished spans and exports them on its own thread: a slow or absent Phoenix
    never holds a request (a full queue drops spans instead).
    """
    if not settings.tracing_endpoint:
        return None
    resource = Resource.create(
        {
            "service.name": SERVICE_NAME,
            "service.version": __version__,
            ResourceAttributes.PROJECT_NAME: settings.tracing_project_name,
        }
    )
    provider = TracerProvider(resource=resource)
    # Phoenix with authentication on takes a system API key as a bearer token.
    headers = {"authorization": f"Bearer {settings.tracing_api_key}"} if settings.tracing_api_key else None
    exporter = OTLPSpanExporter(endpoint=settings.tracing_endpoint, timeout=EXPORT_TIMEOUT_SECONDS, headers=headers)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def tracer_of(provider: TracerProvider | None) -> Tracer:
    return provider.get_tracer("reasoning_api", __version__) if provider is not None else NoOpTracer()


def metadata_attribute(metadata: dict) -> str:
    """OpenInference's ``metadata`` is one JSON string; Phoenix filters on its keys (``metadata['component']``)."""
    return json.dumps(metadata, sort_keys=True)


def trace_context_headers(span: Span) -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) naming ``span`` as the parent; empty when the span is not traced."""
    headers: dict[str, str] = {}
    _PROPAGATOR.inject(headers, context=set_span_in_context(span))
    return headers
