#!/usr/bin/env bash
# Runs every test layer of coupon on a throwaway cluster of its own:
#
#   1. unit      server-free C core (TAP), under the C compiler
#   2. fuzz      libFuzzer with address and undefined-behaviour sanitizers
#   3. regress   pg_regress: sql/ -> expected/
#   4. isolation isolation specs: test/isolation/specs -> expected
#   5. pgtap     pgTAP files in test/pgtap, run by pg_prove; the voucher
#                files twice, with coupon.direct_writes on and off
#   6. checks    scripted checks: dump and restore, upgrade chain, docs,
#                version agreement, concurrency under pgbench
#   7. client    the Node.js (node-postgres) checkout example of doc/, run
#                against the cluster
#
# Installs what is missing (apt-get), builds with warnings as errors,
# installs, starts the cluster, runs, stops it whatever happens, and ends
# with one line "N passed, N failed" (units: unit assertions, fuzz runs,
# pg_regress files, isolation specs, pgTAP assertions, scripted checks).
# Exits non-zero on any failure.
#
# Usage: bash scripts/test.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSED=0
FAILED=0
FAILURES=()
OUT=$(mktemp -d /tmp/coupon-test-out.XXXXXX)

count() {   # count LAYER PASSED FAILED
  PASSED=$((PASSED + $2)); FAILED=$((FAILED + $3))
  printf '    %-10s %5d passed, %d failed\n' "$1" "$2" "$3"
  [ "$3" -eq 0 ] || FAILURES+=("$1")
}

# TAP lines of a file: "ok" and "not ok" at the start of a line
tap_count() {
  local f=$1 ok notok
  ok=$(grep -cE '^\s*ok [0-9]+' "$f" || true)
  notok=$(grep -cE '^\s*not ok [0-9]+' "$f" || true)
  echo "$ok $notok"
}

# pg_regress summary lines, PostgreSQL 15 ("... ok") and 16+ ("ok 1 - ...")
regress_count() {
  local f=$1 ok notok
  ok=$(grep -cE '(\.\.\. ok|^ok [0-9]+ +[-+] )' "$f" || true)
  notok=$(grep -cE '(\.\.\. FAILED|^not ok [0-9]+ +[-+] )' "$f" || true)
  echo "$ok $notok"
}

ensure_packages clang libclang-rt-14-dev
command -v node >/dev/null && command -v npm >/dev/null || ensure_packages nodejs npm
build_install
start_cluster coupon_test
export ROOT PGBIN PG_CONFIG

log "1. unit tests of the server-free core"
if make -s -C "$ROOT" unit >"$OUT/unit.tap" 2>&1; then :; fi
read -r ok notok < <(tap_count "$OUT/unit.tap")
grep -E '^not ok' "$OUT/unit.tap" || true
[ "$ok" -gt 0 ] || { notok=$((notok + 1)); cat "$OUT/unit.tap"; }
count unit "$ok" "$notok"

log "2. libFuzzer over the core (sanitizers on)"
if make -s -C "$ROOT" fuzz FUZZ_RUNS="${FUZZ_RUNS:-3000000}" >"$OUT/fuzz.log" 2>&1 \
   && grep -q '^Done [0-9]* runs' "$OUT/fuzz.log"; then
  grep '^Done' "$OUT/fuzz.log"
  count fuzz 1 0
else
  tail -30 "$OUT/fuzz.log"
  count fuzz 0 1
fi

log "3. pg_regress"
make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" installcheck ISOLATION= \
  >"$OUT/regress.log" 2>&1 || true
grep -E '^(test |ok |not ok )' "$OUT/regress.log" || true
read -r ok notok < <(regress_count "$OUT/regress.log")
if [ "$notok" -gt 0 ] || [ "$ok" -eq 0 ]; then
  [ -f "$ROOT/regression.diffs" ] && head -200 "$ROOT/regression.diffs"
  [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ] && { cat "$OUT/regress.log"; notok=1; }
fi
count regress "$ok" "$notok"

log "4. isolation specs"
make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" installcheck REGRESS= \
  >"$OUT/isolation.log" 2>&1 || true
grep -E '^(test |ok |not ok )' "$OUT/isolation.log" || true
read -r ok notok < <(regress_count "$OUT/isolation.log")
if [ "$notok" -gt 0 ] || [ "$ok" -eq 0 ]; then
  [ -f "$ROOT/output_iso/regression.diffs" ] && head -200 "$ROOT/output_iso/regression.diffs"
  [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ] && { cat "$OUT/isolation.log"; notok=1; }
fi
count isolation "$ok" "$notok"

log "5. pgTAP (pg_prove)"
psql_q -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION pg_cron' -c 'CREATE EXTENSION coupon'
rc=0
(cd "$ROOT" && pg_prove --verbose --ext .sql -r test/pgtap) >"$OUT/pgtap.log" 2>&1 || rc=$?
# the voucher files again with activation through SQL rather than written
# directly from C (coupon.direct_writes): both ways must give the same answers
(cd "$ROOT" && PGOPTIONS='-c coupon.direct_writes=off' pg_prove --verbose \
  test/pgtap/10_vouchers.sql test/pgtap/11_voucher_roles.sql test/pgtap/12_voucher_time.sql) \
  >>"$OUT/pgtap.log" 2>&1 || rc=$?
grep -E '^(not ok|# )' "$OUT/pgtap.log" | head -100 || true
grep -E '^test/pgtap/.* \.\.' "$OUT/pgtap.log" || true
read -r ok notok < <(tap_count "$OUT/pgtap.log")
if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
  tail -30 "$OUT/pgtap.log"; notok=1
fi
count pgtap "$ok" "$notok"

log "6. scripted checks"
ok=0; notok=0
for check in "$ROOT"/test/checks/*.sh; do
  name=$(basename "$check" .sh)
  if bash "$check" >"$OUT/check-$name.log" 2>&1; then
    printf '    ok   %s\n' "$name"; ok=$((ok + 1))
  else
    printf '    FAIL %s\n' "$name"; sed 's/^/        /' "$OUT/check-$name.log" | tail -40
    notok=$((notok + 1))
  fi
done
count checks "$ok" "$notok"

log "7. the Node.js client example (examples/node, node-postgres)"
psql_q -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shop_app') THEN
             CREATE ROLE shop_app LOGIN IN ROLE coupon_shop; END IF; END \$\$"
rc=0
(cd "$ROOT/examples/node" && npm ci --no-audit --no-fund --silent >"$OUT/npm.log" 2>&1 \
   && SHOP_ROLE=shop_app node checkout.js) >"$OUT/client.tap" 2>&1 || rc=$?
grep -E '^(not ok|#)' "$OUT/client.tap" || true
read -r ok notok < <(tap_count "$OUT/client.tap")
if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
  cat "$OUT/npm.log" "$OUT/client.tap" | tail -30; notok=1
fi
count client "$ok" "$notok"

rm -rf "$OUT"
echo
[ ${#FAILURES[@]} -eq 0 ] || echo "failing layers: ${FAILURES[*]}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
