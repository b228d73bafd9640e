#!/usr/bin/env bash
# Data-parallel AAM training: 4x910B with HCCL (default), or N CPU workers over mccl.
#
#   bash scripts/run_distributed.sh [options] CONFIG [key=value overrides...]
#
# Options
#   --backend ascend|cpu   device backend (default: ascend)
#   --devices 0,1,2,3      NPU ids (Ascend; exported as ASCEND_RT_VISIBLE_DEVICES; default: the
#                          value of ASCEND_RT_VISIBLE_DEVICES, else 0..workers-1)
#   --workers N            ranks on this server (default: number of --devices, or 2 on CPU)
#   --rank_table FILE      HCCL rank table (schema 1.0); msrun --rank_table_file / RANK_TABLE_FILE
#   --mode msrun|legacy    msrun (default) or one process per rank with RANK_ID/DEVICE_ID exported
#   --nodes N --node_rank K --master_addr IP
#                          multi-server msrun: run the same command on every server with its own
#                          --node_rank; --master_addr is the IP of node 0 (default 127.0.0.1)
#   --master_port P        scheduler port (default 8118)
#   --log_dir DIR          logs (default: runs/dist_logs); legacy mode: DIR/rank_<id>/ per rank
#   --timeout S            stop the job S seconds after a rank fails (default 30)
#   --dry-run              print exactly what would be launched (commands and per-rank env), then
#                          validate the whole plan on CPU (model built, every dataset resolved
#                          against data.train, per-rank batches): scripts/train.py --dry-run
#   --stand-in             with --dry-run: plan against a generated metadata-only manifest of
#                          the configured datasets (no data needed)
set -euo pipefail

backend=ascend devices="" workers="" rank_table="" mode=msrun nodes=1 node_rank=0
master_addr=127.0.0.1 master_port=8118 log_dir=runs/dist_logs timeout=30 dry_run=0 stand_in=0

die() { echo "run_distributed: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --devices) devices="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --rank_table) rank_table="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --node_rank) node_rank="$2"; shift 2 ;;
    --master_addr) master_addr="$2"; shift 2 ;;
    --master_port) master_port="$2"; shift 2 ;;
    --log_dir) log_dir="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --dry-run|--dry_run) dry_run=1; shift ;;
    --stand-in|--stand_in) stand_in=1; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    --*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "missing CONFIG (see --help)"
config="$1"; shift
case "$backend" in ascend|cpu) ;; *) die "--backend must be ascend or cpu, got '$backend'" ;; esac
case "$mode" in msrun|legacy) ;; *) die "--mode must be msrun or legacy, got '$mode'" ;; esac

cd "$(dirname "$0")/.."
if [ -z "$devices" ] && [ "$backend" = ascend ]; then
  devices="${ASCEND_RT_VISIBLE_DEVICES:-}"
fi
if [ -z "$workers" ]; then
  if [ -n "$devices" ]; then workers=$(echo "$devices" | tr ',' '\n' | grep -c .); 
  elif [ "$backend" = cpu ]; then workers=2; else workers=4; fi
fi
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive integer, got '$workers'"
[[ "$nodes" =~ ^[1-9][0-9]*$ ]] || die "--nodes must be a positive integer"
if [ -z "$devices" ]; then devices=$(seq -s, 0 $((workers - 1))); fi
IFS=',' read -r -a dev_arr <<< "$devices"
[ "${#dev_arr[@]}" -eq "$workers" ] || die "--devices lists ${#dev_arr[@]} ids but --workers is $workers"
[ -f "$config" ] || die "config file not found: $config"

