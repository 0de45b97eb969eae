-- Statistics views for analysts: per offer and variant, per campaign, per
-- day, time to activation, demographics without groups under 5 people;
-- the counters against a full recount; what an analyst may read.
BEGIN;
SELECT plan(24);
\set QUIET on
\set basket '{"lines": [{"sku": "A", "price": 100.00, "quantity": 1}]}'

-- ---------------------------------------------------------------- an offer and its buyers
SELECT coupon.create_partner('Aqua Park') AS partner \gset
SELECT coupon.create_offer(:partner, 'Day pass', current_date - 10, current_date + 30, current_date - 10,
                           current_date + 30, 'Europe/Warsaw') AS offer \gset
SELECT coupon.add_variant(:offer, 'adult', 20, 30, 100) AS adult \gset
SELECT coupon.add_variant(:offer, 'child', 10, 10, 40) AS child \gset
-- 6 women of 31, 5 men of 36, 2 men of 26, 2 people who told nothing, 1 woman of 76
SELECT count(coupon.upsert_customer(id, gender, birth_date)) FROM (
  SELECT 'w31-' || i, 'female', (current_date - interval '31 years' - interval '10 days')::date FROM generate_series(1, 6) i
  UNION ALL SELECT 'm36-' || i, 'male', (current_date - interval '36 years' - interval '10 days')::date FROM generate_series(1, 5) i
  UNION ALL SELECT 'm26-' || i, 'male', (current_date - interval '26 years' - interval '10 days')::date FROM generate_series(1, 2) i
  UNION ALL SELECT 'x-' || i, NULL, NULL FROM generate_series(1, 2) i
  UNION ALL SELECT 'w76-1', 'female', (current_date - interval '76 years')::date) AS c(id, gender, birth_date) \g /dev/null
CREATE TEMP TABLE sold AS
  SELECT s.*, c.external_id FROM coupon.customer c, coupon.sell_many(:adult, 1, c.external_id) s
  WHERE c.external_id ~ '^(w31|m36|m26|x|w76)-';
INSERT INTO sold SELECT s.*, 'w31-1' FROM coupon.sell_many(:child, 1, 'w31-1') s;   -- a second purchase
SELECT is((SELECT count(*)::int FROM sold), 17, '17 vouchers sold to 16 customers');

-- four activations, two refunds
CREATE TEMP TABLE picked AS SELECT code, secret, row_number() OVER (ORDER BY number) AS n FROM sold;
SELECT count(coupon.activate(code, secret)) FROM picked WHERE n <= 4 \g /dev/null
SELECT count(coupon.refund(code)) FROM picked WHERE n IN (5, 6) \g /dev/null
-- the activations came 2, 4, 6 and 48 hours after the sale
UPDATE coupon.voucher v SET sold_at = v.used_at - make_interval(hours => (ARRAY[2, 4, 6, 48])[p.n])
FROM picked p WHERE p.code = v.code AND p.n <= 4;

-- ---------------------------------------------------------------- per offer, per variant
SELECT is((SELECT (sold, activated, returned, expired, blocked, not_used, activation_rate, return_rate)::text
           FROM coupon.offer_report WHERE offer_id = :offer),
          '(17,4,2,0,0,11,0.2353,0.1176)', 'per offer: sold, activated, returned, ..., and the rates');
SELECT is((SELECT partner FROM coupon.offer_report WHERE offer_id = :offer), 'Aqua Park', 'with the partner''s name');
SELECT is((SELECT array_agg((title, sold, activated, returned)::text ORDER BY variant_id) FROM coupon.variant_report WHERE offer_id = :offer),
          ARRAY['(adult,16,4,2)', '(child,1,0,0)'], 'per variant');
SELECT is((SELECT (coupon_price, original_price, discount_percent)::text FROM coupon.variant_report WHERE variant_id = :adult),
          '(20.00,100.00,50)', 'with its prices and discount');
SELECT set_eq(format($$SELECT sold, activated, returned, expired, blocked FROM coupon.offer_report WHERE offer_id = %s$$, :offer),
              format($$SELECT count(*) AS s, count(*) FILTER (WHERE state = 'used') AS a, count(*) FILTER (WHERE state = 'returned') AS r,
                              count(*) FILTER (WHERE state = 'expired') AS e, count(*) FILTER (WHERE state = 'blocked') AS b
                       FROM coupon.voucher WHERE offer_id = %s$$, :offer),
              'the counters equal a count over the vouchers');

-- ---------------------------------------------------------------- per day, delay
SELECT is((SELECT (sum(sold), sum(activated), sum(returned))::text FROM coupon.voucher_activity_daily WHERE offer_id = :offer),
          '(17,4,2)', 'activity per day adds up to the totals');
SELECT is((SELECT sold FROM coupon.voucher_activity_daily
           WHERE offer_id = :offer AND day = (now() AT TIME ZONE 'Europe/Warsaw')::date - 2), 1::bigint,
          'the voucher sold 48 hours before its activation counts on its own day (Warsaw time)');
