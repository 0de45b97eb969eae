# scripts/lib.sh: set-up shared by scripts/demo.sh, scripts/test.sh and
# bench/run.sh.  Sourced, not run.
#
# - ensure_packages: installs what is missing with apt-get (idempotent)
# - build_install:   builds with warnings as errors and installs the extension
# - start_cluster:   a throwaway PostgreSQL cluster: initdb into a temp dir as
#                    an unprivileged OS user (when run as root), unix socket in
#                    that dir and 127.0.0.1 only, a free port, pg_cron preloaded
#                    with its jobs run by background workers; stopped and
#                    removed on exit, whatever happens (KEEP_CLUSTER=1 keeps it)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGVER=${PGVER:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PGVER/bin/pg_config}
CLUSTER_USER=${CLUSTER_USER:-coupon_pg}
WARNINGS=${WARNINGS:--Wall -Wextra -Wno-unused-parameter -Werror}

PACKAGES=(
  "postgresql-$PGVER" "postgresql-server-dev-$PGVER" "postgresql-$PGVER-cron"
  "postgresql-$PGVER-pgtap" libtap-parser-sourcehandler-pgtap-perl
  build-essential
)

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"; fi
}

# ensure_packages [extra packages...]
ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  # a cluster of our own is started below; Debian's default one is not needed
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    as_root mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' \
      | as_root tee /etc/postgresql-common/createcluster.d/coupon.conf >/dev/null
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

build_install() {
  log "building coupon against $("$PG_CONFIG" --version) (PG_CFLAGS=$WARNINGS)"
  make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$WARNINGS" >/dev/null
  # scripts of versions this tree no longer builds must not linger
  as_root rm -f "$("$PG_CONFIG" --sharedir)"/extension/coupon--*.sql
  as_root make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" install >/dev/null
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  die "no free port found"
}

# run a command as the cluster's OS user
as_cluster_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$CLUSTER_USER" -- "$@"; else "$@"; fi
}

stop_cluster() {
  [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR" ] || return 0
  as_cluster_user "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop \
    >/dev/null 2>&1 || true
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    log "cluster kept in $CLUSTER_DIR (log: $CLUSTER_DIR/server.log)"
  else
    rm -rf "$CLUSTER_DIR"
  fi
  CLUSTER_DIR=
}

# start_cluster DBNAME: DBNAME is created and is where pg_cron keeps its jobs
start_cluster() {
  local db=$1 extra_conf=${2:-}
  PGBIN=$("$PG_CONFIG" --bindir)
  if [ "$(id -u)" -eq 0 ] && ! id "$CLUSTER_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$CLUSTER_USER"
  fi
  CLUSTER_DIR=$(mktemp -d /tmp/coupon-cluster.XXXXXX)
  trap stop_cluster EXIT
  trap 'stop_cluster; exit 130' INT TERM
  chmod 755 "$CLUSTER_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$CLUSTER_USER" "$CLUSTER_DIR"
  PGPORT=$(free_port)
  as_cluster_user "$PGBIN/initdb" -D "$CLUSTER_DIR/data" -U postgres \
    --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  as_cluster_user tee -a "$CLUSTER_DIR/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$CLUSTER_DIR'
shared_preload_libraries = 'pg_cron'
cron.database_name = '$db'
cron.use_background_workers = on
max_worker_processes = 32
max_connections = 60
fsync = off
synchronous_commit = off
full_page_writes = off
log_line_prefix = '%m [%p] %q%u@%d '
$extra_conf
EOF
  as_cluster_user "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" \
    -l "$CLUSTER_DIR/server.log" -w -t 60 start >/dev/null \
    || { cat "$CLUSTER_DIR/server.log" >&2; die "the cluster did not start"; }
  export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=$db
  "$PGBIN/createdb" "$db"
  log "throwaway cluster: PostgreSQL $PGVER on port $PGPORT, socket in $CLUSTER_DIR, database $db"
}

psql_q() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
