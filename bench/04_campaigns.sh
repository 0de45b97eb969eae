# bench/04_campaigns.sh: campaigns (0.4.0): bulk generation, bulk modify,
# import of a TXT file, and the statistics views on big tables.
# Sourced by bench/run.sh, with the cluster up and database "bench".
#
# What each line measures, and against what:
#   generate   coupon.generate_coupons(campaign, N, percent 10 until 2027-12-31)
#              vs one INSERT ... SELECT of N rows of the same shape (random
#              10-character codes from md5, ON CONFLICT DO NOTHING) into the
#              same table coupon.shop_coupon (same indexes, foreign key and
#              triggers), each side into a campaign of its own.
#   modify     coupon.bulk_modify(value 15, valid_until 2028-01-31) of the N
#              coupons of a campaign vs a plain UPDATE of the same columns
#              (and updated_at) of the same rows, same table and triggers.
#   import     in one session: \copy of a TXT file of N lines into
#              coupon_import plus coupon.import_finish() (import_begin is
#              not timed), vs a plain \copy into coupon.shop_coupon of a CSV
#              file of the same clean codes (code, kind, value, campaign).
#              The TXT file holds, besides those codes, blank lines, invalid
#              ones, repeats (some in lower case with a hyphen), codes that
#              exist already, and 100 codes with surrounding spaces, so that
#              every reason of the report is exercised; both sides insert
#              the same coupons.
#   statistics coupon.offer_report (all offers; one offer) and
#              coupon.campaign_report vs the same figures computed by a
#              GROUP BY over coupon.voucher, and over coupon.shop_coupon
#              joined to coupon.redemption: the claim is "milliseconds, not
#              a scan" (information); each timing is the second execution in
#              its session, best of 3.  The analysts' views
#              voucher_activity_daily, activation_delay and offer_demographics
#              for one offer are plain timings (second execution, best of 2).
#              Both reports are then compared row by row with their GROUP BY.
#
# Fairness: the sides of each comparison alternate (A B B A over two
# rounds; the best of each side is reported) and every timed run starts
# from the same table state: after each run its rows are removed (DELETE
# with session_replication_role = replica, the campaign's counter rows with
# them, untimed) and the table vacuumed, and an untimed warm-up run of the
# same size first leaves the free space that every later run finds, so no
# run gets a fresh, compact table the others do not.  The UPDATEs of the
# modify comparison run on the same 1M rows, the table vacuumed before each.
#
# The big tables of the statistics are filled directly (INSERT ... SELECT
# with session_replication_role = replica: no foreign key checks, no
# triggers, no voucher events), then coupon.recount_vouchers() and
# coupon.recount_campaigns() make the counters exact; the coupons and
# redemptions of the statistics go in through their triggers.  Vouchers are
# interleaved over the offers in sale order (as sold over time), so the
# vouchers of one offer are spread over the whole table.
#
# Knobs (environment; the defaults are the benchmark):
#   BENCH_COUPONS          coupons generated, modified, imported      (1000000)
#   BENCH_STATS_VOUCHERS   vouchers for the statistics                (10000000)
#   BENCH_STATS_OFFERS     offers they are spread over (2 variants)   (100)
#   BENCH_REDEMPTIONS      redemptions for the statistics             (1000000)
#   BENCH_CAMPAIGN_ROUNDS  rounds of the timed comparisons            (2; best of)
# (not BENCH_VOUCHERS: that is what bench 02 sells, 1M by default)

