"""Integration fixtures: a real LiteLLM proxy on real PostgreSQL, and a runner that drives the litellm_virtual_key
module through ansible-playbook.

The proxy comes from, in order:
- LITELLM_TEST_URL + LITELLM_TEST_MASTER_KEY (an already running proxy; its config must offer the model
  named by LITELLM_TEST_MODEL, default "itest-model", for the chat checks), or
- two containers started here on a dedicated Docker network: llm-gateway-offline/postgres:15 and
  llm-gateway-offline/litellm:1.108.7 (built by images/build.sh). Every resource is named itest-* and labelled
  llm-gateway.test=integration; leftovers of runs whose process is gone are removed first, ours at the end.
"""

import json
import os
import pathlib
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
LABEL = "llm-gateway.test=integration"
OWNER_LABEL = "llm-gateway.test.pid"
POSTGRES_IMAGE = os.environ.get("ITEST_POSTGRES_IMAGE", "llm-gateway-offline/postgres:15")
LITELLM_IMAGE = os.environ.get("ITEST_LITELLM_IMAGE", "llm-gateway-offline/litellm:1.108.7")
# LiteLLM's first start on an empty database: about 50 s on an idle two-core host; in CI, beside three molecule
# stacks, its migrations alone took 166 s and its start outlasted 300 s.
READY_TIMEOUT = float(os.environ.get("ITEST_READY_TIMEOUT", "900"))
TEST_MODEL = os.environ.get("LITELLM_TEST_MODEL", "itest-model")

