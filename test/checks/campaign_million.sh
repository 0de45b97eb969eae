# A campaign of a million: one call generates 1,000,000 coupons while
# another session watches its progress in pg_stat_activity; a TXT file of
# 1,000,000 lines (with blank lines, spaces, repeats and codes that exist)
# is imported with psql \copy and reported line by line; the campaign is
# exported as CSV through COPY; the figures equal a recount.
set -euo pipefail
DB=campaign_million
P="$PGBIN/psql -X -q -At -v ON_ERROR_STOP=1 -d $DB"
"$PGBIN/dropdb" --if-exists $DB; "$PGBIN/createdb" $DB
TMP=$(mktemp -d); chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

$P -c 'CREATE EXTENSION coupon' -c "SELECT coupon.create_campaign('Million')" -c "SELECT coupon.create_campaign('Imported')" >/dev/null

# --- generation, watched from another session
$P -c "SELECT coupon.generate_coupons(1, 1000000, '{\"kind\": \"percent\", \"value\": 10}')" >"$TMP/gen.out" 2>&1 &
gen=$!
seen=""
for _ in $(seq 1 600); do
  q=$($P -c "SELECT query FROM pg_stat_activity WHERE datname = '$DB' AND query LIKE 'coupon.generate_coupons: %' LIMIT 1")
  if [ -n "$q" ]; then
    done_n=$(echo "$q" | sed -E 's/^coupon.generate_coupons: ([0-9]+) of.*/\1/')
    [ "$done_n" -lt 1000000 ] && { seen=$q; break; }
  fi
  kill -0 $gen 2>/dev/null || break
  sleep 0.1
done
wait $gen || { cat "$TMP/gen.out"; fail "generate_coupons failed"; }
[ "$(cat "$TMP/gen.out")" = 1000000 ] || fail "generate_coupons returned $(cat "$TMP/gen.out")"
[ -n "$seen" ] || fail "no progress was visible from another session"
echo "progress seen from another session: $seen"
echo "$seen" | grep -Eq '^coupon.generate_coupons: [0-9]+ of 1000000 coupons into campaign 1$' || fail "odd progress text"
[ "$($P -c 'SELECT count(*) FROM coupon.shop_coupon WHERE campaign_id = 1')" = 1000000 ] || fail "not 1,000,000 coupons"

# --- import of 1,000,000 lines: 999,990 new codes, 4 blank, 3 repeats, 3 that exist
$P -c "COPY (SELECT '  IMP' || lpad(i::text, 8, '0') || '  ' FROM generate_series(1, 999990) i) TO STDOUT" >"$TMP/codes.txt"
printf '\n   \n\n\t\nimp-00000001\nIMP00000002\nimp 0000 0003\n' >>"$TMP/codes.txt"
$P -c "COPY (SELECT code FROM coupon.shop_coupon WHERE campaign_id = 1 ORDER BY code LIMIT 3) TO STDOUT" >>"$TMP/codes.txt"
[ "$(wc -l <"$TMP/codes.txt")" = 1000000 ] || fail "the file has $(wc -l <"$TMP/codes.txt") lines"
summary=$($P <<SQL
SELECT coupon.import_begin('{"kind": "fixed", "value": 20}', 2) \\g /dev/null
\\copy coupon_import (raw) FROM '$TMP/codes.txt' WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')
SELECT coupon.import_finish() - 'problems';
SELECT count(*) || ' problem lines: ' || string_agg(reason, ', ' ORDER BY line_no) FROM coupon_import_problem;
SQL
)
echo "import: $summary"
expected='{"blank": 4, "lines": 1000000, "invalid": 0, "existing": 3, "imported": 999990, "repeated": 3}
6 problem lines: repeats line 1, repeats line 2, repeats line 3, exists already, exists already, exists already'
[ "$summary" = "$expected" ] || fail "import summary differs from: $expected"

# --- a file of 50,000 lines, half of them codes that exist: an import of
# many existing codes stays linear (an earlier import, one SQL statement
# over CTEs, took minutes here when the planner misjudged their sizes)
t0=$(date +%s)
small=$($P <<SQL
SELECT coupon.import_begin('{"kind": "fixed", "value": 5}', 2) \\g /dev/null
INSERT INTO coupon_import (raw) SELECT 'IMP' || lpad(i::text, 8, '0') FROM generate_series(975001, 1025000) i;
SELECT coupon.import_finish() - 'problems';
SQL
)
echo "import of 50,000 lines in $(( $(date +%s) - t0 )) s: $small"
[ "$small" = '{"blank": 0, "lines": 50000, "invalid": 0, "existing": 24990, "imported": 25010, "repeated": 0}' ] \
  || fail "50,000-line import: $small"

# --- one import takes at most 10,000,000 lines: the next one is refused
# before anything is inserted
toomany=$($P 2>&1 <<'SQL' || true
SELECT coupon.import_begin('{"kind": "fixed", "value": 5}', 2) \g /dev/null
INSERT INTO coupon_import (raw) SELECT '' FROM generate_series(1, 10000001);
SELECT coupon.import_finish();
SQL
)
echo "import of 10,000,001 lines: $toomany"
[ "$toomany" = "$(printf 'ERROR:  an import takes at most 10000000 lines\nHINT:  Split the file and import the parts one after the other.')" ] \
  || fail "10,000,001 lines: $toomany"

# --- CSV export through COPY: a header and one line per coupon, no secrets
$P -c "\\copy (SELECT * FROM coupon.campaign_coupons(2)) TO '$TMP/export.csv' WITH (FORMAT csv, HEADER)"
[ "$(head -1 "$TMP/export.csv")" = "code,kind,value,currency,audience,status,usage_limit,valid_from,valid_until,sent_at,first_used_at,archived_at,redemptions,discount_given" ] \
  || fail "CSV header: $(head -1 "$TMP/export.csv")"
[ "$(wc -l <"$TMP/export.csv")" = 1025001 ] || fail "CSV lines: $(wc -l <"$TMP/export.csv")"
grep -q '^IMP00000001,fixed,20,PLN,everyone,active,,,,,,,0,0$' "$TMP/export.csv" || fail "CSV line of IMP00000001"

# --- bulk updates of the whole campaign (transition tables past work_mem)
moved=$($P -c "SELECT coupons FROM coupon.bulk_attach(2, 1, filter => '{\"code_prefix\": \"0\"}')")
$P -c "SELECT * FROM coupon.bulk_status('blocked', 1)" >/dev/null
echo "moved $moved coupons to campaign 2 and blocked campaign 1"

# --- the figures equal a recount
$P <<'SQL' >"$TMP/figures"
CREATE TEMP TABLE before AS SELECT campaign_id, coupons, archived, sent, used, redemptions, discount_given FROM coupon.campaign_report;
SELECT coupon.recount_campaigns() > 0;
SELECT count(*) FROM (SELECT campaign_id, coupons, archived, sent, used, redemptions, discount_given FROM coupon.campaign_report
                      EXCEPT SELECT * FROM before) x;
SELECT string_agg(campaign_id || ':' || coupons, ' ' ORDER BY campaign_id) FROM before;
SQL
[ "$(sed -n 2p "$TMP/figures")" = 0 ] || fail "campaign figures differ from a recount"
[ "$(sed -n 3p "$TMP/figures")" = "1:$((1000000 - moved)) 2:$((1025000 + moved))" ] || fail "figures: $(sed -n 3p "$TMP/figures")"
echo "figures equal a recount: $(sed -n 3p "$TMP/figures")"
"$PGBIN/dropdb" $DB