C4N=${BENCH_COUPONS:-1000000}
C4V=${BENCH_STATS_VOUCHERS:-10000000}
C4OFFERS=${BENCH_STATS_OFFERS:-100}
C4R=${BENCH_REDEMPTIONS:-1000000}
C4ROUNDS=${BENCH_CAMPAIGN_ROUNDS:-2}
C4CUST=$(( C4V / 10 > 1000 ? C4V / 10 : 1000 ))   # customers buying the vouchers
C4SC=$(( C4R / 10 > 100 ? C4R / 10 : 100 ))       # coupons redeemed (10 times each)
C4CAMPS=5                                          # campaigns they belong to
C4CHUNK=1000000                                    # vouchers an INSERT statement
[ "$C4N" -ge 10000 ] || die "bench 04: BENCH_COUPONS must be 10000 or more"
[ "$C4OFFERS" -ge 10 ] || die "bench 04: BENCH_STATS_OFFERS must be 10 or more"
C4DIR=$CLUSTER_DIR/bench04      # scratch files; removed with the cluster
mkdir -p "$C4DIR"
c4_started=$(date +%s)

c4q() { "$PGBIN/psql" -X -At -q -v ON_ERROR_STOP=1 "$@"; }

# c4_ms OUT SQL...: like ms, and the whole output kept in the file OUT
c4_ms() {
  local out=$1; shift
  "$PGBIN/psql" -X -At -q -v ON_ERROR_STOP=1 -c '\timing on' "$@" >"$out" 2>&1 \
    || { cat "$out" >&2; return 1; }
  sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$out" | tail -1
}

# c4_clear CAMPAIGN: its coupons and counter rows removed (no triggers), the
# table vacuumed; untimed, between timed runs
c4_clear() {
  psql_q -c "SET session_replication_role = replica" \
    -c "DELETE FROM coupon.shop_coupon WHERE campaign_id = $1" \
    -c "DELETE FROM coupon.campaign_counter WHERE campaign_id = $1" \
    -c "RESET session_replication_role" \
    -c "VACUUM ANALYZE coupon.shop_coupon"
}

# c4_order ROUND: the sides of a round; the last round ends with ours, whose
# rows are then kept (A B B A with two rounds)
c4_order() { if [ $(( (C4ROUNDS - $1) % 2 )) -eq 0 ]; then echo "base ours"; else echo "ours base"; fi; }

c4_min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }'; }

# a report line whose ratio needs four decimals (milliseconds against seconds)
c4_report4() {
  printf '  %-64s %10.1f ms %10.1f ms   ratio %6s   %s\n' "$1" "$2" "$3" \
    "$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.4f", a / b }')" "$4"
}
c4_info() { printf '  %-64s %10.1f ms   %s\n' "$1" "$2" "$3"; }

C4PROPS='{"kind":"percent","value":10,"valid_until":"2027-12-31"}'
C4GEN_BASE=$(c4q -c "SELECT coupon.create_campaign('bench 04 generate: baseline')")
C4GEN=$(c4q -c "SELECT coupon.create_campaign('bench 04 generate')")
c4_base_insert() {   # CAMPAIGN SALT
  echo "INSERT INTO coupon.shop_coupon (code, campaign_id, kind, value, valid_until)
        SELECT upper(substr(md5(i::text || '$2'), 1, 10))::coupon.code, $1, 'percent', 10, '2027-12-31'
        FROM generate_series(1, $C4N) i ON CONFLICT DO NOTHING"
}

# ---------------------------------------------------------------------
# 1. Generate N coupons into a campaign
# ---------------------------------------------------------------------

log "bench 04: generate $C4N coupons ($C4ROUNDS rounds)"
psql_q -c "VACUUM ANALYZE coupon.shop_coupon" -c "$(c4_base_insert "$C4GEN_BASE" warm)"   # warm-up
c4_clear "$C4GEN_BASE"
c4gen_base= c4gen_ours=
for r in $(seq 1 "$C4ROUNDS"); do
  for side in $(c4_order "$r"); do
    if [ "$side" = base ]; then
      t=$(ms -c "$(c4_base_insert "$C4GEN_BASE" "r$r")")
      c4gen_base=$(c4_min "$t" "$c4gen_base")
      c4_clear "$C4GEN_BASE"
    else
      t=$(ms -c "SELECT coupon.generate_coupons($C4GEN, $C4N, '$C4PROPS')")
      c4gen_ours=$(c4_min "$t" "$c4gen_ours")
      [ "$r" -eq "$C4ROUNDS" ] || c4_clear "$C4GEN"
    fi
    log "bench 04: generate, round $r, $side: $t ms"
  done
