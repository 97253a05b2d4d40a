#!/usr/bin/env python3
"""Gateway capacity: added latency (p50/p95/p99) and throughput of LiteLLM at concurrency 1, 16 and 64, for
  plan:      one LiteLLM instance with one worker, no balancer (the original plan's settings);
  default:   the project's default: one replica with a worker per CPU, behind HAProxy, with Redis;
  replicas2: two replicas sharing the CPUs (the stack's default worker count), behind HAProxy, with Redis;
each with and without the Phoenix callback (arize_phoenix). "Added" is against the same requests sent straight to
the benchmark's own upstream (bench/gateway_upstream.py: one write, no Nagle delay) at the same concurrency, in the
same run. It also reads each container's CPU time (cgroup cpuacct) to give CPU per request: the profile that
explains a missed goal (LiteLLM's CPU, the callback's share, the balancer's share).

Everything runs in containers on a network the benchmark creates (gwbench-*, label llm-gateway.test=gateway-bench),
from the offline images (build them first: images/build.sh); the client reaches them on 127.0.0.1 only. Requests
per level are fixed and every wait is bounded; everything it starts is removed at the end. Not a test: it prints a
table, the ratios and the goals of issue 11, and exits 0 once the runs succeed.

    .venv/bin/python bench/gateway_bench.py [--requests-scale 1.0] [--only plan,default]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABEL = "llm-gateway.test=gateway-bench"
NET = "gwbench-network"
IMAGES = {
    "postgres": "llm-gateway-offline/postgres:15", "phoenix": "llm-gateway-offline/phoenix:20.26.1",
    "litellm": "llm-gateway-offline/litellm:1.108.7", "haproxy": "llm-gateway-offline/haproxy:2.6",
    "redis": "llm-gateway-offline/redis:7.0", "upstream": "llm-gateway-offline/fake-openai:1",
}
CONCURRENCY = (1, 16, 64)
REQUESTS = {1: 150, 16: 1200, 64: 2400}  # per level (scaled by --requests-scale)
LEVEL_DEADLINE_S = 180
READY_DEADLINE_S = 600  # a first start applies every migration: minutes on a busy host
GOALS = "throughput at c16 >= 1.8 x plan; added p95 at c16 <= 50 ms; added p95 at c1 <= 25 ms"
CONFIGS = {  # name: (replicas, workers per replica (None: the host's CPUs divided among the replicas), balancer)
    "plan": (1, 1, False),
    "default": (1, None, True),
    "replicas2": (2, None, True),
}
MASTER_KEY = "sk-bench-" + secrets.token_hex(16)
DB_PASSWORD = secrets.token_hex(16)


def docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and proc.returncode:
        sys.exit(f"docker {' '.join(args[:3])}...: {proc.stderr.strip()[-500:]}")
    return proc.stdout.strip()


def run_container(name: str, *args: str) -> str:
    """docker run -d on the benchmark's network, labelled for cleanup; args: options, the image, its command."""
    return docker("run", "-d", "--name", name, "--label", LABEL, "--network", NET, *args)


def published(name: str, port: int) -> int:
    return int(docker("port", name, str(port)).splitlines()[0].rsplit(":", 1)[1])


