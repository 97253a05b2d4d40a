#!/usr/bin/env bash
# Install the collections pinned in requirements.yml into .collections/ without Ansible Galaxy:
# they are taken from the `ansible` community package on PyPI (ANSIBLE_BUNDLE), which carries exactly those versions.
# Usage: scripts/install-collections.sh [PYTHON]   (PYTHON: the venv's python, default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-.venv/bin/python}
ANSIBLE_BUNDLE=ansible==12.3.0
dest=.collections
wanted=$("$python" - <<'PY'
import yaml
for c in yaml.safe_load(open("requirements.yml"))["collections"]:
    print(f"{c['name']} {c['version']}")
PY
)
installed_all=1
while read -r name version; do
  manifest="$dest/ansible_collections/${name/.//}/MANIFEST.json"
  grep -q "\"version\": \"$version\"" "$manifest" 2>/dev/null || installed_all=0
done <<<"$wanted"
if [ "$installed_all" = 1 ]; then echo "collections already installed in $dest"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download -q --no-deps "$ANSIBLE_BUNDLE" -d "$work"
dirs=()
while read -r name version; do
  path="ansible_collections/${name/.//}"
  "$python" - "$work"/ansible-*.whl "$path" "$version" "$work" <<'PY'
import json, sys, zipfile
wheel, path, version, out = sys.argv[1:]
z = zipfile.ZipFile(wheel)
found = json.loads(z.read(f"{path}/MANIFEST.json"))["collection_info"]["version"]
if found != version:
    sys.exit(f"{wheel} carries {path} {found}, requirements.yml pins {version}: change ANSIBLE_BUNDLE")
z.extractall(out, [n for n in z.namelist() if n.startswith(path + "/")])
PY
  dirs+=("$work/$path")
done <<<"$wanted"
.venv/bin/ansible-galaxy collection install --offline --force -p "$dest" "${dirs[@]}" >/dev/null
echo "collections installed in $dest: $(echo $wanted | tr '\n' ' ')"
