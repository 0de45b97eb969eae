# bench/03_shop.sh: allocation and redemption of shop coupons.
# Sourced by bench/run.sh, with the cluster up and database "bench".

psql_q <<'SQL'
-- the same method in PL/pgSQL: largest remainder in integer minor units,
-- ties to the larger remainder, then the larger weight, then the lower position
CREATE OR REPLACE FUNCTION plpgsql_allocate(amount numeric, weights numeric[], minor_unit numeric DEFAULT 0.01)
RETURNS numeric[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  n int := array_length(weights, 1);
  total bigint := round(amount / minor_unit);
  wsum numeric := 0;
  shares bigint[] := array_fill(0::bigint, ARRAY[n]);
  rems numeric[] := array_fill(0::numeric, ARRAY[n]);
  given bigint := 0;
  q numeric;
  i int;
  r record;
BEGIN
  FOR i IN 1..n LOOP
    wsum := wsum + weights[i];
  END LOOP;
  FOR i IN 1..n LOOP
    q := total * weights[i] / wsum;
    shares[i] := floor(q);
    rems[i] := q - floor(q);
    given := given + shares[i];
  END LOOP;
  FOR r IN SELECT ord FROM unnest(rems, weights) WITH ORDINALITY AS t(rem, w, ord)
           ORDER BY rem DESC, w DESC, ord LIMIT total - given LOOP
    shares[r.ord] := shares[r.ord] + 1;
  END LOOP;
  RETURN (SELECT array_agg(s * minor_unit ORDER BY o) FROM unnest(shares) WITH ORDINALITY AS u(s, o));
END $$;
CREATE TABLE IF NOT EXISTS alloc_orders AS
  SELECT i, lines, round((random() * 200)::numeric, 2) AS amount,
         (SELECT array_agg(round((1 + random() * 300)::numeric, 2)) FROM generate_series(1, lines) g WHERE i > 0) AS weights
  FROM generate_series(1, 4000) i, (VALUES (10), (100)) AS l(lines);
ANALYZE alloc_orders;
SQL

report_header
for lines in 10 100; do
  # each side runs its query once to warm the session (library load, catalog
  # caches, PL/pgSQL compilation, the backend's memory) and the second run is
  # timed, so the figure is the calls and not a new connection
  cq="SELECT count(coupon.allocate(amount, weights)) FROM alloc_orders WHERE lines = $lines"
  pq="SELECT count(plpgsql_allocate(amount, weights)) FROM alloc_orders WHERE lines = $lines"
  c=$(best_of 3 ms -c "$cq" -c "$cq")
  p=$(best_of 1 ms -c "$pq" -c "$pq")
  report "allocate 4000 orders of $lines lines vs the same in PL/pgSQL" "$c" "$p" "target <= 0.05 (20x faster)"
done
same=$("$PGBIN/psql" -X -At -c "SELECT count(*) FILTER (WHERE coupon.allocate(amount, weights) = plpgsql_allocate(amount, weights)) || '/' || count(*) FROM alloc_orders")
printf '  %-64s %s\n' "C and PL/pgSQL agree on" "$same orders"

# exactness: a million random cases through the server-free core
make -s -C "$ROOT" bench/alloc_exactness >/dev/null
"$ROOT/bench/alloc_exactness" 1000000 | sed 's/^/  /'

# redemption throughput: 4 clients, each on its own coupons
psql_q -o /dev/null <<'SQL'
SELECT count(coupon.create_coupon('fixed', 20, code => 'BENCH' || lpad(i::text, 4, '0'), once_per_customer => false))
FROM generate_series(1, 4000) i;
CREATE SEQUENCE bench_order;
CREATE TABLE bench_redemption (LIKE coupon.redemption INCLUDING DEFAULTS INCLUDING INDEXES);
CREATE TABLE bench_redemption_line (LIKE coupon.redemption_line INCLUDING DEFAULTS INCLUDING INDEXES);
SQL
cat >"$CLUSTER_DIR/redeem.sql" <<'SQL'
\set c :client_id * 1000 + random(1, 1000)
SELECT coupon.redeem('BENCH' || lpad(:c::text, 4, '0'), NULL, 'ORD-' || nextval('bench_order'),
  '{"lines": [{"sku": "SW-1", "price": 189.99, "quantity": 1}, {"sku": "TW-3", "price": 59.99, "quantity": 3}], "delivery_fee": 15}');
SQL
cat >"$CLUSTER_DIR/redeem_base.sql" <<'SQL'
\set c :client_id * 1000 + random(1, 1000)
WITH r AS (
  INSERT INTO bench_redemption (code, order_ref, currency, subtotal, eligible_subtotal, discount, delivery_fee,
                                delivery_discount, payment_fee, payment_discount, total)
  VALUES ('BENCH' || lpad(:c::text, 4, '0'), 'ORD-' || nextval('bench_order'), 'PLN', 369.96, 369.96, 20, 15, 0, 0, 0, 364.96)
  RETURNING code, redemption_id)
INSERT INTO bench_redemption_line (code, redemption_id, line_no, sku, unit_price, quantity, amount, eligible, share, net)
SELECT r.code, r.redemption_id, l.n, l.sku, l.p, l.q, l.a, true, l.s, l.a - l.s
FROM r, (VALUES (1, 'SW-1', 189.99, 1, 189.99, 10.27), (2, 'TW-3', 59.99, 3, 179.97, 9.73)) AS l(n, sku, p, q, a, s);
SQL
rtps() { "$PGBIN/pgbench" -n -M prepared -c 4 -j 2 -T 15 -f "$1" bench 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
base=$(rtps "$CLUSTER_DIR/redeem_base.sql")
ours=$(rtps "$CLUSTER_DIR/redeem.sql")
printf '  %-64s %10.1f tps %9.1f tps   ratio %6s   %s\n' "redeem, pgbench -c 4 on 4000 coupons: vs inserting the same rows" \
  "$ours" "$base" "$(ratio "$ours" "$base")" "(information: rules, quote, allocation, counts)"
psql_q -c "DROP TABLE alloc_orders, bench_redemption, bench_redemption_line" -c "DROP SEQUENCE bench_order"
