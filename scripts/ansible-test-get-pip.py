"""Stand-in for the pip bootstrap script ansible-test downloads from ci-files.testing.ansible.com, a host CI cannot
reach: ansible-test makes its tool venvs without pip and runs this script in them with pip's install arguments
(``--disable-pip-version-check pip==X ... --no-setuptools --no-wheel``). Installs Python's bundled pip with ensurepip,
then the requested packages from PyPI. scripts/collection-checks.sh puts it where ansible-test looks for its cache.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}  # get-pip's own options; pip install does not know them

ensurepip.bootstrap(upgrade=True)
# ensurepip hides the pip configuration (PIP_CONFIG_FILE=/dev/null); the install from PyPI needs the host's (its CA).
env = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"}
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet",
                          *[a for a in sys.argv[1:] if a not in GET_PIP_ONLY]], env=env))
