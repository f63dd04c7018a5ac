#!/usr/bin/env bash
# Installs (or removes) the Orchestrator daemons as systemd services on a Linux VM.
#
#   sudo deploy/systemd/install.sh                 publish both daemons, install them under /opt/orchestrator
#   sudo deploy/systemd/install.sh --prefix /srv/o  elsewhere
#   sudo deploy/systemd/install.sh --only scheduler (or agent, or balancer: orchestrator-balancer for HAProxy)
#   sudo deploy/systemd/install.sh --only agent --join-token ORCH-1-...   an agent for another VM's scheduler
#   sudo deploy/systemd/install.sh --only scheduler --etcd https://10.0.0.5:2379,... --advertise 10.0.0.5:7400
#                                                    one of several schedulers on etcd (high availability)
#   sudo deploy/systemd/install.sh --live-restore   also turn on Docker's live-restore (asked on a terminal; --no-live-restore: never)
#   sudo deploy/systemd/install.sh --no-cli         without the orchestrator CLI (else installed as /usr/local/bin/orchestrator)
#   sudo deploy/systemd/install.sh --uninstall      remove binaries and units; keeps config and state
#   deploy/systemd/install.sh --root /tmp/stage     lay everything out below a staging root, no users, no systemctl
#
# It publishes self-contained linux-x64 builds (the host needs no .NET), installs the units into
# /etc/systemd/system and the settings into /etc/orchestrator (never overwriting edited ones), creates
# the service users, and prints how to enable the services.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

prefix=/opt/orchestrator
root=""
only="scheduler agent"
uninstall=0
join_token=""
live_restore=ask
cli=1
etcd_endpoints=""
advertise=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --root) root="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --join-token) join_token="$2"; shift 2 ;;
    --etcd) etcd_endpoints="$2"; shift 2 ;;
    --advertise) advertise="$2"; shift 2 ;;
    --live-restore) live_restore=yes; shift ;;
    --no-live-restore) live_restore=no; shift ;;
    --no-cli) cli=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Several schedulers on etcd: checked before anything is published or written.
if [ -n "$etcd_endpoints" ] || [ -n "$advertise" ]; then
  [[ " $only " == *" scheduler "* ]] || { echo "install.sh: --etcd and --advertise are settings of the scheduler; they need it installed (--only scheduler)" >&2; exit 2; }
  [ -n "$etcd_endpoints" ] || { echo "install.sh: --advertise is for a scheduler on etcd; give --etcd ENDPOINTS too" >&2; exit 2; }
  IFS=, read -r -a endpoints <<<"$etcd_endpoints"
  for endpoint in "${endpoints[@]}"; do
    [[ "$endpoint" =~ ^https?://[^/,[:space:]]+:[0-9]+$ ]] || { echo "install.sh: --etcd takes the etcd members' client URLs, comma-separated (https://10.0.0.5:2379,...); \"$endpoint\" is not one" >&2; exit 2; }
  done
  # The others forward calls to, and agents are sent to, the address the leader publishes: a loopback
  # or wildcard address (the unit's default listen address is 127.0.0.1) would point them at themselves.
  [[ "$advertise" =~ ^([^:/[:space:]]+):([0-9]+)$ ]] || { echo "install.sh: --etcd needs --advertise HOST:PORT, where the other schedulers and the agents reach this one (e.g. 10.0.0.5:7400)" >&2; exit 2; }
  advertise_host="${BASH_REMATCH[1]}"
  advertise_port="${BASH_REMATCH[2]}"
  case "$advertise_host" in
    127.*|localhost|0.0.0.0) echo "install.sh: --advertise $advertise is not reachable from other VMs; give this VM's address or name" >&2; exit 2 ;;
  esac
fi

etc="$root/etc/orchestrator"
units="$root/etc/systemd/system"
target="$root$prefix"
cli_bin="$root/usr/local/bin/orchestrator"
staging() { [ -n "$root" ]; }

if ! staging && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or with --root DIR to stage the files somewhere else)" >&2
  exit 1
fi

