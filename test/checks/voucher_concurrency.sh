# Counters stay exact under concurrent activity: 4 pgbench clients activate,
# refund, block, unblock and expire 2,000 vouchers at random for 2,000
# transactions; afterwards the counters equal a recount of the vouchers, and
# the log has exactly one activation per used voucher.
set -euo pipefail
P="$PGBIN/psql -X -q -At -v ON_ERROR_STOP=1 -d voucher_conc"
"$PGBIN/dropdb" --if-exists voucher_conc; "$PGBIN/createdb" voucher_conc
$P <<'SQL'
CREATE EXTENSION coupon;
SELECT coupon.create_partner('Concurrency') AS p \gset
SELECT coupon.create_offer(:p, 'Busy offer', current_date - 1, current_date + 1, current_date - 1, current_date + 1,
                           code_pattern => '########') AS o \gset
SELECT coupon.add_variant(:o, 'a', 10, 0, 20) AS va, coupon.add_variant(:o, 'b', 15, 0, 30) AS vb \gset
CREATE TABLE picks AS
  SELECT row_number() OVER (ORDER BY random())::int AS id, code::text, secret
  FROM (SELECT * FROM coupon.sell_many(:va, 1000) UNION ALL SELECT * FROM coupon.sell_many(:vb, 1000)) s;
CREATE UNIQUE INDEX ON picks (id);
-- two vouchers already past their window, for expiry to find
SELECT coupon.sell(:va, NULL, current_date - 30, current_date - 10);
SELECT coupon.sell(:vb, NULL, current_date - 30, current_date - 10);
CREATE FUNCTION step(op int, pick int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  c text;
  s text;
BEGIN
  SELECT code, secret INTO c, s FROM picks WHERE id = pick;
  CASE op
    WHEN 0, 1 THEN PERFORM coupon.activate(c, s);
    WHEN 2 THEN PERFORM coupon.refund(c);
    WHEN 3 THEN PERFORM coupon.block(c);
    WHEN 4 THEN PERFORM coupon.unblock(c);
    ELSE PERFORM coupon.expire_batch(50);
  END CASE;
  RETURN 'ok';
EXCEPTION WHEN SQLSTATE 'CP103' OR SQLSTATE 'CP104' OR SQLSTATE 'CP106' OR SQLSTATE 'CP107'
            OR SQLSTATE 'CP110' OR SQLSTATE 'CP111' THEN
  RETURN SQLSTATE;
END $$;
SQL
cat > /tmp/coupon_conc_$$.pgbench <<'EOF2'
\set pick random(1, 2000)
\set op random(0, 5)
SELECT step(:op, :pick);
EOF2
"$PGBIN/pgbench" -n -c 4 -j 2 -t 500 -f /tmp/coupon_conc_$$.pgbench voucher_conc 2>&1 | grep -E 'processed|failed|aborted|tps' || true
rm -f /tmp/coupon_conc_$$.pgbench
$P <<'SQL'
SELECT count(*) AS vouchers, count(*) FILTER (WHERE state = 'used') AS used,
       count(*) FILTER (WHERE state = 'returned') AS returned, count(*) FILTER (WHERE state = 'blocked') AS blocked,
       count(*) FILTER (WHERE state = 'expired') AS expired
FROM coupon.voucher \gset
\echo vouchers :vouchers used :used returned :returned blocked :blocked expired :expired
DO $$
DECLARE
  bad int;
BEGIN
  SELECT count(*) INTO bad FROM (
    SELECT variant_id, sum(issued) AS issued, sum(used) AS used, sum(returned) AS returned,
           sum(expired) AS expired, sum(blocked) AS blocked
    FROM coupon.voucher_counter GROUP BY 1
  ) k FULL JOIN (
    SELECT variant_id, count(*) AS issued, count(*) FILTER (WHERE state = 'used') AS used,
           count(*) FILTER (WHERE state = 'returned') AS returned,
           count(*) FILTER (WHERE state = 'expired') AS expired,
           count(*) FILTER (WHERE state = 'blocked') AS blocked
    FROM coupon.voucher GROUP BY 1
  ) r USING (variant_id)
  WHERE (k.issued, k.used, k.returned, k.expired, k.blocked)
        IS DISTINCT FROM (r.issued, r.used, r.returned, r.expired, r.blocked);
  IF bad > 0 THEN
    RAISE EXCEPTION '% variants whose counters differ from a recount', bad;
  END IF;
  SELECT count(*) INTO bad FROM coupon.voucher v
  WHERE (v.state = 'used') <> ((SELECT count(*) FROM coupon.voucher_event e
                                WHERE e.code = v.code AND e.action = 'activate') = 1);
  IF bad > 0 THEN
    RAISE EXCEPTION '% vouchers whose log disagrees with their state', bad;
  END IF;
  IF (SELECT count(*) FILTER (WHERE state = 'used') FROM coupon.voucher) < 100 THEN
    RAISE EXCEPTION 'too few activations happened for the check to mean anything';
  END IF;
END $$;
\echo counters equal a recount; one activation logged per used voucher
SQL
"$PGBIN/dropdb" voucher_conc
