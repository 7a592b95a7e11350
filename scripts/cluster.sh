#!/usr/bin/env bash
# A whole production shape on one machine, on loopback: a PostgreSQL primary, a streaming
# replica made with pg_basebackup -R, kreisgeo nodes (DATABASE_URL on the primary, reads on the
# replica) and nginx balancing them. For the multi-node tests (tests/cluster.rs), the scaling
# benchmark (benches/cluster.sh) and anyone who wants to see it work.
#
#   scripts/cluster.sh up DIR             start everything under DIR; prints DIR/cluster.env
#   scripts/cluster.sh stop NAME DIR      stop one part: primary, replica, node1, node2, …, lb
#   scripts/cluster.sh start NAME DIR     start it again
#   scripts/cluster.sh down DIR           stop everything
#
# Environment: KREISGEO (the binary; default target/release/kreisgeo), CLUSTER_NODES (2),
# CLUSTER_PORTS ("primary,replica,lb,node1,node2,…"; default free ones from 25400 on),
# CLUSTER_PIN=1 (node i runs on core i-1 with one worker: the scaling benchmark),
# CLUSTER_CPU_QUOTA=F (as root: each node gets at most F cores by a cgroup, e.g. 0.25, so that
# on a small machine the nodes, not PostgreSQL or the clients, are what runs out),
# CLUSTER_NODE_ARGS (more `serve` options). The servers trust loopback connections: a test rig,
# not a deployment (README, "Production shape").
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KREISGEO="${KREISGEO:-$ROOT/target/release/kreisgeo}"
NODES="${CLUSTER_NODES:-2}"

bindir() {
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -x "$newest/initdb" ]] || { echo "PostgreSQL server binaries not found: scripts/install-deps.sh" >&2; exit 1; }
  echo "$newest"
}
PGBIN="$(bindir)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

# PostgreSQL refuses to run as root: as root, its commands run as the postgres user.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

load_env() {
  # shellcheck source=/dev/null
  source "$DIR/cluster.env"
}

wait_ready() { # URL SECONDS
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    (( SECONDS < deadline )) || { echo "not ready: $1" >&2; return 1; }
    sleep 0.2
  done
}

pg_start() { # primary|replica
  as_pg "$PGBIN/pg_ctl" -D "$DIR/pg/$1" -l "$DIR/pg/$1.log" -w -t 60 start >/dev/null
}

