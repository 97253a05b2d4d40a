"""Entry point of each LiteLLM replica: LiteLLM's proxy is imported at once, and starts once Phoenix's API key is known.

The playbook writes the key into the file LLM_GATEWAY_PHOENIX_KEY_FILE names once the key exists and LiteLLM's
database migrations are applied; an empty file means no key. On a first deploy the replicas are created while Phoenix
starts, before its key exists, so that LiteLLM's import (about 10 s) overlaps Phoenix's start instead of following it.
The key reaches the proxy as PHOENIX_API_KEY (and OTEL_EXPORTER_OTLP_HEADERS for the otel callback), so it is never
part of the container's configuration.

Once the key is there and before LiteLLM starts, the command LLM_GATEWAY_PREPARE names (a JSON list; none when empty)
runs, as the image's entrypoint would have before `litellm`: the offline image's waits for the database and applies
any migration still missing (a replica started on an emptied database). Its failure ends the launcher with its code.

Arguments: those of the `litellm` command. Runs with the image's Python; only the standard library besides LiteLLM.
"""

import importlib
import json
import os
import subprocess
import sys
import time

POLL_S = 0.2
REPORT_EVERY_S = 30


def log(message: str) -> None:
    print(f"[llm-gateway launch] {message}", file=sys.stderr, flush=True)


def read_key(path: str) -> str:
    """The key in path, once the file exists (an empty file: no key)."""
    start = next_report = time.monotonic()
    while True:
        try:
            with open(path, encoding="utf-8") as file:
                return file.read().strip()
        except FileNotFoundError:
            now = time.monotonic()
            if now >= next_report:
                log(f"waiting for Phoenix's API key in {path} ({now - start:.0f} s so far): "
                    "the playbook writes it once the key exists and the database's migrations are applied")
                next_report = now + REPORT_EVERY_S
            time.sleep(POLL_S)


def main() -> None:
    key_file = os.environ.pop("LLM_GATEWAY_PHOENIX_KEY_FILE")
    otlp_header = os.environ.pop("LLM_GATEWAY_PHOENIX_KEY_OTLP_HEADER", "false") == "true"
    prepare = json.loads(os.environ.pop("LLM_GATEWAY_PREPARE", "") or "[]")
    started = time.monotonic()
    # The `litellm` command imports the proxy server first thing: importing it here changes nothing but when.
    importlib.import_module("litellm.proxy.proxy_server")
    run_server = importlib.import_module("litellm.proxy.proxy_cli").run_server

    log(f"LiteLLM imported in {time.monotonic() - started:.1f} s")
    key = read_key(key_file)
    if key:
        os.environ["PHOENIX_API_KEY"] = key
        if otlp_header:
            os.environ["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization=Bearer {key}"
    if prepare:
        done = subprocess.run(prepare, check=False)
        if done.returncode:
            log(f"{' '.join(prepare)} failed (exit {done.returncode}): LiteLLM is not started")
            sys.exit(done.returncode)
    log(f"starting LiteLLM's proxy {'with' if key else 'without'} Phoenix's API key, "
        f"{time.monotonic() - started:.1f} s after the start")
    run_server(args=sys.argv[1:], prog_name="litellm")


if __name__ == "__main__":
    main()