LITELLM_CONFIG = """\
model_list:
  - model_name: itest-model
    litellm_params:
      model: openai/itest-model
      api_key: not-used
      mock_response: "hello from the integration mock"
  - model_name: itest-model-2
    litellm_params:
      model: openai/itest-model-2
      api_key: not-used
      mock_response: "hello from the second mock"
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DATABASE_URL
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real LiteLLM proxy (Docker images or LITELLM_TEST_URL)")


def pytest_collection_modifyitems(items):
    here = pathlib.Path(__file__).parent
    for item in items:
        if here in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


# -- Docker -----------------------------------------------------------------------------------------------------


def docker(*args, check=True, timeout=120):
    result = subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError("docker %s failed (%d): %s" % (" ".join(args[:3]), result.returncode,
                                                           result.stderr.strip()))
    return result.stdout.strip()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_resources(only_stale):
    """Remove labelled test containers and networks: all of ours, or the stale ones of runs that are gone."""
    def wanted(kind, ident):
        if not only_stale:
            return True
        fmt = "{{ index .Config.Labels \"%s\" }}" if kind == "container" else "{{ index .Labels \"%s\" }}"
        owner = docker(kind, "inspect", "--format", fmt % OWNER_LABEL, ident, check=False)
        return not owner.isdigit() or not pid_alive(int(owner))

    owner_filter = [] if only_stale else ["--filter", "label=%s=%d" % (OWNER_LABEL, os.getpid())]
    containers = docker("ps", "-aq", "--filter", "label=" + LABEL, *owner_filter).split()
    doomed = [c for c in containers if wanted("container", c)]
    if doomed:
        docker("rm", "-f", "-v", *doomed, check=False)
    networks = docker("network", "ls", "-q", "--filter", "label=" + LABEL, *owner_filter).split()
    for network in networks:
        if wanted("network", network):
            docker("network", "rm", network, check=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, timeout, container=None):
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url + "/health/readiness", timeout=5)
            last = "HTTP %d %s" % (response.status_code, response.text[:200])
            if response.status_code == 200 and response.json().get("db") == "connected":
                return
        except httpx.HTTPError as e:
            last = "%s: %s" % (type(e).__name__, e)
        if container:
            state = docker("inspect", "--format", "{{.State.Status}}", container, check=False)
            if state == "exited":
                break
        time.sleep(2)
    logs = ""
    if container:
        logs = subprocess.run(["docker", "logs", "--tail", "60", container], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True).stdout
    pytest.fail("LiteLLM at %s not ready with its database within %ss; last seen: %s\n%s"
                % (url, timeout, last, logs[-4000:]), pytrace=False)


class Proxy:
    def __init__(self, url, master_key, model):
        self.url = url.rstrip("/")
        self.master_key = master_key
        self.model = model


def start_containers(tmp_dir):
    for image in (POSTGRES_IMAGE, LITELLM_IMAGE):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
            pytest.fail("image %s is missing: build it with images/build.sh, or point LITELLM_TEST_URL and "
                        "LITELLM_TEST_MASTER_KEY at a running LiteLLM" % image, pytrace=False)
    remove_resources(only_stale=True)
    suffix = uuid.uuid4().hex[:8]
    labels = ["--label", LABEL, "--label", "%s=%d" % (OWNER_LABEL, os.getpid())]
    network = "itest-net-" + suffix
    pg_name = "itest-postgres-" + suffix
    litellm_name = "itest-litellm-" + suffix
    # A password with URL-special characters, URL-encoded in DATABASE_URL, as the roles do it.
    pg_password = "pw/" + secrets.token_urlsafe(12) + "@:"
    encoded = "".join(c if c.isalnum() or c in "-_." else "%%%02X" % ord(c) for c in pg_password)
    master_key = "sk-itest-master-" + secrets.token_urlsafe(24)
    salt_key = "sk-itest-salt-" + secrets.token_urlsafe(24)
    port = free_port()

    docker("network", "create", *labels, network)
    docker("run", "-d", "--name", pg_name, "--network", network, *labels,
           "-e", "POSTGRES_USER=litellm", "-e", "POSTGRES_PASSWORD=" + pg_password, "-e", "POSTGRES_DB=litellm",
           POSTGRES_IMAGE)
    config = pathlib.Path(tmp_dir) / "config.yaml"
    config.write_text(LITELLM_CONFIG)
    docker("create", "--name", litellm_name, "--network", network, *labels,
           "-p", "127.0.0.1:%d:4000" % port,
           "-e", "DATABASE_URL=postgresql://litellm:%s@%s:5432/litellm" % (encoded, pg_name),
           "-e", "LITELLM_MASTER_KEY=" + master_key, "-e", "LITELLM_SALT_KEY=" + salt_key,
           "-e", "LITELLM_LOCAL_MODEL_COST_MAP=True",
           LITELLM_IMAGE, "--config", "/app/config.yaml", "--port", "4000")
    docker("cp", str(config), "%s:/app/config.yaml" % litellm_name)
    docker("start", litellm_name)
    url = "http://127.0.0.1:%d" % port
    wait_ready(url, READY_TIMEOUT, container=litellm_name)
    return Proxy(url, master_key, "itest-model")


@pytest.fixture(scope="session")
def proxy(tmp_path_factory):
    url = os.environ.get("LITELLM_TEST_URL")
    master_key = os.environ.get("LITELLM_TEST_MASTER_KEY")
    if url and master_key:
        wait_ready(url.rstrip("/"), READY_TIMEOUT)
        yield Proxy(url, master_key, TEST_MODEL)
        return
    try:
        yield start_containers(tmp_path_factory.mktemp("litellm"))
    finally:
        remove_resources(only_stale=False)


# -- LiteLLM API, out of band ---------------------------------------------------------------------------------


class Api:
    """Direct calls to LiteLLM's API, for setting up drift and checking what the module did."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.http = httpx.Client(base_url=proxy.url, timeout=60,
                                 headers={"Authorization": "Bearer " + proxy.master_key})

    def rows(self, alias):
        response = self.http.get("/key/list", params={"key_alias": alias, "return_full_object": "true"})
        response.raise_for_status()
        return response.json()["keys"]

    def row(self, alias):
        rows = self.rows(alias)
        assert len(rows) == 1, "expected one key with alias %r, LiteLLM lists %d" % (alias, len(rows))
        return rows[0]

    def all_aliases(self):
        aliases = []
        page = 1
        while True:
            body = self.http.get("/key/list", params={"return_full_object": "true", "size": 100,
                                                      "page": page}).json()
            aliases += [r.get("key_alias") for r in body["keys"]]
            if page >= (body.get("total_pages") or 1):
                return aliases
            page += 1

    def update(self, **body):
        response = self.http.post("/key/update", json=body)
        response.raise_for_status()

    def delete(self, alias):
        response = self.http.post("/key/delete", json={"key_aliases": [alias]})
        response.raise_for_status()

    def delete_prefixed(self, prefix):
        response = self.http.get("/key/list", params={"key_alias": prefix, "substring_matching": "true",
                                                      "return_full_object": "true", "size": 100})
        tokens = [r["token"] for r in response.json().get("keys", []) if (r.get("key_alias") or "").startswith(prefix)]
        if tokens:
            self.http.post("/key/delete", json={"keys": tokens})

    def chat_status(self, secret, model=None):
        """HTTP status of a chat completion made with the virtual key ``secret`` (200 works, 401 rejected)."""
        response = httpx.post(self.proxy.url + "/chat/completions", timeout=60,
                              headers={"Authorization": "Bearer " + secret},
                              json={"model": model or self.proxy.model,
                                    "messages": [{"role": "user", "content": "ping"}]})
        return response.status_code


