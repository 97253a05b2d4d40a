"""The one way this service reaches an LLM: the LiteLLM proxy, with the virtual key.

Each call is an ``UpstreamCall``: a child span of the request's span whose ``traceparent`` goes out with the
call (so LiteLLM's spans join the request's trace), and its duration and failures in the metrics.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

import httpx
from opentelemetry.trace import Status, StatusCode, Tracer

from .config import Settings
from .errors import APIError, from_upstream, redact
from .metrics import Metrics
from .tracing import CHAIN, METADATA, SPAN_KIND, STATUS_CODE, metadata_attribute, trace_context_headers

log = logging.getLogger(__name__)
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
# httpx's error when a kept-alive connection was closed as a request went out, before any answer: the proxy's side
# closed it (idle, or the balancer dropping it for a replica that went away), so the request was not handled.
NO_ANSWER = "without sending a response"


def closed_before_answer(exc: httpx.HTTPError) -> bool:
    return isinstance(exc, httpx.RemoteProtocolError) and NO_ANSWER in str(exc)


class UpstreamCall:
    """One call to LiteLLM: its span (named for what the app does with it) and its metrics."""

    def __init__(self, tracer: Tracer, metrics: Metrics, span_name: str, body: dict | None, attributes: dict | None):
        metadata = (body or {}).get("metadata") or {}
        self._labels = (metadata.get("component", "none"), metadata.get("operation", "none"))
        self._metrics = metrics
        span_attributes = {SPAN_KIND: CHAIN, METADATA: metadata_attribute({**metadata, **(attributes or {})})}
        self.span = tracer.start_span(span_name, attributes=span_attributes)
        self._started = time.perf_counter()
        self._failed = False

    def headers(self) -> dict[str, str]:
        return trace_context_headers(self.span)

    def fail(self, error: APIError) -> None:
        self._failed = True
        self._metrics.upstream_errors.labels(*self._labels, str(error.status)).inc()
        self.span.set_attribute(STATUS_CODE, error.status)
        self.span.set_status(Status(StatusCode.ERROR, f"HTTP {error.status} {error.code or error.type}"))

    def end(self) -> None:
        self._metrics.upstream_duration.labels(*self._labels).observe(time.perf_counter() - self._started)
        if not self._failed:
            self.span.set_status(Status(StatusCode.OK))
        self.span.end()


class LLMClient:
    def __init__(
        self,
        settings: Settings,
        tracer: Tracer,
        metrics: Metrics,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self._key = settings.llm_api_key
        self._timeout = settings.llm_timeout_seconds
        self._tracer = tracer
        self._metrics = metrics
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._http = httpx.AsyncClient(
            base_url=settings.llm_base_url,
            headers=headers,
            timeout=httpx.Timeout(settings.llm_timeout_seconds),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def ensure_key(self) -> None:
        if not self._key:
            raise APIError(
                503,
                "The LLM API key is not configured (set LLM_API_KEY to a LiteLLM virtual key).",
                type="service_unavailable",
                code="llm_api_key_missing",
            )

    def transport_error(self, exc: httpx.HTTPError) -> APIError:
        if isinstance(exc, httpx.TimeoutException):
            return APIError(
                504,
                f"The LLM proxy did not answer within {self._timeout:g}s",
                type="timeout_error",
                code="upstream_timeout",
            )
        detail = redact(str(exc), (self._key,)) or type(exc).__name__
        return APIError(
            502, f"Could not reach the LLM proxy: {detail}", type="api_connection_error", code="upstream_unavailable"
        )

    async def _send(self, request: httpx.Request, stream: bool = False) -> httpx.Response:
        """Send, and send once more on a new connection when the first one closed before any answer."""
        try:
            return await self._http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            if not closed_before_answer(exc):
                raise
            log.info("%s %s: the connection closed before any answer, sent again", request.method, request.url.path)
            return await self._http.send(request, stream=stream)

    def _call(self, span_name: str, body: dict | None, attributes: dict | None) -> UpstreamCall:
        return UpstreamCall(self._tracer, self._metrics, span_name, body, attributes)

    async def _request(self, method: str, path: str, call: UpstreamCall, body: dict | None = None) -> dict:
        try:
            response = await self._send(self._http.build_request(method, path, json=body, headers=call.headers()))
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None
        if response.status_code >= 300:
            raise from_upstream(response.status_code, response.content, (self._key,))
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise APIError(
                502, "The LLM proxy answered with a body that is not a JSON object", code="bad_upstream_response"
            )
        return payload

    async def _traced_request(
        self, method: str, path: str, span_name: str, body: dict | None = None, attributes: dict | None = None
    ) -> dict:
        self.ensure_key()
        call = self._call(span_name, body, attributes)
        try:
            return await self._request(method, path, call, body)
        except APIError as exc:
            call.fail(exc)
            raise
        finally:
            call.end()

    async def list_models(self) -> dict:
        return await self._traced_request("GET", MODELS_PATH, "list_models")

    async def chat(self, body: dict, span_name: str, attributes: dict | None = None) -> dict:
        """A non-streamed chat completion, traced as a span ``span_name`` (``attributes`` join its metadata)."""
        return await self._traced_request("POST", CHAT_PATH, span_name, body, attributes)

    async def open_stream(self, body: dict, span_name: str) -> ChatStream:
        """Start a streamed chat completion; errors before the first byte raise APIError here.

        The span lasts until the stream is closed.
        """
        self.ensure_key()
        call = self._call(span_name, body, None)
        try:
            response = await self._send_stream(body, call)
        except APIError as exc:
            call.fail(exc)
            call.end()
            raise
        return ChatStream(response, self, call)

    async def _send_stream(self, body: dict, call: UpstreamCall) -> httpx.Response:
        request = self._http.build_request("POST", CHAT_PATH, json=body, headers=call.headers())
        try:
            response = await self._send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None
        if response.status_code >= 300:
            try:
                content = await response.aread()
            except httpx.HTTPError:
                content = b""
            finally:
                await response.aclose()
            raise from_upstream(response.status_code, content, (self._key,))
        return response


class ChatStream:
    """The ``data:`` events of a streamed completion, parsed; ends at ``[DONE]``."""

    def __init__(self, response: httpx.Response, client: LLMClient, call: UpstreamCall):
        self._response = response
        self._client = client
        self._call = call

    async def events(self) -> AsyncIterator[dict]:
        try:
            async for chunk in self._events():
                yield chunk
        except APIError as exc:
            self._call.fail(exc)
            raise

    async def _events(self) -> AsyncIterator[dict]:
        try:
            async for line in self._response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise APIError(
                        502, "The LLM proxy sent an invalid stream event", code="bad_upstream_response"
                    ) from None
                if isinstance(chunk, dict) and "error" in chunk:
                    error = from_upstream(502, data.encode(), (self._client._key,))
                    raise APIError(502, error.message, type=error.type, code=error.code or "upstream_stream_error")
                yield chunk
        except httpx.HTTPError as exc:
            raise self._client.transport_error(exc) from None

    async def aclose(self) -> None:
        try:
            await self._response.aclose()
        finally:
            self._call.end()