done
c4made=$(c4q -c "SELECT count(*) FROM coupon.shop_coupon WHERE campaign_id = $C4GEN")
[ "$c4made" -eq "$C4N" ] || die "bench 04: generate_coupons made $c4made coupons, expected $C4N"

# ---------------------------------------------------------------------
# 2. Bulk modify the N coupons of the campaign
# ---------------------------------------------------------------------

log "bench 04: modify $C4N coupons ($C4ROUNDS rounds)"
c4upd_base="UPDATE coupon.shop_coupon SET value = 15, valid_until = '2028-01-31', updated_at = now() WHERE campaign_id = $C4GEN"
c4upd_ours="SELECT * FROM coupon.bulk_modify('{\"value\": 15, \"valid_until\": \"2028-01-31\"}', campaign_id => $C4GEN)"
psql_q -c "$c4upd_base" -c "VACUUM ANALYZE coupon.shop_coupon"                          # warm-up
c4mod_base= c4mod_ours=
for r in $(seq 1 "$C4ROUNDS"); do
  for side in $(c4_order "$r"); do
    if [ "$side" = base ]; then
      t=$(ms -c "$c4upd_base")
      c4mod_base=$(c4_min "$t" "$c4mod_base")
    else
      t=$(c4_ms "$C4DIR/modify.out" -c "$c4upd_ours")
      c4mod_ours=$(c4_min "$t" "$c4mod_ours")
    fi
    psql_q -c "VACUUM ANALYZE coupon.shop_coupon"
    log "bench 04: modify, round $r, $side: $t ms"
  done
done
c4mod_rows=$(grep -v '^Time:' "$C4DIR/modify.out" | sed 's/|/, /g' | paste -sd ';' | sed 's/;/; /g')
c4mod_check=$(c4q -c "SELECT count(*) FILTER (WHERE value = 15 AND valid_until = '2028-01-31') FROM coupon.shop_coupon WHERE campaign_id = $C4GEN")
[ "$c4mod_check" -eq "$C4N" ] || die "bench 04: $c4mod_check of $C4N coupons modified"

# ---------------------------------------------------------------------
# 3. Import a TXT file of N lines
# ---------------------------------------------------------------------

log "bench 04: import $C4N lines ($C4ROUNDS rounds)"
C4IMP_BASE=$(c4q -c "SELECT coupon.create_campaign('bench 04 import: baseline')")
C4IMP=$(c4q -c "SELECT coupon.create_campaign('bench 04 import')")
c4clean=$((C4N - 220))          # 10 blank, 10 invalid, 100 repeated, 100 existing lines
c4q -c "\copy (SELECT c FROM (SELECT upper(substr(md5('import' || i), 1, 10)) AS c, min(i) AS i
               FROM generate_series(1, $c4clean + 1000) i GROUP BY 1) x ORDER BY i LIMIT $c4clean) TO '$C4DIR/clean.txt'"
c4q -c "\copy (SELECT code FROM coupon.shop_coupon WHERE campaign_id = $C4GEN LIMIT 100) TO '$C4DIR/existing.txt'"
awk -v camp="$C4IMP_BASE" '{ print $0 ",fixed,20," camp }' "$C4DIR/clean.txt" >"$C4DIR/base.csv"
# the TXT file: the clean codes, 100 of them with spaces around, and among
# them 100 repeats of earlier lines (every other one as "ab12-cd34ef"),
# 100 codes that exist, 10 blank lines and 10 invalid ones
awk -v m="$c4clean" '
  BEGIN { step = int(m / 100); tenth = int(m / 10) }
  FNR == NR { ex[FNR] = $0; next }
  {
    n = FNR
    if (n % step == 0) print "  " $0 "   "; else print $0
    if (n % step == int(step / 2)) keep = $0
    if (n % step == int(step / 2) + 7 && k < 100) {
      k++
      if (k % 2) print keep
      else print " " tolower(substr(keep, 1, 4)) "-" tolower(substr(keep, 5))
    }
    if (n % step == int(step / 4) && e < 100) print ex[++e]
    if (n % tenth == 11 && b < 10) { b++; print (b % 2 ? "" : "     ") }
    if (n % tenth == 13 && i < 10) {
      i++
      split("BAD*CODE|ÄPFEL2024|12 34 5!|0123456789012345678901234567890123|--|A_B|#1|€100|ab.cd|x/y", bad, "|")
      print bad[i]
    }
  }
  END { if (k != 100 || e != 100 || b != 10 || i != 10) { print "bench 04: bad import file " k " " e " " b " " i > "/dev/stderr"; exit 1 } }
