"""Settings, read from the environment once at start-up.

The service holds a LiteLLM *virtual* key only (LLM_API_KEY); the real OpenAI key lives in
LiteLLM. A missing key does not stop the service: /health reports it and LLM routes answer 503.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ROUTING_MODES = ("passthrough", "reasoning", "auto")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with (names the variable)."""


@dataclass(frozen=True)
class Settings:
    llm_api_key: str = field(default="", repr=False)
    llm_base_url: str = "http://litellm:4000"
    routing_classifier_model: str = "gpt-4o-mini"
    default_routing_mode: str = "passthrough"
    reasoning_max_steps: int = 3
    llm_timeout_seconds: float = 120.0
    # OTLP/HTTP traces URL (Phoenix's /v1/traces); empty turns tracing off.
    tracing_endpoint: str = ""
    # Phoenix project of the spans: LiteLLM's project, so that its spans and ours make one trace in one project.
    tracing_project_name: str = "default"
    # Phoenix's API key the spans are exported with (Phoenix with authentication on); empty sends none.
    tracing_api_key: str = field(default="", repr=False)
    # Bearer tokens clients must send (API_CLIENT_TOKENS, separated by commas or white space); none: no check.
    client_tokens: tuple[str, ...] = field(default=(), repr=False)
    # Largest request body accepted (413 beyond).
    max_request_bytes: int = 1048576

    @property
    def llm_api_key_configured(self) -> bool:
        return bool(self.llm_api_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            value = env.get(name, "")
            return value.strip() if value.strip() else default

        mode = get("DEFAULT_ROUTING_MODE", cls.default_routing_mode).lower()
        if mode not in ROUTING_MODES:
            raise ConfigError(f"DEFAULT_ROUTING_MODE must be one of {', '.join(ROUTING_MODES)}, got {mode!r}")
        try:
            steps = int(get("REASONING_MAX_STEPS", str(cls.reasoning_max_steps)))
        except ValueError:
            raise ConfigError("REASONING_MAX_STEPS must be an integer") from None
        if not 1 <= steps <= 20:
            raise ConfigError(f"REASONING_MAX_STEPS must be between 1 and 20, got {steps}")
        try:
            timeout = float(get("LLM_TIMEOUT_SECONDS", str(cls.llm_timeout_seconds)))
        except ValueError:
            raise ConfigError("LLM_TIMEOUT_SECONDS must be a number") from None
        if timeout <= 0:
            raise ConfigError(f"LLM_TIMEOUT_SECONDS must be positive, got {timeout}")
        base_url = get("LLM_BASE_URL", cls.llm_base_url)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"LLM_BASE_URL must be an http(s) URL, got {base_url!r}")
        tracing_endpoint = env.get("TRACING_ENDPOINT", "").strip()
        if tracing_endpoint and not tracing_endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"TRACING_ENDPOINT must be an http(s) URL or empty, got {tracing_endpoint!r}")
        try:
            max_request_bytes = int(get("MAX_REQUEST_BYTES", str(cls.max_request_bytes)))
        except ValueError:
            raise ConfigError("MAX_REQUEST_BYTES must be an integer") from None
        if max_request_bytes < 1024:
            raise ConfigError(f"MAX_REQUEST_BYTES must be at least 1024, got {max_request_bytes}")
        return cls(
            llm_api_key=env.get("LLM_API_KEY", "").strip(),
            llm_base_url=normalize_base_url(base_url),
            routing_classifier_model=get("ROUTING_CLASSIFIER_MODEL", cls.routing_classifier_model),
            default_routing_mode=mode,
            reasoning_max_steps=steps,
            llm_timeout_seconds=timeout,
            tracing_endpoint=tracing_endpoint,
            tracing_project_name=get("TRACING_PROJECT_NAME", cls.tracing_project_name),
            tracing_api_key=env.get("TRACING_API_KEY", "").strip(),
            client_tokens=tuple(env.get("API_CLIENT_TOKENS", "").replace(",", " ").split()),
            max_request_bytes=max_request_bytes,
        )


def normalize_base_url(url: str) -> str:
    """``http://litellm:4000``, ``…/`` and ``…/v1`` all mean the proxy root: the client adds ``/v1/...``."""
    url = url.rstrip("/")
    url = url.removesuffix("/v1")
    return url
