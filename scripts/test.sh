#!/usr/bin/env bash
# Set up (or reuse) the project virtual environment and run the whole test suite.
#   bash scripts/test.sh            # everything that needs no NPU
#   bash scripts/test.sh -k lorentz # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh
aam_setup_venv test
exec python -m pytest -q "$@" tests