' "$C4DIR/existing.txt" "$C4DIR/clean.txt" >"$C4DIR/import.txt"
c4lines=$(wc -l <"$C4DIR/import.txt")
[ "$c4lines" -eq "$C4N" ] || die "bench 04: the import file has $c4lines lines, expected $C4N"
cat >"$C4DIR/import.sql" <<SQL
\\timing on
SELECT coupon.import_begin('{"kind":"fixed","value":20}', $C4IMP);
\\copy coupon_import (raw) FROM '$C4DIR/import.txt'
SELECT coupon.import_finish();
SQL

# warm-up: a plain copy, removed
c4q -c "\copy coupon.shop_coupon (code, kind, value, campaign_id) FROM '$C4DIR/base.csv' WITH (FORMAT csv)"
c4_clear "$C4IMP_BASE"
c4imp_base= c4imp_ours=
for r in $(seq 1 "$C4ROUNDS"); do
  for side in $(c4_order "$r"); do
    if [ "$side" = base ]; then
      t=$(ms -c "\copy coupon.shop_coupon (code, kind, value, campaign_id) FROM '$C4DIR/base.csv' WITH (FORMAT csv)")
      c4imp_base=$(c4_min "$t" "$c4imp_base")
      c4_clear "$C4IMP_BASE"
    else
      c4q -f "$C4DIR/import.sql" >"$C4DIR/import.out" 2>&1 || { cat "$C4DIR/import.out" >&2; die "bench 04: import failed"; }
      # the times of the \copy and of import_finish: the last two
      t=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$C4DIR/import.out" | tail -2 | awk '{ s += $1 } END { printf "%.3f", s }')
      c4imp_ours=$(c4_min "$t" "$c4imp_ours")
      c4summary=$(grep '^{' "$C4DIR/import.out")
      c4imported=$(c4q -c "SELECT count(*) FROM coupon.shop_coupon WHERE campaign_id = $C4IMP")
      [ "$c4imported" -eq "$c4clean" ] || die "bench 04: imported $c4imported coupons, expected $c4clean"
      c4_clear "$C4IMP"
    fi
    log "bench 04: import, round $r, $side: $t ms"
  done
done
c4summary=$(echo "SELECT (:'j'::jsonb - 'problems')::text" | c4q -v j="$c4summary")
psql_q -c "DELETE FROM coupon.campaign WHERE campaign_id IN ($C4GEN_BASE, $C4IMP_BASE, $C4IMP)"

report_header
report "generate $C4N coupons: generate_coupons vs INSERT ... SELECT" "$c4gen_ours" "$c4gen_base" "target <= 1.30"
report "modify $C4N coupons: bulk_modify vs UPDATE, same table" "$c4mod_ours" "$c4mod_base" "target <= 1.50"
printf '  %-64s %s\n' "  bulk_modify reported" "$c4mod_rows"
report "import $C4N lines: \\copy + import_finish vs \\copy of clean CSV" "$c4imp_ours" "$c4imp_base" "target <= 1.50"
printf '  %-64s %s\n' "  import summary" "$c4summary"

