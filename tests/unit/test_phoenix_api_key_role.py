"""The phoenix_api_key role stops the run when its module fails, with the module's message, and keeps nothing.

Its module task registers with ``failed_when: false`` (its result is no_log, so the failure is reported by the next
task, readable): Ansible then sets the result's ``failed`` to false whatever happened, so the report must not rely on
it. Without a working report, a Phoenix that was not ready in time let the run go on without a key.
"""

import uuid

from ansible_output import error_message, failed_task
from test_role_arguments import run_role


def test_a_phoenix_that_does_not_answer_stops_the_run_with_the_module_s_message(tmp_path):
    admin_secret = f"unit-phx-admin-{uuid.uuid4().hex}"
    vault_file = tmp_path / "secrets.vault.yml"
    variables = {
        # The discard port: nothing answers there; one second of waiting.
        "phoenix_api_key_run_on": "localhost", "phoenix_api_key_url": "http://127.0.0.1:9",
        "phoenix_api_key_admin_secret": admin_secret, "phoenix_api_key_wait_timeout": 1,
        "phoenix_api_key_vault_file": str(vault_file),
    }

    run = run_role("phoenix_api_key", variables, tmp_path)

    assert run.returncode != 0, run.stdout
    assert failed_task(run.stdout) == "Report a failure to ensure the Phoenix key", run.stdout
    assert "Phoenix at http://127.0.0.1:9 was not ready after 1 s" in error_message(run.stdout), run.stdout
    assert not vault_file.exists()
    assert admin_secret not in run.stdout
