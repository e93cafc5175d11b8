#!/usr/bin/env bash
# gpu-check.sh — check GPU discovery and CUDA_VISIBLE_DEVICES isolation on a host that runs
# flotilla's *process* executor (NVIDIA GPUs, no Docker).
#
# What it checks
#   1. Discovery: prints what flotilla's GPU discovery parses,
#        nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader
#   2. Isolation (needs >= 2 GPUs): starts two jobs at the same time, the first with
#      CUDA_VISIBLE_DEVICES=<UUID of GPU 0>, the second with the UUID of GPU 1 — exactly the
#      environment the process executor gives an attempt — and has each report which GPUs
#      CUDA shows it. A job passes when it sees exactly one GPU and that GPU is its own.
#      While both run, `nvidia-smi --query-compute-apps` is asked which GPU each job's process
#      actually holds memory on (where the PIDs are visible, i.e. not from inside a PID
#      namespace) and that must match too.
#      With one GPU only one job runs; the isolation half is skipped (it needs two).
#
#   What the jobs run, best first:
#     * python3 with a CUDA build of torch: torch.cuda.device_count(), device name and UUID,
#       plus a small allocation kept for a few seconds so the jobs overlap on the GPUs;
#     * python3 with cupy: the same through the CUDA runtime;
#     * neither: nothing is compiled; each job prints its CUDA_VISIBLE_DEVICES and
#       `nvidia-smi --query-gpu=uuid --format=csv,noheader -i $CUDA_VISIBLE_DEVICES`. That only
#       shows each job was *given* a different GPU, not what CUDA lets it see (nvidia-smi, like
#       anything on NVML, ignores CUDA_VISIBLE_DEVICES) — the script says so.
#
#   Remember CUDA_VISIBLE_DEVICES is advisory: a job can unset it and NVML always sees every
#   GPU. Hard isolation needs containers (Docker executor) or device cgroups.
#
# What it needs
#   bash, the NVIDIA driver with nvidia-smi on PATH; optionally python3 with torch (CUDA build)
#   or cupy for the real CUDA check. No Docker, no root, no network. Set PYTHON to use another
#   interpreter (e.g. a virtualenv's). Run from anywhere: scripts/gpu-check.sh
#
# Exit status
#   0  discovery worked and every job saw exactly its own GPU (or the fallback check passed)
#   1  a job saw another GPU, none, or more than one (isolation broken), or a job failed
#   2  prerequisites missing: no nvidia-smi, nvidia-smi failing, or no GPU found
#
# (The flotilla part — running `flotilla live` against this host — is added by the live-mode
# scenario, not here.)

set -uo pipefail

PYTHON=${PYTHON:-python3}
JOB_SECONDS=${JOB_SECONDS:-10} # how long each CUDA job holds its GPU, so the two overlap

die() {
  echo "gpu-check: $*" >&2
  exit 2
}

command -v nvidia-smi >/dev/null 2>&1 || die "nvidia-smi not found on PATH (no NVIDIA driver?)"

echo "== GPUs: nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader"
if ! inventory=$(nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader 2>&1); then
  echo "$inventory" >&2
  die "nvidia-smi failed"
fi
echo "$inventory"