# ---------------------------------------------------------------------
# 4. Statistics: C4V vouchers over C4OFFERS offers, C4R redemptions
# ---------------------------------------------------------------------

log "bench 04: filling $C4V vouchers, $C4CUST customers, $C4SC coupons, $C4R redemptions"
c4fill_started=$(date +%s)
psql_q >/dev/null <<SQL
CREATE TABLE c4_offer (k int PRIMARY KEY, offer_id bigint, partner_id bigint,
                       variant1 bigint, variant2 bigint);
DO \$\$
DECLARE
  p bigint[];
  o bigint;
BEGIN
  FOR i IN 1..10 LOOP
    p[i] := coupon.create_partner('bench 04 partner ' || i);
  END LOOP;
  FOR k IN 0..$C4OFFERS - 1 LOOP
    o := coupon.create_offer(p[k % 10 + 1], 'bench 04 offer ' || k, '2025-01-01', '2026-12-31',
                             '2025-01-01', '2027-06-30',
                             time_zone => (ARRAY['Europe/Warsaw', 'Europe/Moscow', 'UTC'])[k % 3 + 1],
                             code_pattern => '##########');
    INSERT INTO c4_offer VALUES (k, o, p[k % 10 + 1],
                                 coupon.add_variant(o, 'one', 100, 0, 300),
                                 coupon.add_variant(o, 'two', 150, 50, 500));
  END LOOP;
END \$\$;
INSERT INTO coupon.customer (external_id, gender, birth_date)
SELECT 'bench04-' || i,
       (ARRAY['female', 'male', 'other', NULL])[1 + (hashint8(i) & 2147483647) % 4],
       date '1950-01-01' + ((hashint8(i + 1000000000) & 2147483647) % 20000)::int
FROM generate_series(1, $C4CUST) i;
SQL
c4cust0=$(c4q -c "SELECT min(customer_id) - 1 FROM coupon.customer WHERE external_id LIKE 'bench04-%'")

# vouchers in sale order, interleaved over the offers: 50% used, 5% returned,
# 5% expired, 1% blocked, the rest sold and not used
for lo in $(seq 1 "$C4CHUNK" "$C4V"); do
  hi=$(( lo + C4CHUNK - 1 < C4V ? lo + C4CHUNK - 1 : C4V ))
  psql_q <<SQL
SET session_replication_role = replica;
INSERT INTO coupon.voucher (code, offer_id, variant_id, partner_id, ordinal, customer_id, secret,
                            coupon_price, pay_on_site, valid_from, valid_until, window_start, window_end,
                            state, sold_at, used_at, used_by, returned_at, expired_at, blocked_at, window_closed_at)
SELECT ('S' || lpad(i::text, 9, '0'))::coupon.code, o.offer_id,
       CASE WHEN x.two THEN o.variant2 ELSE o.variant1 END, o.partner_id, (i - 1) / $C4OFFERS + 1,
       $c4cust0 + 1 + x.h2 % $C4CUST, 'AB',
       CASE WHEN x.two THEN 150 ELSE 100 END, CASE WHEN x.two THEN 50 ELSE 0 END,
       '2025-01-01', '2027-06-30', '2024-12-31 21:00+00', '2027-07-03 21:00+00',
       x.state, x.sold_at,
       CASE WHEN x.state = 'used' THEN x.sold_at + (x.h2 % 2000) * interval '1 hour' END,
       CASE WHEN x.state = 'used' THEN 'bench' END,
       CASE WHEN x.state = 'returned' THEN x.sold_at + (x.h2 % 300) * interval '1 hour' END,
       CASE WHEN x.state = 'expired' THEN x.sold_at + interval '400 days' END,
       CASE WHEN x.state = 'blocked' THEN x.sold_at + interval '1 day' END,
       CASE WHEN x.state = 'expired' THEN x.sold_at + interval '400 days' END
