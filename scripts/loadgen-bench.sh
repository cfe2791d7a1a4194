#!/usr/bin/env bash
# End-to-end ingest measurement: starts a release daemon on 127.0.0.1 (fresh data dir per run), runs
# sightline-loadgen against it and prints the load generator's JSON report together with the daemon's CPU
# seconds (utime+stime from /proc/<pid>/stat, before and after the run) and its RSS at the end.
#
#   cargo build --release -p sightline && cargo build --release -p sightline-loadgen
#   scripts/loadgen-bench.sh WORKDIR -- --protocol http-protobuf --signal logs --duration 20s
#
# WORKDIR gets sightline.yaml (ports 14317/14318/18080, durability fsync), data/ and daemon.log.
# SIGHTLINE_BENCH_CONFIG names a YAML file appended to that config (e.g. a `redaction:` section);
# SIGHTLINE_BIN another daemon binary (e.g. target/profiling/sightline); SIGHTLINE_LOADGEN_BIN another
# load generator.
set -euo pipefail
workdir=$1; shift; [[ ${1:-} == -- ]] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$workdir"; workdir=$(cd "$workdir" && pwd)
cat > "$workdir/sightline.yaml" <<YAML
data_dir: $workdir/data
log:
  format: json
http:
  listen: "127.0.0.1:18080"
otlp:
  grpc:
    listen: "127.0.0.1:14317"
  http:
    listen: "127.0.0.1:14318"
storage:
  durability: fsync
YAML
if [[ -n ${SIGHTLINE_BENCH_CONFIG:-} ]]; then cat "$SIGHTLINE_BENCH_CONFIG" >> "$workdir/sightline.yaml"; fi
rm -rf "$workdir/data"
"${SIGHTLINE_BIN:-$root/target/release/sightline}" serve --config "$workdir/sightline.yaml" >"$workdir/daemon.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat"; }
target=http://127.0.0.1:14318
[[ " $* " == *" grpc "* ]] && target=http://127.0.0.1:14317
before=$(cpu)
report=$("${SIGHTLINE_LOADGEN_BIN:-$root/target/release/sightline-loadgen}" --target "$target" --json "$@")
after=$(cpu)
rss_kib=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
hwm_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
echo "$report" | python3 -c '
import json, sys
r = json.load(sys.stdin)
cpu = float(sys.argv[2]) - float(sys.argv[1])
r["daemon_cpu_s"] = round(cpu, 2)
r["items_per_daemon_cpu_s"] = round(r["items"] / cpu) if cpu > 0 else None
r["daemon_rss_mib"] = round(int(sys.argv[3]) / 1024, 1)
r["daemon_peak_rss_mib"] = round(int(sys.argv[4]) / 1024, 1)
print(json.dumps(r))
' "$before" "$after" "$rss_kib" "$hwm_kib"
