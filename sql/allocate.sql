-- coupon.allocate: the largest-remainder method in integer minor units

-- the seed's example: 20.00 over 1 x 189.99 and 3 x 59.99 (369.96)
SELECT coupon.allocate(20.00, ARRAY[189.99, 3 * 59.99]) AS shares,
       (SELECT sum(s) FROM unnest(coupon.allocate(20.00, ARRAY[189.99, 3 * 59.99])) s) AS total;

-- shares add up to the amount, to the minor unit
SELECT coupon.allocate(100, ARRAY[1, 1, 1]);
SELECT coupon.allocate(0.01, ARRAY[5, 5]);
SELECT coupon.allocate(10.00, ARRAY[0.333, 0.333, 0.334]);
SELECT coupon.allocate(1.00, ARRAY[1, 2, 3, 4, 5, 6, 7]);

-- ties: larger remainder, then larger weight, then lower position
SELECT coupon.allocate(0.01, ARRAY[1, 1]) AS lower_position_wins;
SELECT coupon.allocate(0.02, ARRAY[1, 3]) AS larger_weight_wins;
SELECT coupon.allocate(0.01, ARRAY[1, 2]) AS larger_remainder_wins;

-- caps: no share above its cap; the amount is capped by the sum of the caps
SELECT coupon.allocate(100, ARRAY[1, 1, 1], ARRAY[10, 1000, 5]);
SELECT coupon.allocate(5000, ARRAY[1, 1, 1], ARRAY[10, 1000, 5]);
SELECT coupon.allocate(30, ARRAY[2, 1, 1], ARRAY[10, 50, 50]);

-- a weight of zero gets nothing, whatever its cap
SELECT coupon.allocate(10, ARRAY[0, 1, 1], ARRAY[100, 100, 100]);

-- minor units of 1, 0.01 and 0.001
SELECT coupon.allocate(100, ARRAY[1, 1, 1], minor_unit => 1) AS whole_units;
SELECT coupon.allocate(100, ARRAY[1, 1, 1], minor_unit => 0.01) AS cents;
SELECT coupon.allocate(100, ARRAY[1, 1, 1], minor_unit => 0.001) AS mills;
SELECT coupon.allocate(10.005, ARRAY[1, 1]) AS never_rounded_silently;
SELECT coupon.allocate(1.00, ARRAY[1, 1], minor_unit => 0.03);

-- refused input, each with its own message
SELECT coupon.allocate(10, ARRAY[1, NULL, 2]);
SELECT coupon.allocate(10, ARRAY[1, -1]);
SELECT coupon.allocate(10, ARRAY[0, 0]);
SELECT coupon.allocate(10, ARRAY[1, 2], ARRAY[5]);
SELECT coupon.allocate(10, ARRAY[1, 2], ARRAY[5, -5]);
SELECT coupon.allocate(10, ARRAY[1, 2], ARRAY[5, NULL]);
SELECT coupon.allocate(-10, ARRAY[1, 2]);
SELECT coupon.allocate(NULL, ARRAY[1, 2]);
SELECT coupon.allocate(10, NULL);
SELECT coupon.allocate(10, ARRAY[1, 2], minor_unit => 0);
SELECT coupon.allocate(10, ARRAY[1, 2], minor_unit => NULL);
SELECT coupon.allocate(10, '{}'::numeric[]);
SELECT coupon.allocate(10, ARRAY[[1, 2], [3, 4]]);
SELECT coupon.allocate(1e20, ARRAY[1, 2]);
SELECT coupon.allocate(10, ARRAY[1e30, 2]);

-- agrees with an independent computation over many random cases: sums
-- exact, each share within one minor unit of its exact proportional value
SELECT setseed(0.369);
WITH cases AS (
  SELECT i, round((random() * 1000)::numeric, 2) AS amount,
         array_agg(round((random() * 500)::numeric, 2) ORDER BY j) AS weights
  FROM generate_series(1, 2000) i, generate_series(1, 1 + (i % 12)) j
  GROUP BY i
), shares AS (
  SELECT c.i, c.amount, c.weights, coupon.allocate(c.amount, c.weights) AS s FROM cases c
  WHERE (SELECT sum(w) FROM unnest(c.weights) w) > 0
)
SELECT count(*) AS cases,
       count(*) FILTER (WHERE (SELECT sum(x) FROM unnest(s) x) <> amount) AS inexact_sums,
       count(*) FILTER (WHERE EXISTS (
         SELECT 1 FROM unnest(s, weights) AS u(share, w)
         WHERE abs(share - amount * w / (SELECT sum(x) FROM unnest(weights) x)) >= 0.01)) AS off_by_a_cent_or_more
FROM shares;