FROM generate_series($lo, $hi) i
JOIN c4_offer o ON o.k = (i - 1) % $C4OFFERS
CROSS JOIN LATERAL (
  SELECT (h / 100) % 2 = 1 AS two, h2,
         (CASE WHEN h % 100 < 50 THEN 'used' WHEN h % 100 < 55 THEN 'returned' WHEN h % 100 < 60 THEN 'expired'
               WHEN h % 100 < 61 THEN 'blocked' ELSE 'sold' END)::coupon.voucher_state AS state,
         timestamptz '2025-01-01 00:00+00' + (i::float8 / $C4V) * interval '650 days' AS sold_at
  FROM (SELECT hashint8(i)::bigint & 2147483647 AS h, hashint8(-i)::bigint & 2147483647 AS h2) hh) x;
SQL
done
c4fill_v=$(date +%s)
psql_q >/dev/null <<SQL
UPDATE coupon.offer o SET last_ordinal = ($C4V - 1 - c.k) / $C4OFFERS + 1
FROM c4_offer c WHERE c.offer_id = o.offer_id AND c.k < $C4V;
-- the first 10 offers in the first campaign of the statistics
SELECT count(*) FROM (
  SELECT coupon.create_campaign('bench 04 stats ' || i) FROM generate_series(1, $C4CAMPS) i) c;
SELECT count(coupon.set_offer_campaign(o.offer_id, c.campaign_id))
FROM c4_offer o, coupon.campaign c WHERE o.k < 10 AND c.name = 'bench 04 stats 1';
-- the coupons redeemed: 30% sent, 1% archived (blocked), every one used
-- 10 times, 2% of the redemptions released; the statement triggers count
-- them into the campaigns
CREATE TABLE c4_campaign AS
  SELECT row_number() OVER (ORDER BY campaign_id) - 1 AS k, campaign_id
  FROM coupon.campaign WHERE name LIKE 'bench 04 stats %';
INSERT INTO coupon.shop_coupon (code, campaign_id, kind, value, status, used_count, valid_until,
                                sent_at, first_used_at, archived_at)
SELECT ('R' || lpad(i::text, 9, '0'))::coupon.code, c.campaign_id, 'fixed', 20,
       CASE WHEN i % 100 = 0 THEN 'blocked' ELSE 'active' END::coupon.coupon_status,
       u.kept, '2027-12-31',
       CASE WHEN i % 10 < 3 THEN timestamptz '2025-01-01 00:00+00' END,
       CASE WHEN u.uses > 0 THEN timestamptz '2025-01-01 00:00+00' + i * interval '1 second' END,
       CASE WHEN i % 100 = 0 THEN now() END
FROM generate_series(1, $C4SC) i
JOIN c4_campaign c ON c.k = i % $C4CAMPS
CROSS JOIN LATERAL (SELECT count(*) AS uses, count(*) FILTER (WHERE j % 50 <> 0) AS kept
                    FROM generate_series(i, $C4R, $C4SC) j) u;
INSERT INTO coupon.redemption (code, order_ref, customer_id, redeemed_at, currency, subtotal,
                               eligible_subtotal, discount, delivery_fee, delivery_discount,
                               payment_fee, payment_discount, total, released_at, released_by)
SELECT ('R' || lpad((1 + (j - 1) % $C4SC)::text, 9, '0'))::coupon.code, 'ORD-' || j,
       $c4cust0 + 1 + (hashint8(j)::bigint & 2147483647) % $C4CUST,
       timestamptz '2025-01-01 00:00+00' + (j::float8 / $C4R) * interval '650 days',
       'PLN', 120.00 + j % 100, 120.00 + j % 100, 20.00, 15.00, 0, 0, 0, 115.00 + j % 100,
       CASE WHEN j % 50 = 0 THEN now() END, CASE WHEN j % 50 = 0 THEN 'bench' END