table_ranks=()
if [ -n "$rank_table" ]; then
  [ "$backend" = ascend ] || die "--rank_table is for the ascend backend"
  [ -f "$rank_table" ] || die "rank table not found: $rank_table"
  rank_table=$(cd "$(dirname "$rank_table")" && pwd)/$(basename "$rank_table")
  # rank id, device id, server id per line; validates the table first
  mapfile -t table_ranks < <(python3 -c '
import json, sys
sys.path.insert(0, "scripts")
from gen_rank_table import rank_env, validate, RankTableError
try:
    rows = rank_env(json.load(open(sys.argv[1])))
except (RankTableError, ValueError) as e:
    sys.exit(f"run_distributed: error: {e}")
for r, d, s in rows:
    print(r, d, s)' "$rank_table")
  total=$((workers * nodes))
  [ "${#table_ranks[@]}" -eq "$total" ] || \
    die "rank table has ${#table_ranks[@]} ranks but $nodes node(s) x $workers worker(s) = $total"
fi

# the project's virtual environment when MindSpore is not on PATH already
if ! command -v msrun >/dev/null 2>&1 && [ -x "${AAM_VENV:-.venv}/bin/msrun" ]; then
  PATH="$(cd "${AAM_VENV:-.venv}/bin" && pwd):$PATH"
fi
if [ "$dry_run" = 0 ] && [ "$mode" = msrun ] && ! command -v msrun >/dev/null 2>&1; then
  die "msrun not found: install mindspore (bash scripts/test.sh sets up .venv) or activate its environment"
fi
python_bin="${PYTHON:-python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
train=(scripts/train.py --config "$config" --device "$backend" --distributed "$@")
export GLOG_v="${GLOG_v:-3}"
mkdir_log() { [ "$dry_run" = 1 ] || mkdir -p "$1"; }
# --dry-run, after the launch plan: the training plan of every rank, validated on CPU
plan_check() {
  local extra=(); [ "$stand_in" = 1 ] && extra=(--stand-in)
  "$python_bin" scripts/train.py --config "$config" --device "$backend" --dry-run \
    --world-size $((workers * nodes)) "${extra[@]}" "$@"
}

if [ "$mode" = msrun ]; then
  cmd=(msrun --worker_num=$((workers * nodes)) --local_worker_num="$workers"
       --master_addr="$master_addr" --master_port="$master_port" --node_rank="$node_rank"
       --log_dir="$log_dir" --join=True --cluster_time_out=120)
  [ -n "$rank_table" ] && cmd+=(--rank_table_file="$rank_table")
  cmd+=("${train[@]}")
  if [ "$backend" = ascend ]; then export ASCEND_RT_VISIBLE_DEVICES="$devices"; fi
  if [ "$dry_run" = 1 ]; then
    [ "$backend" = ascend ] && echo "export ASCEND_RT_VISIBLE_DEVICES=$devices"
    for ((i = 0; i < workers; i++)); do
      r=$((node_rank * workers + i))
      line="rank $r: device ${dev_arr[$i]}, log $log_dir/worker_$r.log"
      [ ${#table_ranks[@]} -gt 0 ] && line="$line, rank table entry: ${table_ranks[$r]}"
      echo "$line"
    done
    printf '%q ' "${cmd[@]}"; echo
    plan_check "$@"
    exit $?
  fi
  mkdir_log "$log_dir"
  echo "[run_distributed] $workers worker(s) x $nodes node(s), backend $backend, logs in $log_dir" >&2
  set +e
  "${cmd[@]}" &
  msrun_pid=$!
  trap 'kill -TERM "$msrun_pid" 2>/dev/null; pkill -TERM -f "scripts/train.py --config $config" 2>/dev/null' INT TERM
  # msrun --join=True kills the other workers when one fails; its scheduler may then wait for a
  # heartbeat timeout, so bound the total time after the first failure ourselves.
  failed_at=""
  while kill -0 "$msrun_pid" 2>/dev/null; do
    if [ -z "$failed_at" ] && grep -qs "exit with exception" "$log_dir"/scheduler.log "$log_dir"/*.log 2>/dev/null; then
      failed_at=$SECONDS
    fi
    if [ -n "$failed_at" ] && [ $((SECONDS - failed_at)) -ge "$timeout" ]; then
      echo "[run_distributed] a rank failed; stopping the job after ${timeout}s" >&2
      pkill -KILL -f "scripts/train.py --config $config" 2>/dev/null
      kill -KILL "$msrun_pid" 2>/dev/null
      break
    fi
    sleep 1
  done
  wait "$msrun_pid"; rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    for ((i = 0; i < workers * nodes; i++)); do
      f="$log_dir/worker_$i.log"
      if [ -f "$f" ] && ! grep -qs "AAM_TRAIN_DONE" "$f"; then
        echo "[run_distributed] rank $i did not finish: see $f" >&2
        tail -n 5 "$f" >&2 || true
      fi
    done
    echo "[run_distributed] FAILED (exit $rc); logs in $log_dir" >&2
    exit "$rc"
  fi
  echo "[run_distributed] all ranks finished; logs in $log_dir" >&2
  exit 0
fi

# ---- legacy mode: one process per rank, environment exported by hand -----------------------
[ "$nodes" -eq 1 ] || die "legacy mode runs one server; start it on each server with its own table"
ncpu=$(nproc)
per=$(( ncpu / workers )); [ "$per" -ge 1 ] || per=1
pids=() ranks=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap 'cleanup; exit 130' INT TERM
for ((i = 0; i < workers; i++)); do
  rank=$i device=${dev_arr[$i]}
  if [ ${#table_ranks[@]} -gt 0 ]; then read -r rank device _ <<< "${table_ranks[$i]}"; fi
  wdir="$log_dir/rank_$rank"
  first=$(( (i * per) % ncpu )); last=$(( first + per - 1 ))
  env_vars=(RANK_SIZE="$workers" RANK_ID="$rank" DEVICE_ID="$device")
  if [ -n "$rank_table" ]; then
    env_vars+=(RANK_TABLE_FILE="$rank_table" MINDSPORE_HCCL_CONFIG_PATH="$rank_table")
  fi
  if [ "$dry_run" = 1 ]; then
    echo "rank $rank: cd $wdir && env ${env_vars[*]} taskset -c $first-$last $python_bin ${train[*]} > $wdir/train.log 2>&1"
    continue
  fi
  mkdir -p "$wdir"
  (cd "$wdir" && env "${env_vars[@]}" PYTHONPATH="$OLDPWD${PYTHONPATH:+:$PYTHONPATH}" \
     taskset -c "$first-$last" "$python_bin" "$OLDPWD/${train[0]}" "${train[@]:1}" \
     > train.log 2>&1) &
  pids+=("$!"); ranks+=("$rank")
done
if [ "$dry_run" = 1 ]; then plan_check "$@"; exit $?; fi
# Poll every rank; the first failure names its rank and log, then the others are stopped
# (TERM, then KILL after --timeout seconds) so that no rank waits forever on a dead peer.
rc=0 left=${#pids[@]}
declare -A done_rank=()
while [ "$left" -gt 0 ] && [ "$rc" -eq 0 ]; do
  for ((i = 0; i < ${#pids[@]}; i++)); do
    [ -n "${done_rank[$i]:-}" ] && continue
    kill -0 "${pids[$i]}" 2>/dev/null && continue
    set +e; wait "${pids[$i]}"; code=$?; set -e
    done_rank[$i]=1; left=$((left - 1))
    if [ "$code" -ne 0 ]; then
      echo "[run_distributed] rank ${ranks[$i]} failed (exit $code): see $log_dir/rank_${ranks[$i]}/train.log" >&2
      tail -n 5 "$log_dir/rank_${ranks[$i]}/train.log" >&2 || true
      rc=$code
    fi
  done
  sleep 1
done
if [ "$rc" -ne 0 ]; then
  cleanup
  for ((t = 0; t < timeout; t++)); do
    alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  echo "[run_distributed] FAILED; logs in $log_dir/rank_*" >&2
  exit "$rc"
fi
echo "[run_distributed] all ranks finished; logs in $log_dir/rank_*" >&2
