"""The one way this service reaches an LLM: the LiteLLM proxy, with the virtual key."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx

from .config import Settings
from .errors import APIError, from_upstream, redact

log = logging.getLogger(__name__)
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


class LLMClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self._key = settings.llm_api_key
        self._timeout = settings.llm_timeout_seconds
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

    async def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        self.ensure_key()
        try:
            response = await self._http.request(method, path, json=body)
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

    async def list_models(self) -> dict:
        return await self._request("GET", MODELS_PATH)

    async def chat(self, body: dict) -> dict:
        """A non-streamed chat completion."""
        return await self._request("POST", CHAT_PATH, body)

    async def open_stream(self, body: dict) -> ChatStream:
        """Start a streamed chat completion; errors before the first byte raise APIError here."""
        self.ensure_key()
        request = self._http.build_request("POST", CHAT_PATH, json=body)
        try:
            response = await self._http.send(request, stream=True)
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
        return ChatStream(response, self)


class ChatStream:
    """The ``data:`` events of a streamed completion, parsed; ends at ``[DONE]``."""

    def __init__(self, response: httpx.Response, client: LLMClient):
        self._response = response
        self._client = client

    async def events(self) -> AsyncIterator[dict]:
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
        await self._response.aclose()