FROM generate_series(1, $C4R) j;
SELECT coupon.recount_vouchers();
SELECT coupon.recount_campaigns();
VACUUM ANALYZE coupon.customer;
VACUUM ANALYZE coupon.voucher;
VACUUM ANALYZE coupon.voucher_counter;
VACUUM ANALYZE coupon.shop_coupon;
VACUUM ANALYZE coupon.redemption;
VACUUM ANALYZE coupon.campaign_counter;
SQL
c4fill_done=$(date +%s)
log "bench 04: filled in $((c4fill_done - c4fill_started)) s (vouchers $((c4fill_v - c4fill_started)) s)"

C4X=$(c4q -c "SELECT offer_id FROM c4_offer WHERE k = 0")
c4offer_ours="SELECT * FROM coupon.offer_report"
c4offer_base="SELECT o.offer_id, o.partner_id, p.name AS partner, o.title, o.request_no, o.state, o.sale_from,
       o.sale_until, o.campaign_id, coalesce(v.sold, 0) AS sold, coalesce(v.activated, 0) AS activated,
       coalesce(v.returned, 0) AS returned, coalesce(v.expired, 0) AS expired,
       coalesce(v.blocked, 0) AS blocked, coalesce(v.not_used, 0) AS not_used,
       round(v.activated::numeric / nullif(v.sold, 0), 4) AS activation_rate,
       round(v.returned::numeric / nullif(v.sold, 0), 4) AS return_rate
FROM coupon.offer o
JOIN coupon.partner p ON p.partner_id = o.partner_id
LEFT JOIN (SELECT offer_id, count(*) AS sold, count(*) FILTER (WHERE state = 'used') AS activated,
                  count(*) FILTER (WHERE state = 'returned') AS returned,
                  count(*) FILTER (WHERE state = 'expired') AS expired,
                  count(*) FILTER (WHERE state = 'blocked') AS blocked,
                  count(*) FILTER (WHERE state = 'sold') AS not_used
           FROM coupon.voucher %s GROUP BY offer_id) v ON v.offer_id = o.offer_id"
# shellcheck disable=SC2059
c4offer_base_all=$(printf "$c4offer_base" "")
# shellcheck disable=SC2059
c4offer_base_one="$(printf "$c4offer_base" "WHERE offer_id = $C4X") WHERE o.offer_id = $C4X"
c4camp_ours="SELECT * FROM coupon.campaign_report"
c4camp_base="SELECT c.campaign_id, c.name, c.created_at,
       coalesce(k.coupons, 0) AS coupons, coalesce(k.archived, 0) AS archived, coalesce(k.sent, 0) AS sent,
       coalesce(k.used, 0) AS used, coalesce(r.redemptions, 0) AS redemptions,
       coalesce(r.discount, 0) AS discount_given, coalesce(v.offers, 0) AS offers,
       coalesce(v.sold, 0) AS vouchers_sold, coalesce(v.activated, 0) AS vouchers_activated
FROM coupon.campaign c
LEFT JOIN (SELECT campaign_id, count(*) FILTER (WHERE archived_at IS NULL) AS coupons,
                  count(*) FILTER (WHERE archived_at IS NOT NULL) AS archived,
                  count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
                  count(*) FILTER (WHERE first_used_at IS NOT NULL) AS used
           FROM coupon.shop_coupon WHERE campaign_id IS NOT NULL GROUP BY 1) k ON k.campaign_id = c.campaign_id
LEFT JOIN (SELECT s.campaign_id, count(*) AS redemptions,
                  sum(d.discount + d.delivery_discount + d.payment_discount) AS discount
           FROM coupon.redemption d JOIN coupon.shop_coupon s ON s.code = d.code
           WHERE s.campaign_id IS NOT NULL AND d.released_at IS NULL GROUP BY 1) r ON r.campaign_id = c.campaign_id
LEFT JOIN (SELECT o.campaign_id, count(DISTINCT o.offer_id) AS offers, count(v.code) AS sold,
                  count(v.code) FILTER (WHERE v.state = 'used') AS activated
           FROM coupon.offer o LEFT JOIN coupon.voucher v ON v.offer_id = o.offer_id
           WHERE o.campaign_id IS NOT NULL GROUP BY 1) v ON v.campaign_id = c.campaign_id"

