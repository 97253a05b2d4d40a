"""Entry point of each LiteLLM replica: LiteLLM's proxy is imported and started at once; each worker's startup waits
for Phoenix's API key.

The playbook writes the key into the file LLM_GATEWAY_PHOENIX_KEY_FILE names once Phoenix made it; an empty file
means no key. On a first deploy the replicas are created before Phoenix starts, before its key exists, so that
LiteLLM's import (10-24 s here) and its server's start overlap Phoenix's start instead of following it. The key
reaches LiteLLM as PHOENIX_API_KEY (and OTEL_EXPORTER_OTLP_HEADERS for the otel callback) in each worker's
environment before LiteLLM's own startup reads its configuration and callbacks, so it is never part of the
container's configuration. Until then the worker serves nothing and the health check fails.

Right after the import, the command LLM_GATEWAY_PREPARE names (a JSON list; none when empty) runs, as the image's
entrypoint would have before `litellm`: the offline image's waits for the database and applies any migration still
missing (a replica started on an emptied database). The playbook creates no replica while its own migrations run.
Its failure ends the launcher with its code. With LLM_GATEWAY_SKIP_SCHEMA_DIFF=true, LiteLLM's startup check of its
schema against the database (`prisma migrate diff`: 6-7 s of CPU, and informational only) is skipped: the offline
image's schema engine is a stub, so that check can only fail (one logged line), its migrations being applied by the
preparation instead.

Arguments: those of the `litellm` command. Runs with the image's Python; only the standard library besides LiteLLM.
"""

import asyncio
import contextlib
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


async def read_key(path: str) -> str:
    """The key in path, once the file exists (an empty file: no key). Waits without blocking the worker's event
    loop."""
    start = next_report = time.monotonic()
    while True:
        try:
            with open(path, encoding="utf-8") as file:
                return file.read().strip()
        except FileNotFoundError:
            now = time.monotonic()
            if now >= next_report:
                log(f"worker {os.getpid()} waiting for Phoenix's API key in {path} ({now - start:.0f} s so far): "
                    "the playbook writes it once Phoenix made it")
                next_report = now + REPORT_EVERY_S
            await asyncio.sleep(POLL_S)


def key_first(lifespan, key_file: str, otlp_header: bool):
    """LiteLLM's startup (its app's lifespan) behind the key: each worker (gunicorn forks them from this process,
    whose app object they share) reads the key, exports it, then runs LiteLLM's own startup."""

    @contextlib.asynccontextmanager
    async def startup(app):
        waited = time.monotonic()
        key = await read_key(key_file)
        if key:
            os.environ["PHOENIX_API_KEY"] = key
            if otlp_header:
                os.environ["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization=Bearer {key}"
        log(f"worker {os.getpid()} starts LiteLLM {'with' if key else 'without'} Phoenix's API key "
            f"(waited {time.monotonic() - waited:.1f} s for it)")
        async with lifespan(app) as state:
            yield state

    return startup


def skipped_schema_diff(db_url=None) -> None:
    log("LiteLLM's schema diff check skipped (LLM_GATEWAY_SKIP_SCHEMA_DIFF): the image's migrations are applied by "
        "its preparation, and its schema engine cannot diff")


def main() -> None:
    key_file = os.environ.pop("LLM_GATEWAY_PHOENIX_KEY_FILE")
    otlp_header = os.environ.pop("LLM_GATEWAY_PHOENIX_KEY_OTLP_HEADER", "false") == "true"
    prepare = json.loads(os.environ.pop("LLM_GATEWAY_PREPARE", "") or "[]")
    skip_schema_diff = os.environ.pop("LLM_GATEWAY_SKIP_SCHEMA_DIFF", "false") == "true"
    started = time.monotonic()
    # The `litellm` command imports the proxy server first thing: importing it here changes nothing but when.
    app = importlib.import_module("litellm.proxy.proxy_server").app
    run_server = importlib.import_module("litellm.proxy.proxy_cli").run_server
    log(f"LiteLLM imported in {time.monotonic() - started:.1f} s")
    if prepare:
        done = subprocess.run(prepare, check=False)
        if done.returncode:
            log(f"{' '.join(prepare)} failed (exit {done.returncode}): LiteLLM is not started")
            sys.exit(done.returncode)
    if skip_schema_diff:
        # run_server imports the check from its module when it runs it: the module's attribute is what it gets.
        importlib.import_module("litellm.proxy.db.check_migration").check_prisma_schema_diff = skipped_schema_diff
    app.router.lifespan_context = key_first(app.router.lifespan_context, key_file, otlp_header)
    run_server(args=sys.argv[1:], prog_name="litellm")


if __name__ == "__main__":
    main()