if [ "$uninstall" -eq 1 ]; then
  for daemon in $only; do
    staging || systemctl disable --now "orchestrator-$daemon.service" 2>/dev/null || true
    rm -f "$units/orchestrator-$daemon.service"
    rm -rf "${target:?}/$daemon"
  done
  [ "$cli" -eq 0 ] || rm -f "$cli_bin"
  staging || systemctl daemon-reload
  echo "Removed $only from $target and $units. Kept $etc and /var/lib/orchestrator; delete them by hand if you want them gone."
  exit 0
fi

command -v dotnet >/dev/null 2>&1 || { echo "install.sh: publishing needs the .NET 10 SDK (dotnet) on this machine" >&2; exit 1; }
# The agent's build compiles containerd's .proto files from Debian's golang-github-containerd-containerd-dev
# (ContainerdGoCode points it at another Go source tree), whichever runtime the agent will use.
if [[ " $only " == *" agent "* ]]; then
  gocode="${ContainerdGoCode:-/usr/share/gocode/src}"
  if [ ! -f "$gocode/github.com/containerd/containerd/api/services/tasks/v1/tasks.proto" ]; then
    [ -z "${ContainerdGoCode:-}" ] || { echo "install.sh: ContainerdGoCode=$ContainerdGoCode has no github.com/containerd/containerd/api in it" >&2; exit 1; }
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing golang-github-containerd-containerd-dev (containerd's protos, which the agent's build compiles)"
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-github-containerd-containerd-dev; } >&2 \
        || { echo "install.sh: apt-get install golang-github-containerd-containerd-dev failed" >&2; exit 1; }
    else
      echo "install.sh: publishing the agent needs containerd's protos; install them (apt-get install -y golang-github-containerd-containerd-dev) and run again" >&2
      exit 1
    fi
  fi
fi
mkdir -p "$etc" "$units" "$target"
for daemon in $only; do
  project="$repo/$daemon/Orchestrator.$(tr '[:lower:]' '[:upper:]' <<<"${daemon:0:1}")${daemon:1}.csproj"
  echo "Publishing $daemon (self-contained, linux-x64) to $target/$daemon"
  rm -rf "${target:?}/$daemon"
  dotnet publish "$project" -c Release -r linux-x64 --self-contained -p:InvariantGlobalization=true -nologo -v quiet -o "$target/$daemon" >&2
  sed -e "s|@PREFIX@|$target|g" -e "s|@ETC@|$etc|g" "$here/orchestrator-$daemon.service" >"$units/orchestrator-$daemon.service"
  settings="$here/$daemon.env"
  [ -f "$settings" ] || settings="$repo/deploy/$daemon.env.example"
  [ -f "$etc/$daemon.env" ] || install -m 0640 "$settings" "$etc/$daemon.env"
done

# The CLI: one self-contained file on the PATH (it reads ORCHESTRATOR_ADDR, ORCHESTRATOR_CACERT, ORCHESTRATOR_TOKEN).
if [ "$cli" -eq 1 ]; then
  echo "Publishing the orchestrator CLI (single file, linux-x64) to $cli_bin"
  cli_out="$(mktemp -d)"
  dotnet publish "$repo/cli/Orchestrator.Cli.csproj" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true -p:InvariantGlobalization=true -nologo -v quiet -o "$cli_out" >&2
  install -D -m 0755 "$cli_out/orchestrator" "$cli_bin"
  rm -rf "$cli_out"
fi

# A scheduler on etcd: the store settings go into its settings once, like the join token below; an
# edited file keeps what it says (the README's "High availability" has the TLS settings to add).
if [ -n "$etcd_endpoints" ] && [ -f "$etc/scheduler.env" ] && ! grep -q '^Scheduler__Store=' "$etc/scheduler.env"; then
  {
    echo "# Written by install.sh --etcd --advertise: one of several schedulers on etcd."
    grep -q '^Scheduler__Listen=' "$etc/scheduler.env" || echo "Scheduler__Listen=0.0.0.0:$advertise_port"
    grep -q '^Scheduler__TlsHostNames=' "$etc/scheduler.env" || echo "Scheduler__TlsHostNames=$advertise_host"
    echo "Scheduler__AdvertiseAddress=$advertise"
    echo "Scheduler__Store=etcd"
    echo "Scheduler__Etcd__Endpoints=$etcd_endpoints"
  } >>"$etc/scheduler.env"
fi