log "bench 04: statistics"
c4st_offers=$(best_of 3 ms -c "$c4offer_ours" -c "$c4offer_ours")
c4st_offers_b=$(best_of 3 ms -c "$c4offer_base_all" -c "$c4offer_base_all")
c4st_one=$(best_of 3 ms -c "$c4offer_ours WHERE offer_id = $C4X" -c "$c4offer_ours WHERE offer_id = $C4X")
c4st_one_b=$(best_of 3 ms -c "$c4offer_base_one" -c "$c4offer_base_one")
c4st_camp=$(best_of 3 ms -c "$c4camp_ours" -c "$c4camp_ours")
c4st_camp_b=$(best_of 3 ms -c "$c4camp_base" -c "$c4camp_base")
c4q_daily="SELECT * FROM coupon.voucher_activity_daily WHERE offer_id = $C4X"
c4q_delay="SELECT * FROM coupon.activation_delay WHERE offer_id = $C4X"
c4q_demo="SELECT * FROM coupon.offer_demographics WHERE offer_id = $C4X"
c4st_daily=$(best_of 2 ms -c "$c4q_daily" -c "$c4q_daily")
c4st_delay=$(best_of 2 ms -c "$c4q_delay" -c "$c4q_delay")
c4st_demo=$(best_of 2 ms -c "$c4q_demo" -c "$c4q_demo")

c4diff_offers=$(c4q -c "SELECT count(*) FROM (($c4offer_ours EXCEPT ALL $c4offer_base_all)
                                              UNION ALL ($c4offer_base_all EXCEPT ALL $c4offer_ours)) d")
c4diff_camps=$(c4q -c "SELECT count(*) FROM (($c4camp_ours EXCEPT ALL $c4camp_base)
                                             UNION ALL ($c4camp_base EXCEPT ALL $c4camp_ours)) d")
c4n_offers=$(c4q -c "SELECT count(*) FROM coupon.offer_report")
c4n_camps=$(c4q -c "SELECT count(*) FROM coupon.campaign_report")
c4tables=$(c4q -F ' ' -c "SELECT (SELECT count(*) FROM coupon.voucher), (SELECT count(*) FROM coupon.shop_coupon),
                                 (SELECT count(*) FROM coupon.redemption)")
read -r c4nv c4ns c4nr <<<"$c4tables"

report_header
c4_report4 "offer_report, all $c4n_offers offers vs GROUP BY over $c4nv vouchers" "$c4st_offers" "$c4st_offers_b" "(information: ms, not a scan)"
c4_report4 "offer_report, one offer vs GROUP BY of its vouchers (index)" "$c4st_one" "$c4st_one_b" "(information: ms, not a scan)"
c4_report4 "campaign_report, $c4n_camps campaigns vs GROUP BY coupons, redemptions" "$c4st_camp" "$c4st_camp_b" "(information: ms, not a scan)"
printf '  %-64s %s\n' "counters equal a recount: offer_report" "$([ "$c4diff_offers" -eq 0 ] && echo yes || echo "no ($c4diff_offers rows differ)")"
printf '  %-64s %s\n' "counters equal a recount: campaign_report" "$([ "$c4diff_camps" -eq 0 ] && echo yes || echo "no ($c4diff_camps rows differ)")"
c4_info "voucher_activity_daily, one offer of $((C4V / C4OFFERS)) vouchers" "$c4st_daily" "(information)"
c4_info "activation_delay, one offer" "$c4st_delay" "(information)"
c4_info "offer_demographics, one offer" "$c4st_demo" "(information)"
printf '  %-64s %s\n' "tables" "$c4nv vouchers, $c4ns coupons, $c4nr redemptions"
printf '  %-64s %s\n' "bench 04 took" "$(( $(date +%s) - c4_started )) s (statistics fill $((c4fill_done - c4fill_started)) s)"

psql_q -c "DROP TABLE c4_offer, c4_campaign"
rm -rf "$C4DIR"
