#!/usr/bin/env bash
# The main job, on a fresh machine with no download: set up .venv, generate SynthAttention,
# train aam_tiny, evaluate it against a centre-bias baseline, run the condition-swap ablation,
# run the audio-swap ablation, predict overlays (image, video, audio-visual) and export MindIR.
#   bash scripts/demo.sh [--out DIR] [--set train.epochs=2 ...]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh
aam_setup_venv run
exec python scripts/demo.py "$@"
