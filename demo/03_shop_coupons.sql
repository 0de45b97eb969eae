-- Part 3: shop discount coupons, the e-shop administrator's story
\set QUIET on
\pset footer off
\set VERBOSITY default

CREATE FUNCTION pg_temp.try(what text, call text)
RETURNS TABLE (attempt text, outcome text, sqlstate text, message text)
LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
BEGIN
  EXECUTE call INTO r;
  RETURN QUERY SELECT what, CASE WHEN r->>'applies' = 'false' THEN 'does not apply' ELSE 'ok' END,
                      coalesce(r->>'sqlstate', '00000'),
                      coalesce(r->>'message', 'discount ' || (r->>'discount') || ', total ' || (r->>'total'));
EXCEPTION WHEN OTHERS THEN
  RETURN QUERY SELECT what, 'refused'::text, SQLSTATE::text, SQLERRM::text;
END $$;

-- the basket of the seed: 1 x 189.99 and 3 x 59.99 = 369.96
\set basket '{"lines": [{"sku": "SW-1", "name": "Swimsuit", "category": "swimwear", "price": 189.99, "quantity": 1}, {"sku": "TW-3", "name": "Beach towel", "category": "home", "price": 59.99, "quantity": 3}], "delivery_fee": 15.00, "payment_fee": 2.50}'

\echo
\echo '=================================================================='
\echo ' 11. Exact allocation: the seed''s example, to the cent'
\echo '=================================================================='
\echo
\echo 'A 20.00 coupon on 1 x 189.99 + 3 x 59.99 = 369.96. The seed''s own system'
\echo 'ended at 19.99; the largest-remainder method in integer cents gives:'
SELECT coupon.allocate(20.00, ARRAY[189.99, 3 * 59.99]) AS shares,
       (SELECT sum(s) FROM unnest(coupon.allocate(20.00, ARRAY[189.99, 3 * 59.99])) s) AS total;

\echo
\echo '=================================================================='
\echo ' 12. Coupons and what they do to the basket'
\echo '=================================================================='
\echo
SELECT coupon.create_coupon('fixed', 20, code => 'LATO20', once_per_customer => false,
                            description => 'summer leaflet') \g /dev/null
SELECT coupon.create_coupon('percent', 10, code => 'TEN', once_per_customer => false) \g /dev/null
SELECT coupon.create_coupon('free_delivery', code => 'FREESHIP', free_payment => true,
                            once_per_customer => false) \g /dev/null
SELECT coupon.create_coupon('fixed', 500, code => 'BIG500', once_per_customer => false) \g /dev/null
SELECT coupon.create_coupon('fixed', 15, code => 'SWIM15', categories => ARRAY['swimwear'], min_order => 100,
                            once_per_customer => false) \g /dev/null
\echo 'A quote recalculates the order and records nothing:'
SELECT c AS code, q->>'kind' AS kind, q->>'discount' AS discount,
       (SELECT string_agg(l->>'share', ' + ') FROM jsonb_array_elements(q->'lines') l) AS line_shares,
       q->>'delivery_discount' AS delivery_off, q->>'payment_discount' AS payment_off, q->>'total' AS total
FROM unnest(ARRAY['LATO20', 'TEN', 'FREESHIP', 'BIG500', 'SWIM15']) AS c,
     LATERAL coupon.quote(c, NULL, :'basket') AS q;
\echo 'BIG500 is worth more than the order: the products cost the floor of 0.01.'

\echo
\echo 'A promotional bundle and an individually negotiated price get no share'
\echo 'and do not count toward the minimum order:'
SELECT l->>'sku' AS sku, l->>'amount' AS amount, l->>'eligible' AS eligible, l->>'excluded' AS why_not,
       l->>'share' AS share
FROM jsonb_array_elements(coupon.quote('LATO20', NULL,
       '{"lines": [{"sku": "SW-1", "price": 189.99}, {"sku": "BUNDLE", "price": 99.00, "bundle": true},
                   {"sku": "VIP", "price": 300.00, "negotiated": true}]}')->'lines') l;
SELECT * FROM pg_temp.try('SWIM15, only 80.00 of swimwear',
  $$SELECT coupon.quote('SWIM15', NULL, '{"lines": [{"price": 80, "category": "swimwear"}, {"price": 500, "category": "home"}]}')$$);

