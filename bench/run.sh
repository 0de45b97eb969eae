#!/usr/bin/env bash
# Benchmarks, each printed as a ratio against a baseline measured in the same
# run on the same throwaway cluster.  Not part of the test suite.
#
# Usage: bash bench/run.sh [part ...]     parts: the bench/*.sh files (default all)
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
source "$ROOT/bench/lib.sh"

ensure_packages locales postgresql-contrib
ensure_locale en_US.UTF-8
build_install
start_cluster coupon_bench "shared_buffers = '1GB'
work_mem = '256MB'
maintenance_work_mem = '512MB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'"
export ROOT PGBIN
psql_q -c "CREATE DATABASE bench TEMPLATE template0 LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'"
export PGDATABASE=bench
psql_q -c 'CREATE EXTENSION coupon'

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=($(cd "$ROOT/bench" && ls [0-9]*.sh | sed 's/\.sh$//'))
for part in "${parts[@]}"; do
  log "bench: $part"
  source "$ROOT/bench/$part.sh"
done
