#!/usr/bin/env bash
# One entry point for building, running, testing and benchmarking Orchestrator.
#   ./build.sh run     the scheduler and a local agent in the foreground (state in data/scheduler.db,
#                      containers on the local Docker); Ctrl-C stops both
#   ./build.sh balancer  HAProxy and orchestrator-balancer in front of the `./build.sh run` scheduler
#                      (state in data/balancer; target group ports on 127.0.0.1); Ctrl-C stops both
#   ./build.sh test    every test; ends with the line "N passed, N failed"
#   ./build.sh bench   the benchmarks (numbers in the README)
#   ./build.sh compose-up / compose-down   a three-node cluster in Docker Compose (deploy/compose)
#   ./build.sh compose-ha-up / compose-ha-down   the same with three schedulers on three etcd members
#   ./build.sh build   just build
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need_dotnet() {
  command -v dotnet >/dev/null 2>&1 || { echo "build.sh: the .NET 10 SDK (dotnet) is not on PATH; install it first" >&2; exit 1; }
}

build() {
  need_dotnet
  ensure_containerd_protos
  # Build output goes to stderr, so that stdout carries only what the command is for (bench tables).
  dotnet build Orchestrator.sln -c "${CONFIGURATION:-Release}" -nologo -v quiet -clp:ErrorsOnly "$@" >&2
}

# Docker: installed with apt where missing (as root), dockerd started where not running. Where neither
# is possible, one clear line and a non-zero exit: the Docker tests never skip silently.
DOCKER_LOG="${DOCKER_LOG:-/tmp/orchestrator-dockerd.log}"
TEST_IMAGE="orchestrator-test/busybox:latest"

die() { echo "build.sh: $*" >&2; exit 1; }

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "$* is missing and only root can install it; install it (apt-get install -y $*) and run again"
  command -v apt-get >/dev/null 2>&1 || die "$* is missing and there is no apt-get to install it with"
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || die "apt-get install $* failed"
}

# The agent's build compiles containerd's .proto files from Debian's golang-github-containerd-containerd-dev
# (those of the containerd installed; their gogoproto imports come with it). ContainerdGoCode points the
# build at another Go source tree instead.
ensure_containerd_protos() {
  local gocode="${ContainerdGoCode:-/usr/share/gocode/src}"
  [ -f "$gocode/github.com/containerd/containerd/api/services/tasks/v1/tasks.proto" ] && return 0
  [ -z "${ContainerdGoCode:-}" ] || die "ContainerdGoCode=$ContainerdGoCode has no github.com/containerd/containerd/api in it"
  apt_install golang-github-containerd-containerd-dev
}