def cpu_ns(name: str) -> int:
    cid = docker("inspect", "-f", "{{.Id}}", name)
    for path in (f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage",):
        if os.path.exists(path):
            return int(Path(path).read_text())
    stat = Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat")  # cgroup v2
    return int(dict(line.split() for line in stat.read_text().splitlines())["usage_usec"]) * 1000


# -- the client: asyncio, HTTP/1.1 keep-alive, one connection per concurrent client ----------------------------------

async def _one_client(host: str, port: int, request: bytes, count: list[int], latencies: list[float],
                      errors: list[str], deadline: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while count[0] > 0 and time.monotonic() < deadline:
            count[0] -= 1
            start = time.perf_counter()
            writer.write(request)
            status = (await reader.readline()).split(b" ", 2)
            length, chunked = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if chunked:
                while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
                    await reader.readexactly(size + 2)
                await reader.readline()
            else:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if len(status) < 2 or status[1] != b"200":
                errors.append(status[1].decode() if len(status) > 1 else "no status")
    finally:
        writer.close()


def measure(port: int, path: str, key: str, concurrency: int, total: int) -> dict:
    body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "bench"}]}).encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors: list[str] = []
    count = [total]

    async def level() -> float:
        deadline = time.monotonic() + LEVEL_DEADLINE_S
        start = time.perf_counter()
        await asyncio.gather(*(_one_client("127.0.0.1", port, request, count, latencies, errors, deadline)
                               for _ in range(concurrency)))
        return time.perf_counter() - start

    seconds = asyncio.run(level())
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {"n": len(latencies), "errors": len(errors), "rps": len(latencies) / seconds,
            "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000}


# -- the stack under test ------------------------------------------------------------------------------------------

def litellm_config(callbacks: list[str], redis: bool) -> str:
    config = {
        "model_list": [{"model_name": "bench-model", "litellm_params": {
            "model": "openai/bench-model", "api_key": "sk-bench-upstream", "api_base": "http://gwbench-upstream:8080/v1",
            "num_retries": 3, "timeout": 600}}],
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY", "database_url": "os.environ/DATABASE_URL",
                             "store_model_in_db": True},
        "litellm_settings": {"callbacks": callbacks, "turn_off_message_logging": False},
    }
    if redis:
        config["general_settings"]["coordination_redis"] = {"host": "gwbench-redis", "port": 6379, "password": "benchredis"}
        config["router_settings"] = {"redis_host": "gwbench-redis", "redis_port": 6379, "redis_password": "benchredis"}
    return json.dumps(config)  # JSON is YAML


def haproxy_config(replicas: list[str]) -> str:
    servers = "\n".join(f"    server {r} {r}:4000 check inter 2s fall 2 rise 2" for r in replicas)
    return f"""global
    stats socket ipv4@127.0.0.1:9999 level admin
defaults
    mode http
    timeout connect 5s
    timeout client 610s
    timeout server 610s
    retries 3
    option redispatch 1
frontend litellm_http
    bind :4000
    default_backend litellm
backend litellm
    balance leastconn
    option httpchk
    http-check send meth GET uri /health/readiness
    http-check expect rstring '"db": ?"connected"'
{servers}
"""


