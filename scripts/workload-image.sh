#!/usr/bin/env bash
# Builds flotilla's workload image (`flotilla/workload:latest`) on a Docker engine, with no
# registry: the static workload binary of tools/workload (`-C target-feature=+crt-static`)
# as the only file of a `FROM scratch` image. The shipped live scenarios
# (scenarios/live/*.toml) run it; its `trace` step sleeps the trace's run time and exits with
# its exit code, so a live run executes the same trace as its simulation.
#
# Usage: scripts/workload-image.sh [DOCKER_HOST]     (default: the local socket)
# Needs: cargo, the docker CLI (only as a client).
set -euo pipefail
cd "$(dirname "$0")/.."
host="${1:-${DOCKER_HOST:-unix:///var/run/docker.sock}}"
target="$(uname -m)-unknown-linux-gnu"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --quiet \
  --manifest-path tools/workload/Cargo.toml --target "$target" --target-dir target/workload
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "target/workload/$target/release/workload" "$ctx/workload"
printf 'FROM scratch\nCOPY workload /workload\nENTRYPOINT ["/workload"]\n' > "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker -H "$host" build --quiet -t flotilla/workload:latest "$ctx"
echo "built flotilla/workload:latest on $host"
