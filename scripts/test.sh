#!/usr/bin/env bash
# Set up (or reuse) the project virtual environment and run the whole test suite.
#   bash scripts/test.sh            # everything that needs no NPU
#   bash scripts/test.sh -k lorentz # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh
aam_setup_venv test
# both cores: the tests of one file stay in one worker (shared module fixtures, compiled graphs);
# the longest files start first (tests/conftest.py); the 25 slowest tests are listed at the end
exec python -m pytest -q -n "${AAM_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder \
  --durations=25 "$@" tests
