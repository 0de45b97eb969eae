-- Part 4: campaigns, bulk operations, import and export, and the analysts' views
\set QUIET on
\pset footer off
\set VERBOSITY default

\echo
\echo '=================================================================='
\echo ' 16. A campaign of 200,000 coupons in one call'
\echo '=================================================================='
\echo
SELECT coupon.create_campaign('Summer newsletter', 'the June mailing') AS summer \gset
\echo 'Another session starts the generation; this one watches it in pg_stat_activity:'
\! psql -X -q -At -c "SELECT coupon.generate_coupons(1, 200000, '{\"kind\": \"percent\", \"value\": 10, \"valid_until\": \"2027-08-31\"}')" >/dev/null &
DO $$
DECLARE
  seen text;
  i int;
BEGIN
  FOR i IN 1 .. 300 LOOP
    PERFORM pg_stat_clear_snapshot();   -- a transaction sees one snapshot of the activity otherwise
    SELECT query INTO seen FROM pg_stat_activity WHERE query LIKE 'coupon.generate_coupons: %' LIMIT 1;
    EXIT WHEN seen IS NOT NULL;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RAISE NOTICE 'another session sees: %', coalesce(seen, '(finished before it looked)');
END $$;
\echo 'It is one transaction: all 200,000 or none. Waiting for it to finish ...'
DO $$
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity
                          WHERE query LIKE '%coupon.generate_coupons%' AND pid <> pg_backend_pid());
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT campaign_id, name, coupons, sent, used FROM coupon.campaign_report WHERE campaign_id = :summer;
SELECT coupon.format(code) AS a_few_codes, kind, value, valid_until FROM coupon.shop_coupon
WHERE campaign_id = :summer ORDER BY code LIMIT 3;

\echo
\echo '=================================================================='
\echo ' 17. Importing codes from a TXT file'
\echo '=================================================================='
\echo
\echo 'The file, one code per line, as a partner sent it (blank lines, spaces, a repeat, a typo):'
\! printf 'LATO-2026-A\n  lato-2026-b  \n\nLATO2026C\nlato 2026 a\nLATO_2026_D\nLATO2026E\n' > /tmp/coupon_demo_codes.txt; cat -A /tmp/coupon_demo_codes.txt
SELECT coupon.import_begin('{"kind": "fixed", "value": 25, "min_order": 100}', :summer) AS next_step;
\copy coupon_import (raw) FROM '/tmp/coupon_demo_codes.txt' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
SELECT key, value FROM jsonb_each(coupon.import_finish()) WHERE key <> 'problems';
\echo 'The lines that did not go in, and why:'
SELECT line_no, raw, reason FROM coupon_import_problem ORDER BY line_no;
\! rm -f /tmp/coupon_demo_codes.txt

\echo
\echo '=================================================================='
\echo ' 18. Bulk operations, each reporting what it did and why'
\echo '=================================================================='
\echo
\set basket '{"lines": [{"sku": "SW-1", "price": 189.99}]}'
SELECT coupon.redeem('LATO2026A', 'maria', 'ORDER-9001', :'basket')->>'discount' AS lato2026a_used_for;
SELECT coupon.send('LATO2026B', ARRAY['jan']) \g /dev/null
\echo 'Block the imported ones (a filter by prefix):'
SELECT * FROM coupon.bulk_status('blocked', :summer, filter => '{"code_prefix": "LATO2026"}');
\echo 'Change their rules: the used and the sent coupon keep theirs:'
SELECT * FROM coupon.bulk_modify('{"value": 30, "valid_until": "2027-09-30"}', codes => '{LATO2026A,LATO2026B,LATO2026C,LATO2026E}');
\echo 'A usage limit is the one change a sent or used coupon still takes:'
SELECT * FROM coupon.bulk_modify('{"usage_limit": 1}', codes => '{LATO2026A,LATO2026B,LATO2026C,LATO2026E}');
\echo 'Delete them: never deleted once sent or used, archived instead:'
SELECT * FROM coupon.bulk_delete(filter => '{"code_prefix": "LATO2026"}');
SELECT code, status, archived_at IS NOT NULL AS archived, used_count FROM coupon.shop_coupon
WHERE code::text LIKE 'LATO2026%' ORDER BY code;

\echo
\echo '=================================================================='
\echo ' 19. Export: CSV through COPY, and XML'
\echo '=================================================================='
\echo
SELECT coupon.create_campaign('Partner codes') AS partner_codes \gset
\echo 'Archived coupons are chosen only when the filter asks for them:'
SELECT * FROM coupon.bulk_attach(:partner_codes, codes => '{LATO2026A,LATO2026B}', filter => '{"archived": true}');
COPY (SELECT * FROM coupon.campaign_coupons(:partner_codes)) TO STDOUT WITH (FORMAT csv, HEADER);
\echo 'The XML document, one <coupon> element per line:'
SELECT left(coupon.campaign_xml(:partner_codes)::text, 45) || '...' AS xml_export_begins;
SELECT unnest(xpath('/campaign/coupon', coupon.campaign_xml(:partner_codes))) AS coupon_element;

\echo
\echo '=================================================================='
\echo ' 20. The analysts'' views'
\echo '=================================================================='
\echo
-- more buyers for the swimsuit offer of part 2, with what they told about themselves
SELECT offer_id AS swim FROM coupon.offer WHERE title LIKE 'Swimsuits%' \gset
SELECT variant_id AS swim_v FROM coupon.variant WHERE offer_id = :swim ORDER BY variant_id LIMIT 1 \gset
SELECT count(coupon.upsert_customer('buyer' || i || '@example.com', CASE WHEN i % 3 = 0 THEN 'male' ELSE 'female' END,
                                    (current_date - make_interval(years => 24 + i % 14))::date))
FROM generate_series(1, 24) i \g /dev/null
SELECT count(*) AS more_vouchers_sold FROM generate_series(1, 24) i, coupon.sell_many(:swim_v, 1, 'buyer' || i || '@example.com') s;
SELECT coupon.set_offer_campaign(:swim, :summer) \g /dev/null
CREATE ROLE demo_analyst LOGIN IN ROLE coupon_analyst;
SET ROLE demo_analyst;
\echo 'Per offer (exact counters, not a scan):'
SELECT offer_id, partner, title, sold, activated, returned, expired, activation_rate, return_rate FROM coupon.offer_report;
\echo 'Per variant:'
SELECT title, coupon_price, original_price, discount_percent, sold, activated, returned FROM coupon.variant_report ORDER BY variant_id;
\echo 'Per campaign:'
SELECT name, coupons, archived, sent, used, redemptions, discount_given, offers, vouchers_sold FROM coupon.campaign_report ORDER BY campaign_id;
\echo 'Activity per day (in the offer''s time zone) and the time from sale to activation:'
SELECT * FROM coupon.voucher_activity_daily ORDER BY offer_id, day;
SELECT * FROM coupon.activation_delay;
\echo 'Who buys: gender and age band at the first purchase; no group under 5 people is shown:'
SELECT * FROM coupon.offer_demographics ORDER BY offer_id, customers DESC, gender, age_band;
\echo 'An analyst reads no secret:'
DO $$
BEGIN
  PERFORM secret FROM coupon.voucher LIMIT 1;
  RAISE NOTICE 'an analyst read a secret: this must not happen';
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'SELECT secret FROM coupon.voucher: refused (%): %', SQLSTATE, SQLERRM;
END $$;
RESET ROLE;