# The join token goes into the agent's settings once (the file is not world-readable).
if [ -n "$join_token" ] && [ -f "$etc/agent.env" ] && ! grep -q '^Agent__JoinToken=' "$etc/agent.env"; then
  printf 'Agent__JoinToken=%s\n' "$join_token" >>"$etc/agent.env"
fi

# Docker's live-restore keeps containers running while dockerd restarts (an upgrade, a crash); without
# it every task of the node stops with the engine. It is Docker's setting, not ours: asked, never forced.
live_restore_on() { grep -Eqs '"live-restore"[[:space:]]*:[[:space:]]*true' "$root/etc/docker/daemon.json"; }
if [[ " $only " == *" agent "* ]] && ! live_restore_on; then
  if [ "$live_restore" = ask ] && [ -t 0 ] && [ -t 1 ]; then
    read -r -p "Docker's live-restore is off: restarting dockerd would stop every task here. Turn it on in /etc/docker/daemon.json? [Y/n] " answer
    [[ "${answer:-y}" =~ ^[Yy] ]] && live_restore=yes
  fi
  if [ "$live_restore" = yes ]; then
    if staging; then "$here/enable-live-restore.sh" --root "$root"; else "$here/enable-live-restore.sh"; fi
  else
    echo "Docker's live-restore is off: a dockerd restart stops every task on this node. To turn it on: install.sh --live-restore"
  fi
fi

if ! staging; then
  if [[ " $only " == *" scheduler "* ]] && ! id orchestrator >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/orchestrator --shell /usr/sbin/nologin orchestrator
  fi
  if [[ " $only " == *" agent "* ]] && ! id orchestrator-agent >/dev/null 2>&1; then
    getent group docker >/dev/null || groupadd --system docker
    useradd --system --no-create-home --shell /usr/sbin/nologin --groups docker orchestrator-agent
  fi
  if [[ " $only " == *" balancer "* ]] && ! id orchestrator-balancer >/dev/null 2>&1; then
    # The haproxy group (Debian's haproxy package) gives it HAProxy's sockets and configuration directory.
    getent group haproxy >/dev/null || groupadd --system haproxy
    useradd --system --no-create-home --shell /usr/sbin/nologin --groups haproxy orchestrator-balancer
  fi
  chgrp -R orchestrator "$etc" 2>/dev/null || true
  systemctl daemon-reload
fi

cat <<TEXT
Installed $only under $target, units in $units, settings in $etc.
Edit the settings (the scheduler listens on 127.0.0.1:7400 until you set Scheduler__Listen), then:
  systemctl enable --now $(for d in $only; do printf 'orchestrator-%s ' "$d"; done)
  journalctl -u orchestrator-scheduler -u orchestrator-agent -f
TEXT

if [ -n "$etcd_endpoints" ]; then
  cat <<TEXT
This scheduler keeps its state in etcd ($etcd_endpoints) and is one of several: the first to start
creates the cluster, the others find it there. With https:// endpoints, add the CA and this scheduler's
client certificate (Scheduler__Etcd__CaCertificate, __ClientCertificate, __ClientKey) to $etc/scheduler.env;
deploy/systemd/scheduler-etcd.env.example shows them, deploy/systemd/etcd.env.example an etcd member.
Give agents and the CLI every scheduler: Agent__SchedulerAddress=https://$advertise,... and ORCHESTRATOR_ADDR=$advertise,...
TEXT
fi

# The scheduler makes its CA, admin token and join token on its first start, in its state directory.
state="$root/var/lib/orchestrator"
if [[ " $only " == *" scheduler "* ]]; then
  if [ -f "$state/join.token" ]; then
    echo "Join token for agents (give it to each agent once: install.sh --only agent --join-token TOKEN on its VM):"
    echo "  $(cat "$state/join.token")"
  else
    cat <<TEXT
After the scheduler's first start:
  join token for agents:  sudo cat /var/lib/orchestrator/join.token   (then on each agent VM: install.sh --only agent --join-token TOKEN)
  admin API token:        sudo cat /var/lib/orchestrator/admin.token
  CA for clients:         /var/lib/orchestrator/ca.crt
  the CLI:                export ORCHESTRATOR_CACERT=/var/lib/orchestrator/ca.crt ORCHESTRATOR_TOKEN=\$(sudo cat /var/lib/orchestrator/admin.token); orchestrator node ls
TEXT
  fi
fi
