"""The FastAPI application: /health, /v1/models, /v1/chat/completions.

Run with ``uvicorn reasoning_api.main:create_app --factory --host 0.0.0.0 --port 8000``.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import get_current_span
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .access import AccessGuard
from .config import Settings
from .errors import APIError
from .llm_client import LLMClient
from .metrics import Metrics
from .observation import RequestObserver
from .passthrough import passthrough
from .reasoning import reasoning
from .routing import HEADER, PATH_HEADER, classify, resolve_mode
from .sessions import HEADER as SESSION_HEADER
from .sessions import session_id
from .tracing import SESSION_ID, tracer_of
from .tracing import tracer_provider as configured_tracer_provider

log = logging.getLogger("reasoning_api")


async def read_chat_body(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise APIError(400, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise APIError(400, "The request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise APIError(400, "'model' is required and must be a string", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise APIError(400, "'messages' must be a non-empty array", param="messages")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise APIError(400, "each message must be an object with a 'role'", param="messages")
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        raise APIError(400, "'stream' must be a boolean", param="stream")
    return body


def create_app(
    settings: Settings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build the app; ``transport`` lets tests put a fake LLM proxy behind the HTTP client, ``tracer_provider``
    collect its spans in memory (default: the provider the settings configure, none when tracing is off)."""
    settings = settings or Settings.from_env()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    provider = tracer_provider or configured_tracer_provider(settings)
    tracer = tracer_of(provider)
    metrics = Metrics()
    llm = LLMClient(settings, tracer, metrics, transport)
    if not settings.llm_api_key_configured:
        log.warning("LLM_API_KEY is not set: LLM routes will answer 503")
    if provider is None:
        log.info("TRACING_ENDPOINT is empty: tracing is off")
    if not settings.client_tokens:
        log.warning("API_CLIENT_TOKENS is empty: the API answers without a token")

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await llm.aclose()
        if provider is not None:
            provider.shutdown()  # exports the spans still queued

    app = FastAPI(title="reasoning-api", version=__version__, lifespan=lifespan)
    app.add_middleware(RequestObserver, tracer=tracer, metrics=metrics, default_mode=settings.default_routing_mode)
    # Added last, so outermost: a refused request is neither observed nor traced (no spans, no metrics to flood).
    app.add_middleware(AccessGuard, tokens=settings.client_tokens, max_body_bytes=settings.max_request_bytes)
    app.state.settings = settings
    app.state.llm = llm

    @app.exception_handler(APIError)
    async def api_error(_: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return APIError(exc.status_code, str(exc.detail), code=f"http_{exc.status_code}").response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return APIError(400, "Invalid request", code="invalid_request").response()

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        return APIError(500, "Internal server error", type="server_error", code="internal_error").response()

    @app.get("/health")
    async def health() -> dict:
        return {
            "status": "ok",
            "service": "reasoning-api",
            "version": __version__,
            "llm_base_url": settings.llm_base_url,
            "llm_api_key_configured": settings.llm_api_key_configured,
            "default_routing_mode": settings.default_routing_mode,
            "routing_classifier_model": settings.routing_classifier_model,
            "reasoning_max_steps": settings.reasoning_max_steps,
            "tracing_enabled": provider is not None,
            "auth_required": bool(settings.client_tokens),
            "max_request_bytes": settings.max_request_bytes,
        }

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/v1/models")
    async def models() -> dict:
        return await llm.list_models()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        mode = resolve_mode(request.headers.get(HEADER), settings.default_routing_mode)
        body = await read_chat_body(request)
        session = session_id(request.headers.get(SESSION_HEADER), body)
        if session is not None:
            get_current_span().set_attribute(SESSION_ID, session)  # the request's root span (RequestObserver)
        llm.ensure_key()
        path = await classify(llm, settings, body) if mode == "auto" else mode
        log.info("chat completion: mode=%s path=%s stream=%s", mode, path, bool(body.get("stream")))
        headers = {PATH_HEADER: path}
        try:
            if path == "passthrough":
                return await passthrough(llm, body, headers)
            return await reasoning(llm, settings, body, headers)
        except APIError as exc:
            return exc.response(headers)

    return app