SELECT is((SELECT activated FROM coupon.voucher_activity_daily
           WHERE offer_id = :offer AND day = (now() AT TIME ZONE 'Europe/Warsaw')::date), 4::bigint, 'activations today');
SELECT is((SELECT (activated, avg_hours, median_hours, p90_hours)::text FROM coupon.activation_delay WHERE offer_id = :offer),
          '(4,15.0,5.0,35.4)', 'time from sale to activation: average, median and 90th percentile in hours');

-- ---------------------------------------------------------------- demographics
SELECT results_eq(format($$SELECT gender, age_band, customers FROM coupon.offer_demographics WHERE offer_id = %s
                           ORDER BY customers DESC, gender$$, :offer),
                  $$VALUES ('female'::text, '25-34'::text, 6::bigint), ('male', '35-44', 5), ('other', 'other', 5)$$,
                  'customers by gender and age band; the groups under 5 people only together, as "other"');
SELECT is((SELECT min(customers) FROM coupon.offer_demographics), 5::bigint, 'no group anywhere has fewer than 5 people');
SELECT coupon.create_offer(:partner, 'Sauna', current_date - 1, current_date + 30, current_date - 1,
                           current_date + 30, 'Europe/Warsaw') AS sauna \gset
SELECT coupon.add_variant(:sauna, 'entry', 5, 5, 20) AS entry \gset
SELECT count(*) FROM coupon.sell_many(:entry, 1, 'm26-1') a, coupon.sell_many(:entry, 1, 'w76-1') b \g /dev/null
SELECT is((SELECT count(*)::int FROM coupon.offer_demographics WHERE offer_id = :sauna), 0,
          'an offer with two buyers shows nothing');
SELECT is(coupon.age_band('2000-06-15', '2026-06-14'), '25-34', 'age bands: 25 the day before the 26th birthday ...');
SELECT is(coupon.age_band('2001-06-15', '2026-06-14'), '18-24', '... 24 a year younger');
SELECT is(coupon.age_band(NULL, '2026-06-14'), 'unknown', 'no birth date, unknown');

-- ---------------------------------------------------------------- campaigns and coupon activity
SELECT coupon.create_campaign('Aqua coupons') AS camp \gset
SELECT coupon.set_offer_campaign(:offer, :camp);
SELECT coupon.generate_coupons(:camp, 3, '{"kind": "fixed", "value": 10}') \g /dev/null
SELECT count(coupon.redeem(code, 'w31-' || n, 'AQ-' || n, :'basket'))
FROM (SELECT code, row_number() OVER (ORDER BY code) AS n FROM coupon.shop_coupon WHERE campaign_id = :camp) c \g /dev/null
SELECT coupon.release('AQ-1') \g /dev/null
SELECT is((SELECT (coupons, used, redemptions, discount_given, offers, vouchers_sold, vouchers_activated)::text
           FROM coupon.campaign_report WHERE campaign_id = :camp),
          '(3,3,2,20.00,1,17,4)', 'per campaign: coupons, used, redemptions kept, discount given, and its offers'' vouchers');
SELECT is((SELECT (redemptions, released, discount_given)::text FROM coupon.coupon_activity_daily WHERE campaign_id = :camp),
          '(3,1,20.00)', 'coupon activity per day: redemptions, released later, discount kept');
CREATE TEMP TABLE before AS SELECT * FROM coupon.campaign_report;
SELECT coupon.recount_campaigns() \g /dev/null
SELECT set_eq('SELECT * FROM coupon.campaign_report', 'SELECT * FROM before', 'campaign figures equal a full recount');
SELECT throws_ok(format('SELECT coupon.set_offer_campaign(%s, 999999)', :offer), 'CP302', 'campaign 999999 does not exist',
                 'an offer joins only a campaign that exists');

-- ---------------------------------------------------------------- what an analyst reads
CREATE ROLE tap_stats_analyst IN ROLE coupon_analyst;
SET ROLE tap_stats_analyst;
SELECT is((SELECT count(*)::int FROM coupon.offer_report WHERE offer_id IN (:offer, :sauna)) +
          (SELECT count(*)::int FROM coupon.campaign_report WHERE campaign_id = :camp) +
          (SELECT count(*)::int FROM coupon.offer_demographics WHERE offer_id = :offer), 6,
          'an analyst reads the reports');
SELECT throws_ok('SELECT secret FROM coupon.voucher LIMIT 1', '42501', NULL, 'but no secret');
SELECT throws_ok(format('SELECT * FROM coupon.bulk_status(''blocked'', %s)', :camp), '42501', NULL, 'and changes nothing');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM information_schema.columns c
           JOIN pg_class v ON v.relname = c.table_name AND v.relnamespace = 'coupon'::regnamespace AND v.relkind = 'v'
           WHERE c.table_schema = 'coupon' AND has_table_privilege('coupon_analyst', v.oid, 'SELECT')
             AND (c.column_name ~ 'secret|code' OR c.column_name = 'customer_id')), 0,
          'no view an analyst reads has a column of secrets, codes or customer ids');
SELECT * FROM finish();
ROLLBACK;
