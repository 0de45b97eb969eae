# A usage limit holds under concurrent checkouts: a coupon with a limit of
# 100, 8 pgbench clients making 500 attempts each (4,000 attempts, distinct
# orders), ends with exactly 100 redemptions, and its counter equals its
# rows.  Meanwhile one customer tries a once-per-customer coupon from all 8
# clients and gets it exactly once.
set -euo pipefail
P="$PGBIN/psql -X -q -At -v ON_ERROR_STOP=1 -d coupon_limit"
"$PGBIN/dropdb" --if-exists coupon_limit; "$PGBIN/createdb" coupon_limit
$P <<'SQL'
CREATE EXTENSION coupon;
SELECT coupon.create_coupon('fixed', 10, code => 'HUNDRED', usage_limit => 100, once_per_customer => false);
SELECT coupon.create_coupon('fixed', 10, code => 'JUSTONCE', once_per_customer => true);
CREATE SEQUENCE attempt;
CREATE FUNCTION attempt(code text, customer text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM coupon.redeem(code, customer, 'order-' || nextval('attempt'),
                        '{"lines": [{"sku": "A", "price": 120.00, "quantity": 1}]}');
  RETURN 'redeemed';
EXCEPTION WHEN SQLSTATE 'CP205' OR SQLSTATE 'CP206' THEN
  RETURN SQLSTATE;
END $$;
SQL
cat > /tmp/coupon_limit_$$.pgbench <<'EOF2'
SELECT attempt('HUNDRED', NULL);
SELECT attempt('JUSTONCE', 'the-same-customer');
EOF2
"$PGBIN/pgbench" -n -c 8 -j 2 -t 500 -f /tmp/coupon_limit_$$.pgbench coupon_limit 2>&1 \
  | grep -E 'processed|failed|tps' || true
rm -f /tmp/coupon_limit_$$.pgbench
read -r rows counted held once_rows < <($P -F ' ' -c "SELECT
  (SELECT count(*) FROM coupon.redemption WHERE code = 'HUNDRED' AND released_at IS NULL),
  (SELECT used_count FROM coupon.shop_coupon WHERE code = 'HUNDRED'),
  (SELECT held_count FROM coupon.shop_coupon WHERE code = 'HUNDRED'),
  (SELECT count(*) FROM coupon.redemption WHERE code = 'JUSTONCE')")
attempts=$($P -c "SELECT last_value FROM attempt")
echo "attempts: $attempts; HUNDRED: $rows redemptions, counter $counted, held $held; JUSTONCE: $once_rows redemption(s)"
[ "$attempts" = 8000 ] && [ "$rows" = 100 ] && [ "$counted" = 100 ] && [ "$held" = 0 ] && [ "$once_rows" = 1 ]
"$PGBIN/dropdb" coupon_limit
