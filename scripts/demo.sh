#!/usr/bin/env bash
# A readable walk-through of coupon on a throwaway cluster of its own: every
# result below comes from the server.  Installs what is missing, builds,
# installs, starts the cluster, runs demo/*.sql in order, and stops the
# cluster whatever happens.
#
# Usage: bash scripts/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_packages
build_install
start_cluster coupon_demo
export ROOT PGBIN

psql_q -c 'CREATE EXTENSION pg_cron' -c 'CREATE EXTENSION coupon'
for part in "$ROOT"/demo/[0-9]*.sql; do
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -f "$part"
done
echo
echo "End of the demo. The throwaway cluster is stopped and removed now."