@pytest.fixture(scope="session")
def api(proxy):
    client = Api(proxy)
    yield client
    client.http.close()


# -- the module through ansible-playbook ----------------------------------------------------------------------

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Ensure LiteLLM virtual keys
      llm_gateway.stack.litellm_virtual_key:
        url: "{{ p.url }}"
        master_key: "{{ p.master_key }}"
        wait_timeout: "{{ p.wait_timeout | default(omit) }}"
        request_timeout: "{{ p.request_timeout | default(omit) }}"
        keys: "{{ p['keys'] }}"
      register: r
      ignore_errors: true

    - name: Hand the registered result to the test
      ansible.builtin.copy:
        content: "{{ r | to_json }}"
        dest: "{{ result_path }}"
        mode: "0600"
      check_mode: false
      diff: false
"""


class Run:
    def __init__(self, result, stdout, stderr, returncode, elapsed):
        self.result = result
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode
        self.elapsed = elapsed

    def __getitem__(self, name):
        return self.result[name]

    def get(self, name, default=None):
        return self.result.get(name, default)

    def actions(self):
        return [(k["alias"], k["action"]) for k in self.result["virtual_keys"]]


@pytest.fixture(scope="session")
def ansible_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ansible")
    (directory / "playbook.yml").write_text(PLAYBOOK)
    (directory / "inventory.ini").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    # The module comes from the collection llm_gateway.stack as this repository holds it (scripts/bootstrap.sh
    # links it into .collections).
    (directory / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = %s\nstdout_callback = ansible.builtin.default\n"
        "callback_result_format = json\nretry_files_enabled = false\n" % (REPO / ".collections"))
    return directory


@pytest.fixture(scope="session")
def run_module(ansible_dir, proxy):
    """run_module(keys, check=False, diff=False, verbose=0, **params) -> Run, through a real ansible-playbook."""
    ansible_playbook = str(pathlib.Path(sys.executable).parent / "ansible-playbook")

    def runner(keys, check=False, diff=False, verbose=0, **params):
        p = {"url": proxy.url, "master_key": proxy.master_key, "keys": keys}
        p.update(params)
        with tempfile.TemporaryDirectory(dir=ansible_dir) as work:
            work = pathlib.Path(work)
            vars_file = work / "vars.json"
            result_file = work / "result.json"
            vars_file.write_text(json.dumps({"p": p, "result_path": str(result_file)}))
            vars_file.chmod(0o600)
            cmd = [ansible_playbook, "-i", str(ansible_dir / "inventory.ini"), "-e", "@%s" % vars_file,
                   str(ansible_dir / "playbook.yml")]
            if check:
                cmd.append("--check")
            if diff:
                cmd.append("--diff")
            if verbose:
                cmd.append("-" + "v" * verbose)
            env = dict(os.environ, ANSIBLE_CONFIG=str(ansible_dir / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_FORCE_COLOR="0")
            started = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
            elapsed = time.monotonic() - started
            assert result_file.exists(), ("ansible-playbook wrote no result (rc %d)\nstdout:\n%s\nstderr:\n%s"
                                          % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
            result = json.loads(result_file.read_text())
            return Run(result, proc.stdout, proc.stderr, proc.returncode, elapsed)

    return runner


@pytest.fixture
def alias_prefix(request, api):
    """A prefix unique to the test, so tests sharing one proxy never touch each other's keys; the test's keys
    are deleted afterwards (a shared LITELLM_TEST_URL proxy does not fill up)."""
    prefix = "itest-%s-%s-" % (request.node.name[5:30].replace("_", "-"), uuid.uuid4().hex[:6])
    yield prefix
    api.delete_prefixed(prefix)