def start_gateway(work: Path, name: str, callbacks: list[str], cpus: int) -> tuple[list[str], int]:
    replicas, workers, balancer = CONFIGS[name]
    workers = workers or max(1, cpus // replicas)  # as the litellm role counts them
    # Redis as the stack deploys it: whenever there is more than one LiteLLM process.
    (work / "litellm.yaml").write_text(litellm_config(callbacks, redis=replicas > 1 or workers > 1))
    names = [f"gwbench-litellm-{n}" for n in range(1, replicas + 1)]
    env = ["-e", f"LITELLM_MASTER_KEY={MASTER_KEY}", "-e", "LITELLM_SALT_KEY=sk-bench-salt-0123456789abcdef",
           "-e", f"DATABASE_URL=postgresql://litellm:{DB_PASSWORD}@gwbench-postgres:5432/litellm",
           "-e", "PHOENIX_COLLECTOR_HTTP_ENDPOINT=http://gwbench-phoenix:6006/v1/traces", "-e", "PHOENIX_PROJECT_NAME=default",
           "-e", "LITELLM_LOCAL_MODEL_COST_MAP=True", "-e", "TIMEOUT_WORKER_HEALTHCHECK=60"]
    for replica in names:
        publish = [] if balancer else ["-p", "127.0.0.1::4000"]
        run_container(replica, *env, *publish, "-v", f"{work}/litellm.yaml:/app/config.yaml:ro", IMAGES["litellm"],
                      "--config", "/app/config.yaml", "--port", "4000", "--num_workers", str(workers))
    containers = list(names)
    entry = names[0]
    if balancer:
        (work / "haproxy.cfg").write_text(haproxy_config(names))
        run_container("gwbench-balancer", "-p", "127.0.0.1::4000", "-v", f"{work}:/usr/local/etc/haproxy:ro",
                      IMAGES["haproxy"], "haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg")
        containers.append("gwbench-balancer")
        entry = "gwbench-balancer"
    port = published(entry, 4000)
    wait_ready(port, len(names))
    return containers, port


def wait_ready(port: int, replicas: int) -> None:
    """Readiness through the entry point and, behind the balancer, every replica up."""
    deadline = time.monotonic() + READY_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/readiness", timeout=5) as r:
                if json.load(r).get("db") == "connected" and (replicas == 1 or _all_up()):
                    return
        except OSError:
            pass
        time.sleep(2)
    sys.exit(f"the gateway on 127.0.0.1:{port} was not ready after {READY_DEADLINE_S} s")


def _all_up() -> bool:
    out = docker("exec", "gwbench-balancer", "bash", "-c",
                 'exec 3<>/dev/tcp/127.0.0.1/9999 && echo "show stat -1 4 -1" >&3 && cat <&3', check=False)
    rows = [line.split(",") for line in out.splitlines()[1:] if line.strip()]
    return bool(rows) and all(row[17] == "UP" for row in rows)


def virtual_key(port: int) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/key/generate", method="POST",
                                     data=json.dumps({"models": ["bench-model"], "key_alias": "gwbench"}).encode(),
                                     headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.load(r)["key"]


def setup(work: Path) -> int:
    docker("network", "create", "--label", LABEL, NET)
    run_container("gwbench-upstream", "-p", "127.0.0.1::8080",
                  "-v", f"{REPO / 'bench/gateway_upstream.py'}:/bench/upstream.py:ro", IMAGES["upstream"],
                  "python3", "/bench/upstream.py", "--port", "8080")
    run_container("gwbench-postgres", "-e", "POSTGRES_USER=litellm", "-e", f"POSTGRES_PASSWORD={DB_PASSWORD}",
                  "-e", "POSTGRES_DB=litellm", IMAGES["postgres"])
    run_container("gwbench-phoenix", IMAGES["phoenix"])
    run_container("gwbench-redis", IMAGES["redis"], "redis-server", "--requirepass", "benchredis",
                  "--save", "", "--appendonly", "no")
    return published("gwbench-upstream", 8080)


def cleanup() -> None:
    for kind, listing in (("rm", ["ps", "-aq"]), ("network", ["network", "ls", "-q"])):
        ids = docker(*listing, "--filter", f"label={LABEL}", check=False).split()
        if ids:
            docker(*(["rm", "-f", "-v"] if kind == "rm" else ["network", "rm"]), *ids, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests-scale", type=float, default=1.0, help="scale the request count of every level")
    parser.add_argument("--only", default=",".join(CONFIGS), help="configurations to run (comma-separated)")
    args = parser.parse_args()
    missing = [i for i in IMAGES.values() if subprocess.run(["docker", "image", "inspect", i], capture_output=True).returncode]
    if missing:
        sys.exit(f"missing images {missing}: build them first (images/build.sh)")
    counts = {c: max(c, int(n * args.requests_scale)) for c, n in REQUESTS.items()}
    cpus = int(docker("info", "-f", "{{.NCPU}}"))
    results: dict[tuple[str, str], dict[int, dict]] = {}
    cleanup()
    try:
        with tempfile.TemporaryDirectory(prefix="gwbench-") as tmp:
            work = Path(tmp)
            os.chmod(work, 0o755)
            upstream_port = setup(work)
            key = None
            # The direct baseline: the same requests straight to the upstream.
            results[("direct", "-")] = {c: measure(upstream_port, "/v1/chat/completions", "sk-none", c, counts[c])
                                        for c in CONCURRENCY}
            print("measured direct: " + json.dumps(results[("direct", "-")]), file=sys.stderr, flush=True)
            for label, callbacks in (("phoenix", ["arize_phoenix"]), ("none", [])):
                for name in args.only.split(","):
                    containers, port = start_gateway(work, name, callbacks, cpus)
                    key = key or virtual_key(port)
                    measure(port, "/v1/chat/completions", key, 16, counts[16] // 4)  # warm-up
                    levels = {}
                    for c in CONCURRENCY:
                        watched = containers + ["gwbench-postgres", "gwbench-phoenix", "gwbench-redis"]
                        before = {n: cpu_ns(n) for n in watched}
                        levels[c] = measure(port, "/v1/chat/completions", key, c, counts[c])
                        spent = {n: cpu_ns(n) - before[n] for n in watched}
                        n_ok = max(levels[c]["n"], 1)
                        levels[c]["cpu_litellm_ms"] = sum(v for k, v in spent.items() if "litellm" in k) / n_ok / 1e6
                        levels[c]["cpu_balancer_ms"] = spent.get("gwbench-balancer", 0) / n_ok / 1e6
                        levels[c]["cpu_phoenix_ms"] = spent["gwbench-phoenix"] / n_ok / 1e6
                        levels[c]["cpu_other_ms"] = (spent["gwbench-postgres"] + spent["gwbench-redis"]) / n_ok / 1e6
                    results[(name, label)] = levels
                    # As it goes, so that an interrupted run still leaves its measurements.
                    print(f"measured {name} / callback {label}: " + json.dumps(levels), file=sys.stderr, flush=True)
                    docker("rm", "-f", "-v", *containers)
    finally:
        cleanup()
    report(results, cpus, counts)


def report(results: dict, cpus: int, counts: dict) -> None:
    direct = results[("direct", "-")]
    print(f"# gateway_bench: {cpus} CPUs, requests per level {counts}, loopback, fake upstream without Nagle delay")
    print(f"{'config':10} {'callback':8} {'c':>3} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
          f"{'+p50':>7} {'+p95':>7} {'+p99':>7} {'err':>4} {'cpu/req ms: litellm':>20} {'haproxy':>8} {'phoenix':>8} {'db+redis':>8}")
    for (name, label), levels in results.items():
        for c, m in levels.items():
            added = [m[p] - direct[c][p] for p in ("p50", "p95", "p99")] if name != "direct" else ["", "", ""]
            print(f"{name:10} {label:8} {c:>3} {m['rps']:7.1f} {m['p50']:7.1f} {m['p95']:7.1f} {m['p99']:7.1f} "
                  + " ".join(f"{a:7.1f}" if a != "" else f"{'':7}" for a in added)
                  + f" {m['errors']:>4} {m.get('cpu_litellm_ms', 0):20.2f} {m.get('cpu_balancer_ms', 0):8.2f}"
                  f" {m.get('cpu_phoenix_ms', 0):8.2f} {m.get('cpu_other_ms', 0):8.2f}")
    print("\n# ratios (same run)")
    for label in ("phoenix", "none"):
        plan = results.get(("plan", label))
        for name in ("default", "replicas2"):
            if plan and (other := results.get((name, label))):
                print(f"{name:10} / plan, callback {label:7}: throughput c16 x{other[16]['rps'] / plan[16]['rps']:.2f}, "
                      f"c64 x{other[64]['rps'] / plan[64]['rps']:.2f}")
    for label in ("phoenix",):
        if (on := results.get(("default", label))) and (off := results.get(("default", "none"))):
            print(f"callback cost (default, c16): throughput x{on[16]['rps'] / off[16]['rps']:.2f}, "
                  f"LiteLLM CPU per request {on[16]['cpu_litellm_ms']:.1f} ms on vs {off[16]['cpu_litellm_ms']:.1f} ms off")
    print(f"\n# goals: {GOALS}")
    for (name, label), levels in results.items():
        if name in ("direct", "plan"):
            continue
        plan = results.get(("plan", label))
        ratio = levels[16]["rps"] / plan[16]["rps"] if plan else float("nan")
        p95_16, p95_1 = levels[16]["p95"] - direct[16]["p95"], levels[1]["p95"] - direct[1]["p95"]
        verdict = ["met" if ok else "MISSED" for ok in (ratio >= 1.8, p95_16 <= 50, p95_1 <= 25)]
        print(f"{name:10} {label:8}: x{ratio:.2f} ({verdict[0]}), +p95 c16 {p95_16:.0f} ms ({verdict[1]}), "
              f"+p95 c1 {p95_1:.0f} ms ({verdict[2]})")


if __name__ == "__main__":
    main()
