#!/usr/bin/env bash
# Follow one service's log until Ctrl-C (like `docker compose logs -f SERVICE`): `make logs SERVICE=litellm FOLLOW=1`.
#   scripts/logs-follow.sh INVENTORY SERVICE [LINES]
# playbooks/logs.yml checks the service name and says which command follows that log on the host that runs it;
# this script runs that command in the foreground, so its lines stream as they come.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 INVENTORY SERVICE [LINES]" >&2; exit 2; }
inventory=$1 service=$2 lines=${3:-100}
command_file=$(mktemp)
trap 'rm -f "$command_file"' EXIT
if ! .venv/bin/ansible-playbook -i "$inventory" playbooks/logs.yml -e "service=$service" -e "lines=$lines" \
     -e "follow_into=$command_file" >"$command_file.out" 2>&1; then
  cat "$command_file.out" >&2; rm -f "$command_file.out"; exit 1
fi
rm -f "$command_file.out"
mapfile -t argv <"$command_file"
[ ${#argv[@]} -gt 0 ] || { echo "logs.yml named no command to follow $service" >&2; exit 1; }
echo "== following $service: ${argv[*]} (Ctrl-C to stop) ==" >&2
"${argv[@]}"
