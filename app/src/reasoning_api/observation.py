"""The root span and the metrics of each chat completion, seen from outside the route.

A pure ASGI middleware, so that it wraps the whole answer: the exception handlers' error responses, and a
stream until its last byte. It reads what the client reads: the routing headers of the request and the response.
"""

from __future__ import annotations

import time

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, use_span
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import APIError
from .llm_client import CHAT_PATH
from .metrics import Metrics
from .reasoning import STEPS_HEADER
from .routing import HEADER as MODE_HEADER
from .routing import PATH_HEADER, resolve_mode
from .tracing import CHAIN, METADATA, SPAN_KIND, STATUS_CODE, metadata_attribute

ROOT_SPAN = "chat_completion"


class RequestObserver:
    def __init__(self, app: ASGIApp, tracer: Tracer, metrics: Metrics, default_mode: str):
        self.app = app
        self.tracer = tracer
        self.metrics = metrics
        self.default_mode = default_mode

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHAT_PATH:
            await self.app(scope, receive, send)
            return
        mode = self.requested_mode(Headers(scope=scope))
        # What the client gets; an exception that escapes the route becomes a 500 further out.
        answer = {"status": 500, "headers": Headers()}

        async def observe_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = Headers(raw=message["headers"])
            await send(message)

        started = time.perf_counter()
        span = self.tracer.start_span(ROOT_SPAN, kind=SpanKind.SERVER, attributes={SPAN_KIND: CHAIN})
        try:
            # The route's LLM calls find this span as the current one and become its children.
            with use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                await self.app(scope, receive, observe_start)
        finally:
            self.record(span, mode, answer["status"], answer["headers"], time.perf_counter() - started)

    def record(self, span: Span, mode: str, status: int, headers: Headers, seconds: float) -> None:
        path = headers.get(PATH_HEADER, "none")
        facts: dict = {"routing_mode": mode, "routing_path": path}
        if headers.get(STEPS_HEADER) is not None:
            facts["reasoning_steps"] = int(headers[STEPS_HEADER])
        span.set_attribute(METADATA, metadata_attribute(facts))
        span.set_attribute(STATUS_CODE, status)
        span.set_status(Status(StatusCode.OK) if status < 400 else Status(StatusCode.ERROR, f"HTTP {status}"))
        span.end()
        self.metrics.requests.labels(mode, path, str(status)).inc()
        self.metrics.request_duration.labels(mode, path).observe(seconds)

    def requested_mode(self, headers: Headers) -> str:
        try:
            return resolve_mode(headers.get(MODE_HEADER), self.default_mode)
        except APIError:
            return "invalid"  # the route answers 400; the label stays one of a few values