\echo
\echo '=================================================================='
\echo ' 13. Redemption, the usage limit, a release'
\echo '=================================================================='
\echo
SELECT coupon.create_coupon('fixed', 20, code => 'FIRST2', usage_limit => 2, once_per_customer => false) \g /dev/null
SELECT * FROM pg_temp.try('order A redeems FIRST2', format('SELECT coupon.redeem(%L, %L, %L, %L)', 'FIRST2', 'anna', 'A-1001', :'basket'));
SELECT * FROM pg_temp.try('order B redeems FIRST2', format('SELECT coupon.redeem(%L, %L, %L, %L)', 'FIRST2', 'ivan', 'B-1002', :'basket'));
SELECT * FROM pg_temp.try('order C: the limit is reached', format('SELECT coupon.redeem(%L, %L, %L, %L)', 'FIRST2', 'zoe', 'C-1003', :'basket'));
\echo 'What order A stored, line by line (a later partial refund uses these shares):'
SELECT r.order_ref, l.line_no, l.sku, l.unit_price, l.quantity, l.amount, l.share, l.net
FROM coupon.redemption r JOIN coupon.redemption_line l USING (code, redemption_id)
WHERE r.code = 'FIRST2' AND r.order_ref = 'A-1001' ORDER BY l.line_no;
\echo 'Order A is cancelled: its use comes back, exactly once.'
SELECT coupon.release('A-1001') AS released_now, coupon.release('A-1001') AS released_again;
SELECT * FROM pg_temp.try('order C again', format('SELECT coupon.redeem(%L, %L, %L, %L)', 'FIRST2', 'zoe', 'C-1003', :'basket'));
SELECT code, usage_limit, used_count, held_count FROM coupon.shop_coupon WHERE code = 'FIRST2';

\echo
\echo 'A checkout in progress holds a use; an order never counts against its own hold:'
SELECT coupon.create_coupon('fixed', 10, code => 'LAST1', usage_limit => 1, once_per_customer => false) \g /dev/null
SELECT * FROM pg_temp.try('order D holds LAST1 for 15 minutes', format('SELECT coupon.hold(%L, NULL, %L, %L)', 'LAST1', 'D-1', :'basket'));
SELECT * FROM pg_temp.try('order E meanwhile', format('SELECT coupon.redeem(%L, NULL, %L, %L)', 'LAST1', 'E-1', :'basket'));
SELECT * FROM pg_temp.try('order D pays', format('SELECT coupon.redeem(%L, NULL, %L, %L)', 'LAST1', 'D-1', :'basket'));

\echo
\echo '=================================================================='
\echo ' 14. Editable until sent or first used'
\echo '=================================================================='
\echo
SELECT * FROM pg_temp.try('change the value of a used coupon',
  $$UPDATE coupon.shop_coupon SET value = 30 WHERE code = 'FIRST2' RETURNING '{"message": "changed"}'::jsonb$$);
SELECT * FROM pg_temp.try('raise its usage limit',
  $$SELECT jsonb_build_object('message', 'usage limit now ' || (coupon.set_usage_limit('FIRST2', 100)).usage_limit)$$);
SELECT * FROM pg_temp.try('lower it below its uses',
  $$SELECT jsonb_build_object('message', (coupon.set_usage_limit('FIRST2', 1)).usage_limit)$$);
SELECT * FROM pg_temp.try('delete it',
  $$DELETE FROM coupon.shop_coupon WHERE code = 'FIRST2' RETURNING '{"message": "deleted"}'::jsonb$$);
SELECT * FROM pg_temp.try('change an unused coupon',
  $$UPDATE coupon.shop_coupon SET value = 25 WHERE code = 'LATO20' RETURNING jsonb_build_object('message', 'value now ' || value)$$);

\echo
\echo '=================================================================='
\echo ' 15. Audiences, sending, the newsletter'
\echo '=================================================================='
\echo
SELECT coupon.create_coupon('percent', 15, code => 'WELCOME15', audience => 'new_subscribers') \g /dev/null
SELECT * FROM pg_temp.try('WELCOME15 before subscribing', format('SELECT coupon.quote(%L, %L, %L)', 'WELCOME15', 'maria', :'basket'));
LISTEN coupon_mail;
SELECT coupon.subscribe('maria') AS newsletter_coupons_sent;
SELECT * FROM pg_temp.try('WELCOME15 after subscribing', format('SELECT coupon.quote(%L, %L, %L)', 'WELCOME15', 'maria', :'basket'));
\echo 'The mail service, listening on channel coupon_mail, is told (payload below):'
SELECT coupon.send('LATO20') AS sending_id \gset
SELECT audience, recipients, sent_by FROM coupon.sending WHERE sending_id = :sending_id;
\echo 'Serial operations: block several coupons at once.'
SELECT coupon.set_coupon_status(ARRAY['TEN', 'BIG500', 'SWIM15']::coupon.code[], 'blocked') AS blocked;
SELECT * FROM pg_temp.try('TEN, blocked', format('SELECT coupon.quote(%L, NULL, %L)', 'TEN', :'basket'));
UNLISTEN coupon_mail;
