import pytest

from reasoning_api.config import ConfigError, Settings, normalize_base_url


def test_defaults_from_an_empty_environment():
    settings = Settings.from_env({})
    assert settings.llm_api_key == ""
    assert settings.llm_api_key_configured is False
    assert settings.llm_base_url == "http://litellm:4000"
    assert settings.routing_classifier_model == "gpt-4o-mini"
    assert settings.default_routing_mode == "passthrough"
    assert settings.reasoning_max_steps == 3
    assert settings.llm_timeout_seconds == 120.0
    assert settings.tracing_endpoint == ""
    assert settings.tracing_project_name == "default"


def test_every_setting_is_read_from_its_variable():
    settings = Settings.from_env(
        {
            "LLM_API_KEY": " sk-virtual ",
            "LLM_BASE_URL": "http://proxy.internal:4000/v1/",
            "ROUTING_CLASSIFIER_MODEL": "gpt-4o",
            "DEFAULT_ROUTING_MODE": "Auto",
            "REASONING_MAX_STEPS": "5",
            "LLM_TIMEOUT_SECONDS": "7.5",
            "TRACING_ENDPOINT": " http://phoenix:6006/v1/traces ",
            "TRACING_PROJECT_NAME": "reasoning",
        }
    )
    assert settings.llm_api_key == "sk-virtual"
    assert settings.llm_api_key_configured is True
    assert settings.llm_base_url == "http://proxy.internal:4000"
    assert settings.routing_classifier_model == "gpt-4o"
    assert settings.default_routing_mode == "auto"
    assert settings.reasoning_max_steps == 5
    assert settings.llm_timeout_seconds == 7.5
    assert settings.tracing_endpoint == "http://phoenix:6006/v1/traces"
    assert settings.tracing_project_name == "reasoning"


def test_empty_variables_mean_defaults():
    settings = Settings.from_env({"LLM_BASE_URL": "", "DEFAULT_ROUTING_MODE": " ", "REASONING_MAX_STEPS": ""})
    assert settings.llm_base_url == "http://litellm:4000"
    assert settings.default_routing_mode == "passthrough"
    assert settings.reasoning_max_steps == 3


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"DEFAULT_ROUTING_MODE": "fast"}, "DEFAULT_ROUTING_MODE"),
        ({"REASONING_MAX_STEPS": "three"}, "REASONING_MAX_STEPS"),
        ({"REASONING_MAX_STEPS": "0"}, "REASONING_MAX_STEPS"),
        ({"LLM_TIMEOUT_SECONDS": "-1"}, "LLM_TIMEOUT_SECONDS"),
        ({"LLM_TIMEOUT_SECONDS": "soon"}, "LLM_TIMEOUT_SECONDS"),
        ({"LLM_BASE_URL": "litellm:4000"}, "LLM_BASE_URL"),
        ({"TRACING_ENDPOINT": "phoenix:6006"}, "TRACING_ENDPOINT"),
    ],
)
def test_invalid_values_name_their_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://litellm:4000", "http://litellm:4000"),
        ("http://litellm:4000/", "http://litellm:4000"),
        ("http://litellm:4000/v1", "http://litellm:4000"),
        ("https://gw.example/llm/v1/", "https://gw.example/llm"),
    ],
)
def test_base_url_is_the_proxy_root(url, expected):
    assert normalize_base_url(url) == expected


def test_repr_never_shows_the_key():
    assert "sk-secret-value" not in repr(Settings(llm_api_key="sk-secret-value"))
