#!/usr/bin/env bash
# Shared set-up for the project's scripts: create and activate .venv, install requirements
# once (a stamp file records the hash of the requirement files that were installed).
# Usage: source scripts/env.sh; aam_setup_venv [run|test]
aam_setup_venv() {
  local kind="${1:-run}" venv="${AAM_VENV:-.venv}" req stamp want
  req=requirements.txt
  [ "$kind" = test ] && req=requirements-test.txt
  if [ ! -x "$venv/bin/python" ]; then
    echo "[aam-ms] creating virtual environment $venv" >&2
    python3 -m venv "$venv"
  fi
  # shellcheck disable=SC1091
  source "$venv/bin/activate"
  want=$(cat requirements.txt "$req" | sha256sum | cut -c1-16)
  stamp="$venv/.aam-installed-$kind"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[aam-ms] installing $req into $venv (first run takes a few minutes)" >&2
    python -m pip install -q --upgrade pip >&2
    python -m pip install -q -r "$req" >&2
    echo "$want" > "$stamp"
  fi
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  export GLOG_v="${GLOG_v:-3}"   # MindSpore: errors only
}