# UUIDs in nvidia-smi (= PCI bus) order, without the padding spaces.
mapfile -t uuids < <(nvidia-smi --query-gpu=uuid --format=csv,noheader | tr -d ' \r' | grep -v '^$')
count=${#uuids[@]}
[ "$count" -gt 0 ] || die "nvidia-smi lists no GPU"
echo "found $count GPU(s)"

# Pick how the jobs look at CUDA. torch.version.cuda is None on a CPU-only torch build.
backend=none
if command -v "$PYTHON" >/dev/null 2>&1; then
  if "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.version.cuda else 1)' >/dev/null 2>&1; then
    backend=torch
  elif "$PYTHON" -c 'import cupy' >/dev/null 2>&1; then
    backend=cupy
  fi
fi
echo "CUDA check: $backend"

# The job's Python: prints "count=<n>", then "device=<i> uuid=<GPU-…> name=<…>" per visible
# device, writes its pid to $PID_FILE, holds a small allocation on every visible device for
# $JOB_SECONDS so the jobs overlap, and exits 0. The verdict is the parent's.
read -r -d '' job_py <<'EOF'
import os, sys, time

backend = sys.argv[1]
with open(os.environ["PID_FILE"], "w") as f:
    f.write(str(os.getpid()))

def gpu_uuid(text):
    # torch prints "4f2b…", cupy gives 16 raw bytes; nvidia-smi says "GPU-4f2b…".
    text = text.strip()
    return text if text.startswith(("GPU-", "MIG-")) else "GPU-" + text

held = []
if backend == "torch":
    import torch
    n = torch.cuda.device_count()
    print(f"count={n}")
    for i in range(n):
        p = torch.cuda.get_device_properties(i)
        u = getattr(p, "uuid", None)  # torch >= 2.1
        print(f"device={i} uuid={gpu_uuid(str(u)) if u is not None else 'unknown'} name={p.name}")
        held.append(torch.ones(1 << 20, device=f"cuda:{i}"))
else:
    import cupy
    rt = cupy.cuda.runtime
    n = rt.getDeviceCount()
    print(f"count={n}")
    for i in range(n):
        p = rt.getDeviceProperties(i)
        name = p["name"].decode() if isinstance(p["name"], bytes) else p["name"]
        raw = p.get("uuid")
        if isinstance(raw, (bytes, bytearray)) and len(raw) == 16:
            h = raw.hex()
            u = gpu_uuid(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        else:
            u = "unknown"
        print(f"device={i} uuid={u} name={name}")
        with cupy.cuda.Device(i):
            held.append(cupy.ones(1 << 20))
sys.stdout.flush()
time.sleep(float(os.environ.get("JOB_SECONDS", "10")))
EOF

workdir=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$workdir"' EXIT

# start_job <n> <uuid>: one job in the background, environment as the process executor sets it.
pids=()
start_job() {
  local n=$1 uuid=$2
  (
    export CUDA_VISIBLE_DEVICES=$uuid NVIDIA_VISIBLE_DEVICES=$uuid CUDA_DEVICE_ORDER=PCI_BUS_ID
    export PID_FILE="$workdir/job$n.pid" JOB_SECONDS
    if [ "$backend" = none ]; then
      echo "$BASHPID" >"$PID_FILE"
      echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"
      echo "nvidia-smi -i: $(nvidia-smi --query-gpu=uuid --format=csv,noheader -i "$CUDA_VISIBLE_DEVICES" 2>&1 | tr -d ' ')"
    else
      exec "$PYTHON" -c "$job_py" "$backend"
    fi
  ) >"$workdir/job$n.out" 2>"$workdir/job$n.err" &
  pids+=($!)
}

# check_job <n> <uuid>: verdict on a finished job; returns non-zero on failure.
check_job() {
  local n=$1 uuid=$2 status=$3 out="$workdir/job$1.out"
  echo "== job $n (CUDA_VISIBLE_DEVICES=$uuid), exit $status"
  sed 's/^/   /' "$out"
  [ -s "$workdir/job$n.err" ] && sed 's/^/   stderr: /' "$workdir/job$n.err"
  if [ "$status" -ne 0 ]; then
    echo "   FAIL: job exited $status"
    return 1
  fi
  if [ "$backend" = none ]; then
    if grep -qxF "nvidia-smi -i: $uuid" "$out"; then
      echo "   ok: given only its own GPU (env var only; install torch or cupy to check what CUDA sees)"
      return 0
    fi
    echo "   FAIL: nvidia-smi -i does not resolve CUDA_VISIBLE_DEVICES to $uuid"
    return 1
  fi
  local seen_count seen_uuids
  seen_count=$(sed -n 's/^count=//p' "$out")
  seen_uuids=$(sed -n 's/^device=[0-9]* uuid=\([^ ]*\).*/\1/p' "$out")
  if [ "$seen_count" != 1 ]; then
    echo "   FAIL: CUDA shows ${seen_count:-no} device(s); expected exactly 1"
    return 1
  fi
  if [ "$seen_uuids" = unknown ]; then
    echo "   ok: CUDA shows exactly 1 device (its UUID is not reported by this $backend version)"
  elif [ "${seen_uuids,,}" = "${uuid,,}" ]; then
    echo "   ok: CUDA shows exactly its own GPU"
  else
    echo "   FAIL: CUDA shows $seen_uuids, not its own $uuid"
    return 1
  fi
}

# check_compute_apps <n> <uuid>: while jobs run, where does job n's process hold memory?
check_compute_apps() {
  local n=$1 uuid=$2 pid apps
  pid=$(cat "$workdir/job$n.pid" 2>/dev/null) || return 0
  apps=$(nvidia-smi --query-compute-apps=pid,gpu_uuid --format=csv,noheader 2>/dev/null | tr -d ' ')
  local on
  on=$(echo "$apps" | awk -F, -v p="$pid" '$1 == p { print $2 }' | sort -u | paste -sd, -)
  if [ -z "$on" ]; then
    echo "   job $n (pid $pid): not in nvidia-smi's compute apps (PID namespace?); skipped"
  elif [ "${on,,}" = "${uuid,,}" ]; then
    echo "   job $n (pid $pid): holds memory on $on only — ok"
  else
    echo "   job $n (pid $pid): holds memory on $on, expected $uuid only — FAIL"
    return 1
  fi
}

failed=0
jobs_to_run=2
if [ "$count" -lt 2 ]; then
  jobs_to_run=1
  echo "only 1 GPU: running one job; the isolation half needs 2 GPUs"
fi

for ((n = 0; n < jobs_to_run; n++)); do
  start_job "$n" "${uuids[$n]}"
done

if [ "$backend" != none ]; then
  # Give the jobs time to import, allocate and show up, then look from outside.
  for _ in $(seq 1 240); do
    ready=0
    for ((n = 0; n < jobs_to_run; n++)); do
      grep -q '^device=' "$workdir/job$n.out" 2>/dev/null && ready=$((ready + 1))
    done
    [ "$ready" -eq "$jobs_to_run" ] && break
    sleep 0.5
  done
  echo "== nvidia-smi --query-compute-apps while the jobs run"
  for ((n = 0; n < jobs_to_run; n++)); do
    check_compute_apps "$n" "${uuids[$n]}" || failed=1
  done
fi

for ((n = 0; n < jobs_to_run; n++)); do
  wait "${pids[$n]}"
  status=$?
  check_job "$n" "${uuids[$n]}" "$status" || failed=1
done

if [ "$failed" -ne 0 ]; then
  echo "gpu-check: FAILED"
  exit 1
fi
if [ "$jobs_to_run" -lt 2 ]; then
  echo "gpu-check: ok (discovery and one job; isolation not checked: needs 2 GPUs)"
else
  echo "gpu-check: ok (two concurrent jobs each saw only their own GPU)"
fi