pg_stop() {
  as_pg "$PGBIN/pg_ctl" -D "$DIR/pg/$1" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# A cgroup holding at most CLUSTER_CPU_QUOTA cores for node N; prints its cgroup.procs file.
cpu_cgroup() { # N
  local quota period=100000 group
  quota=$(awk -v f="$CLUSTER_CPU_QUOTA" 'BEGIN { printf "%d", f * 100000 }')
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    group=/sys/fs/cgroup/kreisgeo-node$1
    mkdir -p "$group" && echo "$quota $period" >"$group/cpu.max"
  else
    group=/sys/fs/cgroup/cpu/kreisgeo-node$1
    mkdir -p "$group" && echo "$period" >"$group/cpu.cfs_period_us" && echo "$quota" >"$group/cpu.cfs_quota_us"
  fi
  echo "$group/cgroup.procs"
}

node_start() { # N
  local n=$1 port_var="NODE$1_PORT" wrap=()
  # Every request comes through nginx from one address, and the tests' load from one machine:
  # no per-client rate or share.
  local args=(serve --bind "127.0.0.1:${!port_var}" --replica-url "$REPLICA_URL" --rate-limit 0 --requests-per-client 100000)
  if [[ "${CLUSTER_PIN:-0}" == 1 ]]; then
    wrap=(taskset -c $(( (n - 1) % $(nproc) )))
    args+=(--workers 1)
  fi
  if [[ -n "${CLUSTER_CPU_QUOTA:-}" ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "CLUSTER_CPU_QUOTA needs root (cgroups)" >&2; exit 1; }
    # The node starts inside its cgroup, so every thread it spawns stays there.
    wrap=(sh -c 'echo $$ >"$0" && exec "$@"' "$(cpu_cgroup "$n")" "${wrap[@]}")
  fi
  # shellcheck disable=SC2086
  DATABASE_URL="$PRIMARY_URL" RUST_LOG="${RUST_LOG:-info,sqlx=warn,tracing_actix_web=warn}" \
    "${wrap[@]}" "$KREISGEO" "${args[@]}" ${CLUSTER_NODE_ARGS:-} >>"$DIR/node$n.log" 2>&1 &
  echo $! >"$DIR/node$n.pid"
  wait_ready "http://127.0.0.1:${!port_var}/ready" 60
}

node_stop() {
  local pid
  pid=$(cat "$DIR/node$1.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}

lb_start() {
  mkdir -p "$DIR/nginx/tmp"
  local servers="" user=""
  for n in $(seq 1 "$NODES"); do
    local port_var="NODE${n}_PORT"
    servers+="    server 127.0.0.1:${!port_var} max_fails=1 fail_timeout=2s;"$'\n'
  done
  [[ $(id -u) -eq 0 ]] && user="user root;"
  cat >"$DIR/nginx/nginx.conf" <<EOF
$user
worker_processes ${CLUSTER_LB_WORKERS:-1};
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx/tmp/body;
  proxy_temp_path $DIR/nginx/tmp/proxy;
  fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
  scgi_temp_path $DIR/nginx/tmp/scgi;
  upstream kreisgeo {
$servers    keepalive 64;
  }
  server {
    listen 127.0.0.1:$LB_PORT;
    location / {
      proxy_pass http://kreisgeo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      # A node that is gone or answers 503 (draining, its database unreachable): the other
      # node takes the request. GETs are safe to repeat; uploads are not repeated.
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 1s;
      proxy_buffering off;
      client_max_body_size 2g;
    }
  }
}
EOF
  "$NGINX" -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx/" 2>>"$DIR/nginx/error.log"
  wait_ready "http://127.0.0.1:$LB_PORT/ready" 20
}

lb_stop() {
  [[ -f "$DIR/nginx/nginx.pid" ]] && kill "$(cat "$DIR/nginx/nginx.pid")" 2>/dev/null || true
  for _ in $(seq 1 50); do [[ -f "$DIR/nginx/nginx.pid" ]] || return 0; sleep 0.1; done
}

up() {
  mkdir -p "$DIR/pg"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$DIR/pg"
  local ports
  IFS=, read -r -a ports <<<"${CLUSTER_PORTS:-}"
  if [[ ${#ports[@]} -eq 0 ]]; then
    local p=25400
    for _ in $(seq 1 $((3 + NODES))); do p=$(free_port "$p"); ports+=("$p"); p=$((p + 1)); done
  fi
  {
    echo "PRIMARY_PORT=${ports[0]}"
    echo "REPLICA_PORT=${ports[1]}"
    echo "LB_PORT=${ports[2]}"
    for n in $(seq 1 "$NODES"); do echo "NODE${n}_PORT=${ports[$((2 + n))]}"; done
    echo "PRIMARY_URL=postgres://kreisgeo@127.0.0.1:${ports[0]}/kreisgeo"
    echo "REPLICA_URL=postgres://kreisgeo@127.0.0.1:${ports[1]}/kreisgeo"
    echo "NODES=$NODES"
  } >"$DIR/cluster.env"
  load_env

  as_pg "$PGBIN/initdb" -D "$DIR/pg/primary" -U kreisgeo --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-instructions >"$DIR/pg/initdb.log"
  cat >>"$DIR/pg/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 10
wal_keep_size = '1GB'
hot_standby = on
# Old versions' tables are dropped on the primary while a replica may still read them.
hot_standby_feedback = on
max_standby_streaming_delay = '30s'
shared_buffers = '256MB'
max_connections = 300
EOF
  pg_start primary
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PRIMARY_PORT" -U kreisgeo kreisgeo
  # Migrations (PostGIS included) on the primary; the replica gets them by replication.
  DATABASE_URL="$PRIMARY_URL" "$KREISGEO" datasets list >/dev/null

  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U kreisgeo \
    -D "$DIR/pg/replica" -R -X stream -c fast
  echo "port = $REPLICA_PORT" >>"$DIR/pg/replica/postgresql.conf"
  pg_start replica

  for n in $(seq 1 "$NODES"); do node_start "$n"; done
  lb_start
  cat "$DIR/cluster.env"
}

down() {
  [[ -f "$DIR/cluster.env" ]] || return 0
  load_env
  lb_stop
  for n in $(seq 1 "$NODES"); do node_stop "$n"; done
  pg_stop replica
  pg_stop primary
}

part() { # start|stop NAME
  load_env
  case "$2" in
    primary | replica) "pg_$1" "$2" ;;
    lb) "lb_$1" ;;
    node[0-9]*) "node_$1" "${2#node}" ;;
    *) echo "unknown part '$2': primary, replica, lb, node1…node$NODES" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  up) DIR="$(mkdir -p "$2" && cd "$2" && pwd)"; up ;;
  down) DIR="$(cd "$2" && pwd)"; down ;;
  stop | start) DIR="$(cd "$3" && pwd)"; part "$1" "$2" ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