# containerd for Agent:Runtime containerd and its tests (each starts a containerd of its own, never the
# one Docker uses): Debian's containerd and runc, the CNI plugins the agent runs (bridge, portmap,
# firewall, host-local, loopback in /usr/lib/cni), and iproute2 for the network namespaces.
ensure_containerd() {
  local missing=()
  command -v containerd >/dev/null 2>&1 || missing+=(containerd)
  command -v containerd-shim-runc-v2 >/dev/null 2>&1 || missing+=(containerd)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  for plugin in bridge portmap firewall host-local loopback; do
    [ -x "/usr/lib/cni/$plugin" ] || { missing+=(containernetworking-plugins); break; }
  done
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  [ ${#missing[@]} -eq 0 ] || apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
}

ensure_docker() {
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if ! docker info >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "dockerd is not running and only root can start it"
    echo "build.sh: starting dockerd (log: $DOCKER_LOG)" >&2
    nohup dockerd >"$DOCKER_LOG" 2>&1 &
    for _ in $(seq 1 90); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    docker info >/dev/null 2>&1 || die "dockerd did not come up within 90 s; see $DOCKER_LOG"
  fi
}

# The test image: Debian's busybox-static in an otherwise empty root file system, made with
# docker import, because nothing can be pulled here. It has sh, sleep, httpd and /www/index.html.
ensure_test_image() {
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && return 0
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || apt_install busybox-static
  local rootfs; rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo hello >"$rootfs/www/index.html"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' - "$TEST_IMAGE" >/dev/null || die "docker import of $TEST_IMAGE failed"
  rm -rf "$rootfs"
  echo "build.sh: built $TEST_IMAGE" >&2
}

cmd_run() {
  ensure_docker
  build
  local bin="bin/${CONFIGURATION:-Release}/net10.0"
  local listen="${Scheduler__Listen:-127.0.0.1:7400}"
  local db="${Scheduler__DataPath:-data/scheduler.db}"
  local data; data=$(dirname "$db")
  echo "scheduler: listening on $listen (TLS), state in $db; a local agent on the local Docker (Ctrl-C stops both)" >&2
  dotnet "scheduler/$bin/orchestrator-scheduler.dll" "$@" &
  local scheduler=$!
  # The scheduler writes its CA, admin token and join token on its first start; the local agent joins
  # with that token (read from the file, never put on a command line) and keeps its certificate in
  # data/agent. It publishes container ports on 127.0.0.1 unless told otherwise.
  for _ in $(seq 1 100); do
    [ -s "$data/join.token" ] && [ -s "$data/admin.token" ] && break
    kill -0 $scheduler 2>/dev/null || { wait $scheduler; exit 1; }
    sleep 0.2
  done
  Agent__SchedulerAddress="${Agent__SchedulerAddress:-https://$listen}" Agent__HostIp="${Agent__HostIp:-127.0.0.1}" \
    Agent__JoinTokenFile="${Agent__JoinTokenFile:-$data/join.token}" Agent__StateDirectory="${Agent__StateDirectory:-$data/agent}" \
    dotnet "agent/$bin/orchestrator-agent.dll" &
  local agent=$!
  local port="${listen##*:}"
  cat >&2 <<TEXT
scheduler: https://127.0.0.1:$port, CA $data/ca.crt, admin token $data/admin.token, join token $data/join.token
  grpcurl -cacert $data/ca.crt -H "authorization: Bearer \$(cat $data/admin.token)" 127.0.0.1:$port orchestrator.v1.NodeService/ListNodes
TEXT
  trap 'kill -TERM $agent $scheduler 2>/dev/null; wait $agent $scheduler 2>/dev/null; exit 0' INT TERM
  wait -n $scheduler $agent || true
  kill -TERM $agent $scheduler 2>/dev/null || true
  wait $agent $scheduler 2>/dev/null || true
}

# HAProxy and orchestrator-balancer next to the scheduler `./build.sh run` started (its CA and admin
# token in data/): a balancer token is created once (data/balancer/balancer.token, mode 600), the
# balancer writes HAProxy's configuration, then HAProxy starts on it in master-worker mode. Target
# groups listen on 127.0.0.1 unless Balancer__Haproxy__BindAddress says otherwise.
cmd_balancer() {
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_install haproxy
  local haproxy; haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
  build
  local bin="bin/${CONFIGURATION:-Release}/net10.0"
  local listen="${Scheduler__Listen:-127.0.0.1:7400}"
  local db="${Scheduler__DataPath:-data/scheduler.db}"
  local data; data=$(dirname "$db")
  local dir; dir="$(cd "$data" 2>/dev/null && pwd)/balancer"
  [ -s "$data/ca.crt" ] && [ -s "$data/admin.token" ] || die "no scheduler data in $data: start ./build.sh run first"
  mkdir -p "$dir"
  if [ ! -s "$dir/balancer.token" ]; then
    (umask 077; ORCHESTRATOR_ADDR="https://$listen" ORCHESTRATOR_CACERT="$data/ca.crt" ORCHESTRATOR_TOKEN="$(cat "$data/admin.token")" \
      dotnet "cli/$bin/orchestrator.dll" token create "balancer-$(hostname | tr -c 'A-Za-z0-9_\n-' '-')" --role balancer -o json \
      | sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p' >"$dir/balancer.token" || true)
    [ -s "$dir/balancer.token" ] || { rm -f "$dir/balancer.token"; die "could not create a balancer token: is ./build.sh run's scheduler up on $listen?"; }
  fi
  # The balancer writes a new configuration at start; HAProxy starts once it is there.
  rm -f "$dir/haproxy.cfg"
  Balancer__Schedulers="${Balancer__Schedulers:-https://$listen}" Balancer__CaCertificate="${Balancer__CaCertificate:-$data/ca.crt}" \
    Balancer__TokenFile="$dir/balancer.token" Balancer__Haproxy__ConfigPath="$dir/haproxy.cfg" \
    Balancer__Haproxy__AdminSocket="$dir/admin.sock" Balancer__Haproxy__MasterSocket="$dir/master.sock" \
    Balancer__Haproxy__StateFile="$dir/haproxy.state" Balancer__Haproxy__BindAddress="${Balancer__Haproxy__BindAddress:-127.0.0.1}" \
    dotnet "balancer/$bin/orchestrator-balancer.dll" "$@" &
  local balancer=$! lb=""
  trap 'kill -TERM $balancer $lb 2>/dev/null; wait $balancer $lb 2>/dev/null; exit 0' INT TERM
  for _ in $(seq 1 100); do
    [ -s "$dir/haproxy.cfg" ] && break
    kill -0 $balancer 2>/dev/null || { wait $balancer; exit 1; }
    sleep 0.2
  done
  [ -s "$dir/haproxy.cfg" ] || { kill -TERM $balancer 2>/dev/null; wait $balancer 2>/dev/null; die "the balancer wrote no HAProxy configuration in 20 s"; }
  "$haproxy" -W -S "$dir/master.sock" -f "$dir/haproxy.cfg" &
  lb=$!
  echo "balancer: HAProxy (pid $lb) driven by orchestrator-balancer (pid $balancer); config $dir/haproxy.cfg; Ctrl-C stops both" >&2
  wait -n $balancer $lb || true
  kill -TERM $balancer $lb 2>/dev/null || true
  wait $balancer $lb 2>/dev/null || true
}

cmd_test() {
  ensure_docker
  ensure_test_image
  ensure_containerd
  # The deploy tests check the systemd units with systemd-analyze (Debian's systemd package) and bring
  # up the Compose cluster with Debian's docker-compose.
  command -v systemd-analyze >/dev/null 2>&1 || apt_install systemd
  command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
  # The etcd store's tests start real etcd clusters from Debian's etcd-server (/usr/bin/etcd, 3.4);
  # etcd-client gives etcdctl for looking at them by hand.
  command -v etcd >/dev/null 2>&1 || apt_install etcd-server etcd-client
  # The balancer's tests start real HAProxy processes (Debian's haproxy, 2.6) on loopback.
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_install haproxy
  build
  local results; results=$(mktemp -d)
  local status=0
  # A test that hangs is stopped after 10 minutes (no test takes one), naming itself, and fails the run
  # instead of holding it until CI's own limit.
  dotnet test Orchestrator.sln -c "${CONFIGURATION:-Release}" --no-build -nologo \
    --blame-hang-timeout 10m --blame-hang-dump-type none \
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
  # The agent and failover benchmarks run containers of the test image on the local Docker (and on a
  # containerd of their own, where they measure both runtimes).
  ensure_docker
  ensure_test_image
  ensure_containerd
  build
  dotnet "tests/Orchestrator.Benchmarks/bin/${CONFIGURATION:-Release}/net10.0/Orchestrator.Benchmarks.dll" "$@"
}

compose() {
  BALANCER_DIR="${BALANCER_DIR:-$PWD/data/compose/${COMPOSE_PROJECT:-orchestrator}/balancer}" \
    docker-compose -f deploy/compose/docker-compose.yml -p "${COMPOSE_PROJECT:-orchestrator}" "$@"
}

# Publishes the daemons named (scheduler agent [balancer]) self-contained into deploy/compose/publish
# and builds the base image where none is given (nothing is pulled).
compose_publish() {
  ensure_docker
  command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
  need_dotnet
  # The agent's project compiles containerd's protos: without them its publish fails on a fresh machine.
  ensure_containerd_protos
  for daemon in "$@"; do
    local project="$daemon/Orchestrator.${daemon^}.csproj"
    rm -rf "deploy/compose/publish/$daemon"
    dotnet publish "$project" -c Release -r linux-x64 --self-contained -p:InvariantGlobalization=true -nologo -v quiet \
      -o "deploy/compose/publish/$daemon" >&2 || die "publishing $daemon failed"
  done
  if [ -z "${BASE_IMAGE:-}" ] && ! docker image inspect orchestrator/base:local >/dev/null 2>&1; then
    deploy/compose/make-base-image.sh deploy/compose/publish/scheduler >&2
  fi
}

# Copies the CA and the bootstrap admin token a scheduler container wrote into its volume on its first
# start out to $2 (for clients: grpcurl, the CLI, the tests), waiting up to 60 s; else stops with $3.
compose_copy_credentials() {
  local container="$1" out="$2"
  mkdir -p "$out"
  for _ in $(seq 1 60); do
    docker cp "$container:/data/admin.token" "$out/admin.token" >/dev/null 2>&1 && docker cp "$container:/data/ca.crt" "$out/ca.crt" >/dev/null 2>&1 && break
    sleep 1
  done
  [ -s "$out/admin.token" ] || die "$3"
  chmod 600 "$out/admin.token"
}

# Removes the task containers the demo's agents (node-a/b/c) left on the host.
compose_remove_task_containers() {
  local node
  for node in a b c; do
    docker ps -aq --filter "label=orchestrator.node=${NODE_PREFIX:-node}-$node" | xargs -r docker rm -f >/dev/null
  done
}

# Debian's haproxy and the shared libraries it links against, copied from this host into
# deploy/compose/publish/haproxy at their own paths, for the haproxy image (as etcd for the HA cluster).
compose_copy_haproxy() {
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_install haproxy
  local root="deploy/compose/publish/haproxy" binary library
  binary=$(command -v haproxy || echo /usr/sbin/haproxy)
  rm -rf "$root"
  mkdir -p "$root/usr/sbin" "$root/run/lb"
  cp -L "$binary" "$root/usr/sbin/haproxy"
  for library in $(ldd "$binary" | awk '/=>/ { print $3 }'); do
    [ -f "$library" ] || continue
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
  done
}

# Creates an API token of role balancer with the CLI (the admin token and CA in $2) and writes it to
# $1/token, which the balancer container mounts; its secret goes nowhere else.
compose_balancer_token() {
  local dir="$1" out="$2" port="${ORCHESTRATOR_PORT:-7400}" cli="cli/bin/${CONFIGURATION:-Release}/net10.0/orchestrator.dll" secret=""
  dotnet build cli/Orchestrator.Cli.csproj -c "${CONFIGURATION:-Release}" -nologo -v quiet -clp:ErrorsOnly >&2 || die "building the CLI failed"
  mkdir -p "$dir"
  chmod 700 "$dir"
  for _ in $(seq 1 30); do
    secret=$(ORCHESTRATOR_ADDR="https://127.0.0.1:$port" ORCHESTRATOR_CACERT="$out/ca.crt" ORCHESTRATOR_TOKEN="$(cat "$out/admin.token")" \
      dotnet "$cli" token create "${NODE_PREFIX:-node}-lb" --role balancer -o table 2>/dev/null | sed -n 's/^secret: //p') || true
    [ -n "$secret" ] && break
    sleep 1
  done
  [ -n "$secret" ] || die "could not create the balancer's token with the CLI within 30 s (is the scheduler serving on 127.0.0.1:$port?)"
  (umask 077 && printf '%s\n' "$secret" >"$dir/token")
}

# Publishes, then builds and starts the cluster: the scheduler and the agents first, then (once the
# balancer's token exists) the balancer and its HAProxy.
cmd_compose_up() {
  compose_publish scheduler agent balancer
  compose_copy_haproxy
  local out="data/compose/${COMPOSE_PROJECT:-orchestrator}"
  export BALANCER_DIR="$PWD/$out/balancer"
  compose build >&2 || die "docker-compose build failed"
  compose up -d scheduler agent-a agent-b agent-c >&2 || die "docker-compose up failed"
  # The scheduler writes its CA and bootstrap admin token into its volume on the first start: copy them
  # out for clients (grpcurl, the CLI, the tests), as ./build.sh run leaves them in data/.
  compose_copy_credentials "$(compose ps -q scheduler)" "$out" \
    "the scheduler wrote no admin token within 60 s; see: docker-compose -f deploy/compose/docker-compose.yml -p ${COMPOSE_PROJECT:-orchestrator} logs scheduler"
  compose_balancer_token "$BALANCER_DIR" "$out"
  compose up -d balancer haproxy >&2 || die "docker-compose up (balancer, haproxy) failed"
  echo "cluster up: scheduler on 127.0.0.1:${ORCHESTRATOR_PORT:-7400} (CA $out/ca.crt, admin token $out/admin.token), agents ${NODE_PREFIX:-node}-a/b/c (zones a/b/c), HAProxy on the host's 127.0.0.1 at each target group's port (balancer ${NODE_PREFIX:-node}-lb); ./build.sh compose-down stops it"
  echo "  grpcurl -cacert $out/ca.crt -H \"authorization: Bearer \$(cat $out/admin.token)\" 127.0.0.1:${ORCHESTRATOR_PORT:-7400} orchestrator.v1.NodeService/ListNodes"
}

# Stops the cluster, removes its volume, and removes the task containers its agents left on the host.
cmd_compose_down() {
  command -v docker-compose >/dev/null 2>&1 || die "docker-compose is not installed"
  compose down -v --remove-orphans >&2 || true
  rm -rf "data/compose/${COMPOSE_PROJECT:-orchestrator}"
  compose_remove_task_containers
  echo "cluster down"
}

compose_ha() {
  docker-compose -f deploy/compose/docker-compose.ha.yml -p "${COMPOSE_PROJECT:-orchestrator-ha}" "$@"
}

# High availability in Compose: three etcd members (Debian's etcd from this host, installed with apt
# where missing, in an image on the same base), three schedulers on them and three agents given all
# three. Nothing is pulled.
cmd_compose_ha_up() {
  command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 || apt_install etcd-server etcd-client
  compose_publish scheduler agent
  rm -rf deploy/compose/publish/etcd
  mkdir -p deploy/compose/publish/etcd
  cp "$(command -v etcd)" "$(command -v etcdctl)" deploy/compose/publish/etcd/
  compose_ha up -d --build >&2 || die "docker-compose up (docker-compose.ha.yml) failed"
  # scheduler-1 normally creates the cluster (the others start after it); its CA and bootstrap admin
  # token are copied out for clients, as compose-up does.
  local out="data/compose/${COMPOSE_PROJECT:-orchestrator-ha}"
  compose_copy_credentials "$(compose_ha ps -q scheduler-1)" "$out" \
    "scheduler-1 wrote no admin token within 60 s; see: docker-compose -f deploy/compose/docker-compose.ha.yml -p ${COMPOSE_PROJECT:-orchestrator-ha} logs scheduler-1"
  local addr="127.0.0.1:${ORCHESTRATOR_PORT_1:-7401},127.0.0.1:${ORCHESTRATOR_PORT_2:-7402},127.0.0.1:${ORCHESTRATOR_PORT_3:-7403}"
  echo "cluster up: schedulers on $addr (one leader, two standbys; CA $out/ca.crt, admin token $out/admin.token), etcd-1/2/3, agents ${NODE_PREFIX:-node}-a/b/c; ./build.sh compose-ha-down stops it"
  echo "  export ORCHESTRATOR_ADDR=$addr ORCHESTRATOR_CACERT=$out/ca.crt ORCHESTRATOR_TOKEN=\$(cat $out/admin.token); orchestrator node ls"
}

cmd_compose_ha_down() {
  command -v docker-compose >/dev/null 2>&1 || die "docker-compose is not installed"
  compose_ha down -v --remove-orphans >&2 || true
  rm -rf "data/compose/${COMPOSE_PROJECT:-orchestrator-ha}"
  compose_remove_task_containers
  echo "cluster down"
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  balancer) shift; cmd_balancer "$@" ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  build) shift; build "$@" ;;
  compose-up) shift; cmd_compose_up ;;
  compose-down) shift; cmd_compose_down ;;
  compose-ha-up) shift; cmd_compose_ha_up ;;
  compose-ha-down) shift; cmd_compose_ha_down ;;
  *) echo "usage: ./build.sh run|balancer|test|bench|build|compose-up|compose-down|compose-ha-up|compose-ha-down" >&2; exit 2 ;;
esac
