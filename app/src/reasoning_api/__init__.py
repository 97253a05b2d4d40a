"""reasoning-api: an OpenAI-compatible service whose every LLM call goes through a LiteLLM proxy."""

__version__ = "0.1.0"
