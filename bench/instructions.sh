#!/usr/bin/env bash
# Instructions per activation, counted by callgrind: coupon.activate (written
# directly from C, and with coupon.direct_writes off, through SQL) against
# the baseline of bench 02 (one UPDATE of the voucher row, one INSERT into a
# log of the same shape), each a prepared statement run in a single-user
# backend on a copy of the same cluster.  Unlike the pgbench rates of bench
# 02, the count does not move with the load of the machine; it leaves out
# what a client round trip and the kernel cost (the same on both sides).
#
# Usage: bash bench/instructions.sh
# Knobs: CG_VOUCHERS (60000 sold), CG_CALLS (2000 measured calls a side)
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
source "$ROOT/bench/lib.sh"

CG_VOUCHERS=${CG_VOUCHERS:-60000}
CG_CALLS=${CG_CALLS:-2000}
CG_WARM=200                       # calls whose count is subtracted: start-up, caches
[ $((3 * (CG_CALLS + CG_WARM))) -le "$CG_VOUCHERS" ] \
  || die "three sides of $CG_CALLS + $CG_WARM activations need more than $CG_VOUCHERS vouchers"

ensure_packages valgrind
build_install
start_cluster coupon_cg
export PGDATABASE=coupon_cg
psql_q -c 'CREATE EXTENSION coupon'
q() { "$PGBIN/psql" -X -At -q -v ON_ERROR_STOP=1 "$@"; }

log "instructions: selling $CG_VOUCHERS vouchers"
P=$(q -c "SELECT coupon.create_partner('cg partner')")
O=$(q -c "SELECT coupon.create_offer($P, 'cg offer', current_date - 1, current_date + 365,
          current_date - 1, current_date + 365, time_zone => 'Europe/Moscow', code_pattern => '########')")
V=$(q -c "SELECT coupon.add_variant($O, 'one', 750, 1990, 9000)")
left=$CG_VOUCHERS
while [ "$left" -gt 0 ]; do
  n=$(( left < 10000 ? left : 10000 ))
  q -c "SELECT count(*) FROM coupon.sell_many($V, $n)" >/dev/null
  left=$((left - n))
done
# each side activates its own range of the vouchers, in random order; the
# baseline's tables have the shapes and rows of coupon.voucher and the log
per_side=$((CG_CALLS + CG_WARM))
psql_q <<SQL
CREATE TABLE cg_pick (id int PRIMARY KEY, code text NOT NULL, secret text NOT NULL);
INSERT INTO cg_pick SELECT row_number() OVER (ORDER BY random()), code::text, secret FROM coupon.voucher;
CREATE SEQUENCE cg_seq_direct START 1;
CREATE SEQUENCE cg_seq_sql START $((per_side + 1));
CREATE SEQUENCE cg_seq_base START $((2 * per_side + 1));
CREATE TABLE cg_voucher (LIKE coupon.voucher INCLUDING ALL) WITH (fillfactor = 85);
INSERT INTO cg_voucher SELECT * FROM coupon.voucher;
CREATE TABLE cg_log (LIKE coupon.voucher_event INCLUDING ALL);
INSERT INTO cg_log SELECT * FROM coupon.voucher_event;
VACUUM ANALYZE;
SQL
as_cluster_user "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null

activate="SELECT coupon.activate(p.code::coupon.code, p.secret) FROM cg_pick p WHERE p.id = (SELECT nextval('cg_seq_SIDE'))::int;"
declare -A stmt=(
  [direct]=${activate/SIDE/direct}
  [sql]=${activate/SIDE/sql}
  [base]="WITH p AS (SELECT code FROM cg_pick WHERE id = (SELECT nextval('cg_seq_base'))::int), u AS (UPDATE cg_voucher v SET state = 'used', used_at = now(), used_by = current_user FROM p WHERE v.code = p.code::coupon.code RETURNING v.code, v.partner_id) INSERT INTO cg_log (code, action, from_state, to_state, role_name, partner_id) SELECT code, 'activate', 'sold', 'used', current_user, partner_id FROM u;"
)
declare -A setting=([direct]=on [sql]=off [base]=on)

# cg_run SIDE N: N executions of the side's prepared statement in a
# single-user backend on a fresh copy of the cluster; prints the instructions
cg_run() {
  local side=$1 n=$2 dir=$CLUSTER_DIR/cg_$1_$2 out
  cp -a "$CLUSTER_DIR/data" "$dir"
  { echo "PREPARE a AS ${stmt[$side]}"; for _ in $(seq 1 "$n"); do echo "EXECUTE a;"; done; } >"$dir.sql"
  chmod 644 "$dir.sql"
  (cd "$CLUSTER_DIR" && as_cluster_user valgrind --tool=callgrind --callgrind-out-file="$dir.cg" \
     "$PGBIN/postgres" --single -D "$dir" -c shared_preload_libraries= \
     -c "coupon.direct_writes=${setting[$side]}" coupon_cg <"$dir.sql" >"$dir.out" 2>"$dir.err") \
    || { tail -20 "$dir.err" >&2; die "instructions: the $side backend failed"; }
  if grep -q ERROR "$dir.out"; then grep -m3 ERROR "$dir.out" >&2; die "instructions: $side: an execution failed"; fi
  out=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$dir.err")
  [ -n "$out" ] || die "instructions: no count from callgrind ($side, $n)"
  rm -rf "$dir" "$dir.sql" "$dir.cg"
  echo "$out"
}

declare -A per_call=()
for side in direct sql base; do
  log "instructions: $side ($CG_WARM and $((CG_WARM + CG_CALLS)) calls under callgrind)"
  warm=$(cg_run "$side" "$CG_WARM")
  full=$(cg_run "$side" $((CG_WARM + CG_CALLS)))
  per_call[$side]=$(( (full - warm) / CG_CALLS ))
  # every measured call activated its voucher (the baseline: updated and logged)
  done_calls=$(grep -c 'changed: used\|INSERT 0 1' "$CLUSTER_DIR/cg_${side}_$((CG_WARM + CG_CALLS)).out" || true)
  [ "$side" = base ] || [ "$done_calls" -eq $((CG_WARM + CG_CALLS)) ] \
    || die "instructions: $side activated $done_calls of $((CG_WARM + CG_CALLS))"
done

printf '\n  %-64s %13s %13s   %12s   %s\n' "measure" "coupon" "baseline" "base/coupon" "target"
line() {
  printf '  %-64s %13s %13s   ratio %6s   %s\n' "$1" "${per_call[$2]}" "${per_call[base]}" \
    "$(ratio "${per_call[base]}" "${per_call[$2]}")" "$3"
}
line "instructions per activation: coupon.activate vs UPDATE + INSERT" direct \
  "(information: >= 0.75 is the rate target of bench 02)"
line "the same with coupon.direct_writes = off (through SQL)" sql "(information)"
