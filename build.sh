#!/usr/bin/env bash
# One entry point for building, running, testing and benchmarking Orchestrator.
#   ./build.sh run     the scheduler in the foreground on the embedded LiteDB default (data/scheduler.db)
#   ./build.sh test    every test; ends with the line "N passed, N failed"
#   ./build.sh bench   the benchmarks (numbers in the README)
#   ./build.sh build   just build
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need_dotnet() {
  command -v dotnet >/dev/null 2>&1 || { echo "build.sh: the .NET 10 SDK (dotnet) is not on PATH; install it first" >&2; exit 1; }
}

build() {
  need_dotnet
  # Build output goes to stderr, so that stdout carries only what the command is for (bench tables).
  dotnet build Orchestrator.sln -c "${CONFIGURATION:-Release}" -nologo -v quiet -clp:ErrorsOnly "$@" >&2
}

cmd_run() {
  build
  echo "scheduler: listening on ${Scheduler__Listen:-127.0.0.1:7400}, state in ${Scheduler__DataPath:-data/scheduler.db} (Ctrl-C stops it)"
  exec dotnet "scheduler/bin/${CONFIGURATION:-Release}/net10.0/orchestrator-scheduler.dll" "$@"
}

cmd_test() {
  build
  local results; results=$(mktemp -d)
  local status=0
  dotnet test Orchestrator.sln -c "${CONFIGURATION:-Release}" --no-build -nologo \
    --logger "trx" --results-directory "$results" "$@" || status=$?
  # One plain summary line over every test project, as CI reads it.
  local passed=0 failed=0 skipped=0
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    local counters; counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    passed=$((passed + $(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")))
    failed=$((failed + $(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")))
    skipped=$((skipped + $(sed -E 's/.* notExecuted="([0-9]+)".*/\1/' <<<"$counters")))
  done
  rm -rf "$results"
  if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "build.sh: no test ran" >&2
    status=1
  fi
  echo "$passed passed, $failed failed, $skipped skipped"
  return "$status"
}

cmd_bench() {
  build
  dotnet "tests/Orchestrator.Benchmarks/bin/${CONFIGURATION:-Release}/net10.0/Orchestrator.Benchmarks.dll" "$@"
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  build) shift; build "$@" ;;
  *) echo "usage: ./build.sh run|test|bench|build" >&2; exit 2 ;;
esac
