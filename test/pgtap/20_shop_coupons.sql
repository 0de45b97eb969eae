-- Shop coupons: rules, exact allocation on an order, redemption, holds,
-- release, sending, subscriptions, editability, append-only redemptions.
BEGIN;
SELECT plan(102);
\set QUIET on

-- the seed's basket: 1 x 189.99 and 3 x 59.99 = 369.96, delivery 15.00, payment fee 2.50
\set basket '{"lines": [{"sku": "SW-1", "name": "Swimsuit", "category": "swimwear", "price": 189.99, "quantity": 1}, {"sku": "TW-3", "name": "Towel", "category": "home", "price": 59.99, "quantity": 3}], "delivery_fee": 15.00, "payment_fee": 2.50}'
\set with_bundle '{"lines": [{"sku": "SW-1", "price": 189.99, "quantity": 1, "category": "swimwear"}, {"sku": "SET", "price": 100.00, "quantity": 1, "bundle": true}, {"sku": "VIP", "price": 50.00, "quantity": 1, "negotiated": true}]}'

-- ---------------------------------------------------------------- creation
SELECT coupon.create_coupon('fixed', 20) AS gen \gset
SELECT ok(length(:'gen') = 11 AND coupon.check_valid(:'gen'), 'a new coupon gets a generated code with a check symbol');
SELECT is(coupon.create_coupon('fixed', 20, code => 'lato-2020', once_per_customer => false)::text, 'LATO2020',
          'or the code the administrator chose');
SELECT throws_ok($$SELECT coupon.create_coupon('fixed', 5, code => 'LATO2020')$$, 'CP213',
                 'a coupon with code LATO2020 already exists', 'codes are unique');
SELECT throws_ok($$SELECT coupon.create_coupon('percent', 120)$$, '22023',
                 'a percentage coupon needs a value above 0 and at most 100, not 120', 'a percentage is at most 100');
SELECT throws_ok($$SELECT coupon.create_coupon('fixed', 0)$$, '22023',
                 'a fixed-value coupon needs a value above 0, not 0', 'a fixed value is positive');

-- ---------------------------------------------------------------- fixed value, exact to the cent
SELECT coupon.quote('LATO2020', NULL, :'basket') AS q \gset
SELECT is((:'q'::jsonb)->>'discount', '20.00', 'a 20.00 coupon on the 369.96 basket takes off exactly 20.00');
SELECT is(ARRAY[(:'q'::jsonb)#>>'{lines,0,share}', (:'q'::jsonb)#>>'{lines,1,share}'], ARRAY['10.27', '9.73'],
          'spread as 10.27 and 9.73 (the seed''s own system ended at 19.99)');
SELECT is(ARRAY[(:'q'::jsonb)#>>'{lines,0,net}', (:'q'::jsonb)#>>'{lines,1,net}'], ARRAY['179.72', '170.24'],
          'the lines'' net amounts');
SELECT is((:'q'::jsonb)->>'total', '367.46', 'total: 369.96 - 20.00 + 15.00 delivery + 2.50 payment fee');
SELECT is((SELECT count(*)::int FROM coupon.redemption WHERE code = 'LATO2020'), 0, 'a quote records nothing');

-- ---------------------------------------------------------------- percentage, cap, floor
SELECT coupon.create_coupon('percent', 10, code => 'TEN', once_per_customer => false) \g /dev/null
SELECT is(coupon.quote('TEN', NULL, :'basket')->>'discount', '37.00', '10% of 369.96 is 37.00 (rounded half up)');
SELECT is((SELECT sum((l->>'share')::numeric) FROM jsonb_array_elements(coupon.quote('TEN', NULL, :'basket')->'lines') l),
          37.00, 'the shares add up to it');
SELECT coupon.create_coupon('percent', 50, code => 'HALF30', max_discount => 30, once_per_customer => false) \g /dev/null
SELECT is(coupon.quote('HALF30', NULL, :'basket')->>'discount', '30.00', 'a percentage capped at 30.00');
SELECT coupon.create_coupon('fixed', 500, code => 'BIG500', once_per_customer => false) \g /dev/null
SELECT coupon.quote('BIG500', NULL, :'basket') AS big \gset
SELECT is((:'big'::jsonb)->>'discount', '369.95', 'a coupon worth more than the order leaves the floor of 0.01');
SELECT is((SELECT sum((l->>'net')::numeric) FROM jsonb_array_elements((:'big'::jsonb)->'lines') l), 0.01,
          'kept on the lines');

-- ---------------------------------------------------------------- free delivery
SELECT coupon.create_coupon('free_delivery', code => 'SHIPFREE', free_payment => true, once_per_customer => false) \g /dev/null
SELECT coupon.quote('SHIPFREE', NULL, :'basket') AS ship \gset
SELECT is(ARRAY[(:'ship'::jsonb)->>'delivery_discount', (:'ship'::jsonb)->>'payment_discount', (:'ship'::jsonb)->>'discount'],
          ARRAY['15.00', '2.50', '0.00'], 'free delivery with free payment waives both fees');
SELECT is((:'ship'::jsonb)->>'total', '369.96', 'and the customer pays the products only');

-- ---------------------------------------------------------------- what gets no share
SELECT coupon.quote('LATO2020', NULL, :'with_bundle') AS b \gset
SELECT is(ARRAY[(:'b'::jsonb)#>>'{lines,0,share}', (:'b'::jsonb)#>>'{lines,1,share}', (:'b'::jsonb)#>>'{lines,2,share}'],
          ARRAY['20.00', '0.00', '0.00'], 'bundles and negotiated prices get no share');
SELECT is(ARRAY[(:'b'::jsonb)#>>'{lines,1,excluded}', (:'b'::jsonb)#>>'{lines,2,excluded}'],
          ARRAY['bundle', 'negotiated price'], 'and say why');
SELECT coupon.create_coupon('fixed', 10, code => 'SWIM10', categories => ARRAY['swimwear'], once_per_customer => false) \g /dev/null
SELECT is(ARRAY[coupon.quote('SWIM10', NULL, :'basket')#>>'{lines,0,share}', coupon.quote('SWIM10', NULL, :'basket')#>>'{lines,1,share}'],
          ARRAY['10.00', '0.00'], 'a coupon for a category applies to that category only');
SELECT coupon.create_coupon('fixed', 10, code => 'MIN300', min_order => 300, once_per_customer => false) \g /dev/null
SELECT is(coupon.quote('MIN300', NULL, :'with_bundle')->>'message',
          'code MIN300 needs an order of at least 300.00 PLN',
          'lines without a share do not count toward the minimum order (189.99 eligible of 339.99)');
SELECT is(coupon.quote('MIN300', NULL, :'basket')->>'discount', '10.00', 'the basket reaches it');

-- ---------------------------------------------------------------- refusals in a quote
SELECT is(coupon.quote('NOSUCHCODE', NULL, :'basket'), '{"code": "NOSUCHCODE", "reason": "not_valid", "applies": false, "message": "code NOSUCHCODE is not valid", "detail": "Check the code for typing mistakes.", "sqlstate": "CP201"}'::jsonb,
          'an unknown code does not apply (CP201)');
SELECT coupon.create_coupon('fixed', 10, code => 'BLOCKED1', once_per_customer => false) \g /dev/null
SELECT is(coupon.set_coupon_status(ARRAY['BLOCKED1']::coupon.code[], 'blocked'), 1, 'serial block');
SELECT is(coupon.quote('BLOCKED1', NULL, :'basket')->>'sqlstate', 'CP202', 'a blocked code (CP202)');
SELECT coupon.create_coupon('fixed', 10, code => 'LATER', valid_from => current_date + 5, time_zone => 'Europe/Warsaw', once_per_customer => false) \g /dev/null
SELECT is(coupon.quote('LATER', NULL, :'basket')->>'message', format('code LATER is valid from %s', to_char(current_date + 5, 'YYYY-MM-DD')),
          'a code not valid yet (CP203)');
SELECT coupon.create_coupon('fixed', 10, code => 'GONE', valid_from => current_date - 30, valid_until => current_date - 2, once_per_customer => false) \g /dev/null
SELECT is(coupon.quote('GONE', NULL, :'basket')->>'message', format('code GONE expired after %s', to_char(current_date - 2, 'YYYY-MM-DD')),
          'an expired code (CP204)');
SELECT coupon.create_coupon('fixed', 10, code => 'MEMBERS', audience => 'logged_in', once_per_customer => false) \g /dev/null
SELECT is(coupon.quote('MEMBERS', NULL, :'basket')->>'sqlstate', 'CP208', 'a code for logged-in customers asks a guest to log in');
SELECT is(coupon.quote('MEMBERS', 'cust-1', :'basket')->>'applies', 'true', 'and applies to a customer');
SELECT is(coupon.quote('LATO2020', NULL, '{"lines": [{"price": 10, "quantity": 1}], "currency": "EUR"}')->>'sqlstate', 'CP216',
          'an order in another currency (CP216)');
SELECT is(coupon.quote('SWIM10', NULL, '{"lines": [{"price": 10, "category": "home"}]}')->>'sqlstate', 'CP209',
          'an order with nothing the code applies to (CP209)');
SELECT coupon.create_coupon('fixed', 10, code => 'VIPONLY', audience => 'selected_customers', once_per_customer => false) \g /dev/null
SELECT is(coupon.add_targets('VIPONLY', ARRAY['vip-1']), 1, 'a coupon for selected customers gets its audience');
SELECT is(coupon.quote('VIPONLY', 'cust-1', :'basket')->>'message', 'code VIPONLY is not valid',
          'for anybody else it is "not valid", like an unknown code');
SELECT is(coupon.quote('VIPONLY', 'vip-1', :'basket')->>'discount', '10.00', 'the selected customer gets it');

-- ---------------------------------------------------------------- bad orders
SELECT throws_ok($$SELECT coupon.quote('LATO2020', NULL, '{"lines": []}')$$, '22023', 'an order needs at least one line', 'an empty order');
SELECT throws_ok($$SELECT coupon.quote('LATO2020', NULL, '{"lines": [{"quantity": 1}]}')$$, '22023', 'line 1 of the order has no price', 'a line without a price');
SELECT throws_ok($$SELECT coupon.quote('LATO2020', NULL, '{"lines": [{"price": 9.999}]}')$$, '22023',
                 'the price of line 1 has more decimals than the minor unit of PLN allows', 'a price is never rounded silently');
SELECT throws_ok($$SELECT coupon.quote('LATO2020', NULL, '{"lines": [{"price": 9, "quantity": 0}]}')$$, '22023',
                 'line 1 of the order needs a whole quantity from 1 to 1000000, not 0', 'a quantity is at least 1');
SELECT throws_ok($$SELECT coupon.quote('LATO2020', NULL, '{"lines": [{"price": 9, "quantity": 1.5}]}')$$, '22023',
                 'line 1 of the order needs a whole quantity from 1 to 1000000, not 1.5', 'a quantity is whole');
SELECT throws_ok($$SELECT coupon.quote('NOSUCHCODE', NULL, '{"lines": [{"quantity": 1}]}')$$, '22023', 'line 1 of the order has no price',
                 'a bad order is refused the same way whether the code exists or not');
SELECT throws_ok($$SELECT coupon.quote('LATO2020', NULL, '[1, 2]')$$, '22023',
                 'an order is a JSON object with an array of "lines"', 'an order is an object');

-- ---------------------------------------------------------------- redemption
SELECT coupon.redeem('LATO2020', 'anna', 'ORD-1', :'basket') AS r \gset
SELECT ok((:'r'::jsonb)->>'redemption_id' IS NOT NULL AND (:'r'::jsonb)->>'discount' = '20.00', 'a redemption is recorded');
SELECT is((SELECT array_agg(share ORDER BY line_no) FROM coupon.redemption_line WHERE code = 'LATO2020'),
          ARRAY[10.27, 9.73], 'with each line''s stored share');
SELECT ok((SELECT first_used_at IS NOT NULL FROM coupon.shop_coupon WHERE code = 'LATO2020'), 'the coupon is marked used');
SELECT throws_ok($$SELECT coupon.redeem('LATO2020', 'anna', 'ORD-1', '{"lines": [{"price": 100}]}')$$, 'CP217',
                 'order ORD-1 already used code LATO2020', 'an order uses a code once');
SELECT is(coupon.line_discount('LATO2020', 'ORD-1', 2, 1) + (coupon.line_discount('LATO2020', 'ORD-1', 2, 3) - coupon.line_discount('LATO2020', 'ORD-1', 2, 1)),
          9.73, 'a refund of the towels one then two at a time gives back exactly their stored share');
SELECT is(coupon.line_discount('LATO2020', 'ORD-1', 2, 1), 3.24, 'one towel of three carries 3.24 of 9.73');

-- ---------------------------------------------------------------- once per customer
SELECT coupon.create_coupon('fixed', 5, code => 'ONCE', once_per_customer => true) \g /dev/null
SELECT lives_ok($$SELECT coupon.redeem('ONCE', 'bob', 'ORD-10', '{"lines": [{"price": 50}]}')$$, 'bob uses ONCE');
SELECT throws_ok($$SELECT coupon.redeem('ONCE', 'bob', 'ORD-11', '{"lines": [{"price": 50}]}')$$, 'CP206',
                 'you have already used code ONCE', 'not twice');
SELECT is(coupon.quote('ONCE', 'bob', '{"lines": [{"price": 50}]}')->>'sqlstate', 'CP206', 'and a quote says so');
SELECT throws_ok($$SELECT coupon.redeem('ONCE', NULL, 'ORD-12', '{"lines": [{"price": 50}]}')$$, 'CP208',
                 'log in to use code ONCE', 'a guest cannot use a once-per-customer code');
SELECT is(coupon.release('ORD-10'), 1, 'bob''s order is cancelled: the use is given back');
SELECT lives_ok($$SELECT coupon.redeem('ONCE', 'bob', 'ORD-13', '{"lines": [{"price": 50}]}')$$, 'so bob may use it again');

-- ---------------------------------------------------------------- usage limit and release
SELECT coupon.create_coupon('fixed', 5, code => 'TWICE', usage_limit => 2, once_per_customer => false) \g /dev/null
SELECT lives_ok($$SELECT coupon.redeem('TWICE', NULL, 'ORD-20', '{"lines": [{"price": 50}]}')$$, 'first use');
SELECT lives_ok($$SELECT coupon.redeem('TWICE', NULL, 'ORD-21', '{"lines": [{"price": 50}]}')$$, 'second use');
SELECT throws_ok($$SELECT coupon.redeem('TWICE', NULL, 'ORD-22', '{"lines": [{"price": 50}]}')$$, 'CP205',
                 'code TWICE has been used up', 'the third is refused');
SELECT is(coupon.release('ORD-21'), 1, 'release gives a use back');
SELECT is(coupon.release('ORD-21'), 0, 'exactly once: again it changes nothing');
SELECT is((SELECT used_count FROM coupon.shop_coupon WHERE code = 'TWICE'), 1, 'one use counted');
SELECT lives_ok($$SELECT coupon.redeem('TWICE', NULL, 'ORD-22', '{"lines": [{"price": 50}]}')$$, 'so the third order gets it');
SELECT throws_ok($$SELECT coupon.redeem('TWICE', NULL, 'ORD-21', '{"lines": [{"price": 50}]}')$$, 'CP217', NULL,
                 'a released order reference is not used again');

-- ---------------------------------------------------------------- holds
SELECT coupon.create_coupon('fixed', 5, code => 'ONEUSE', usage_limit => 1, once_per_customer => false) \g /dev/null
SELECT ok(coupon.hold('ONEUSE', NULL, 'CART-A', '{"lines": [{"price": 50}]}', 15) ? 'hold_expires_at', 'a checkout holds the code');
SELECT is((SELECT held_count FROM coupon.shop_coupon WHERE code = 'ONEUSE'), 1, 'the hold counts');
SELECT throws_ok($$SELECT coupon.redeem('ONEUSE', NULL, 'CART-B', '{"lines": [{"price": 50}]}')$$, 'CP205', NULL,
                 'another order cannot take the held use');
SELECT lives_ok($$SELECT coupon.hold('ONEUSE', NULL, 'CART-A', '{"lines": [{"price": 50}]}', 30)$$,
                'holding again for the same order only extends the hold');
SELECT lives_ok($$SELECT coupon.redeem('ONEUSE', NULL, 'CART-A', '{"lines": [{"price": 50}]}')$$,
                'the order with the hold redeems: it never counts against its own hold');
SELECT is((SELECT (used_count, held_count)::text FROM coupon.shop_coupon WHERE code = 'ONEUSE'), '(1,0)',
          'the hold became the use');
SELECT coupon.create_coupon('fixed', 5, code => 'SHORTHOLD', usage_limit => 1, once_per_customer => false) \g /dev/null
SELECT coupon.hold('SHORTHOLD', NULL, 'CART-C', '{"lines": [{"price": 50}]}', 1) \g /dev/null
UPDATE coupon.coupon_hold SET expires_at = now() - interval '1 second' WHERE code = 'SHORTHOLD';
SELECT lives_ok($$SELECT coupon.redeem('SHORTHOLD', NULL, 'CART-D', '{"lines": [{"price": 50}]}')$$,
                'an expired hold no longer counts');
SELECT is(coupon.release('CART-C'), 0, 'and there is nothing left to release');
SELECT coupon.create_coupon('fixed', 5, code => 'ONCEHOLD', once_per_customer => true) \g /dev/null
SELECT coupon.hold('ONCEHOLD', 'carl', 'CART-E', '{"lines": [{"price": 50}]}', 10) \g /dev/null
SELECT is(coupon.quote('ONCEHOLD', 'carl', '{"lines": [{"price": 50}]}', 'CART-E')->>'applies', 'true',
          'a quote for the order that holds the use is not refused by its own hold');
SELECT is(coupon.quote('ONCEHOLD', 'carl', '{"lines": [{"price": 50}]}')->>'sqlstate', 'CP206',
          'another order of the same customer is');
UPDATE coupon.coupon_hold SET expires_at = now() - interval '1 second' WHERE code = 'ONCEHOLD';
SELECT lives_ok($$SELECT coupon.redeem('ONCEHOLD', 'carl', 'CART-F', '{"lines": [{"price": 50}]}')$$,
                'once the hold expired, the customer''s new order gets the coupon');

-- ---------------------------------------------------------------- editability
SELECT throws_ok($$UPDATE coupon.shop_coupon SET value = 30 WHERE code = 'LATO2020'$$, 'CP210',
                 'coupon LATO2020 was already used: only its usage limit can change', 'a used coupon keeps its rules');
SELECT throws_ok($$SELECT coupon.change_code('LATO2020', 'LATO2021')$$, 'CP210', NULL, 'and its code');
SELECT lives_ok($$UPDATE coupon.shop_coupon SET status = 'blocked' WHERE code = 'LATO2020'$$, 'it can still be blocked');
SELECT is((coupon.set_usage_limit('LATO2020', 10)).usage_limit, 10, 'and given a usage limit');
SELECT throws_ok($$SELECT coupon.set_usage_limit('TWICE', 1)$$, 'CP211',
                 'the usage limit of coupon TWICE cannot be 1: it was used 2 times so far', 'never below its uses');
SELECT throws_ok($$DELETE FROM coupon.shop_coupon WHERE code = 'LATO2020'$$, 'CP212',
                 'coupon LATO2020 was already used and cannot be deleted', 'a used coupon is never deleted');
SELECT lives_ok($$UPDATE coupon.shop_coupon SET value = 25, min_order = 50 WHERE code = 'MIN300'$$,
                'a coupon neither sent nor used is fully editable');
SELECT is(coupon.change_code('MIN300', 'min-400')::text, 'MIN400', 'including its code');
SELECT lives_ok($$DELETE FROM coupon.shop_coupon WHERE code = 'MIN400'$$, 'and can be deleted');
SELECT coupon.create_coupon('fixed', 5, code => 'INCART') \g /dev/null
SELECT coupon.hold('INCART', NULL, 'CART-X', '{"lines": [{"price": 50}]}', 10) \g /dev/null
SELECT throws_ok($$DELETE FROM coupon.shop_coupon WHERE code = 'INCART'$$, 'CP212',
                 'coupon INCART has checkouts in progress and cannot be deleted', 'not while a checkout holds it');
SELECT throws_ok($$SELECT coupon.change_code('INCART', 'OUTCART')$$, 'CP212',
                 'coupon INCART has checkouts in progress and cannot be given another code', 'nor renamed');
SELECT throws_ok($$SELECT coupon.create_coupon('fixed', 9.999)$$, '22023', NULL, 'a value in whole minor units');
SELECT throws_ok($$SELECT coupon.create_coupon('free_delivery', 10)$$, '22023', NULL, 'a free-delivery coupon has no value');
SELECT throws_ok($$SELECT coupon.create_coupon('fixed', 10, max_discount => 5)$$, '22023', NULL, 'nor a fixed one a cap');
SELECT throws_ok($$SELECT coupon.create_coupon('percent', 12.345)$$, '22023', NULL, 'a percentage has at most two decimals');
SELECT coupon.create_coupon('fixed', 500, code => 'YEN500', minor_unit => 1, currency => 'JPY') \g /dev/null
SELECT is(coupon.quote('YEN500', NULL, '{"lines": [{"price": 300}]}')->>'discount', '299',
          'in a currency without a minor unit the floor is 1');
SELECT throws_ok($$SELECT coupon.add_targets('NOSUCHCODE', ARRAY['a'])$$, 'CP214', 'coupon NOSUCHCODE does not exist',
                 'targets need a coupon');
SELECT throws_ok($$SELECT coupon.line_discount('TWICE', 'ORD-21', 1, 1)$$, 'CP215',
                 'order ORD-21 gave coupon TWICE back: nothing of it is left to refund', 'a released order has nothing to refund');

-- ---------------------------------------------------------------- append-only redemptions
SELECT throws_ok($$UPDATE coupon.redemption SET discount = 0 WHERE code = 'LATO2020'$$, 'CP290', NULL,
                 'a redemption is never edited');
SELECT throws_ok($$DELETE FROM coupon.redemption_line WHERE code = 'LATO2020'$$, 'CP290', NULL,
                 'nor its lines deleted');

-- ---------------------------------------------------------------- sending and the newsletter
SELECT coupon.create_coupon('percent', 15, code => 'NEWS15', audience => 'new_subscribers') \g /dev/null
SELECT coupon.create_coupon('fixed', 7, code => 'SPRING7', once_per_customer => false) \g /dev/null
SELECT is(coupon.quote('NEWS15', 'zoe', :'basket')->>'sqlstate', 'CP201', 'a newsletter coupon is not valid before subscribing');
SELECT is(coupon.subscribe('zoe'), 1, 'subscribing sends the newsletter coupon at once');
SELECT is(coupon.quote('NEWS15', 'zoe', :'basket')->>'discount', '55.49', 'then it applies (15% of 369.96)');
SELECT is(coupon.subscribe('zoe'), 0, 'subscribing again sends nothing twice');
SELECT ok(coupon.send('SPRING7') > 0, 'sending to all subscribers');
SELECT ok((SELECT sent_at IS NOT NULL FROM coupon.shop_coupon WHERE code = 'SPRING7'), 'marks the coupon sent');
SELECT is((SELECT array_agg(external_id ORDER BY external_id) FROM coupon.sending_recipients(
             (SELECT max(sending_id) FROM coupon.sending WHERE code = 'SPRING7'))),
          (SELECT array_agg(c.external_id ORDER BY c.external_id) FROM coupon.subscriber b
           JOIN coupon.customer c USING (customer_id) WHERE b.unsubscribed_at IS NULL),
          'the mail service reads the recipients: every current subscriber, zoe among them');
SELECT throws_ok($$SELECT coupon.send('SPRING7', '{}')$$, '22023', NULL, 'a sending to nobody is refused');
SELECT throws_ok($$SELECT coupon.send('GONE')$$, 'CP204', NULL, 'an expired coupon is not sent');
SELECT throws_ok($$UPDATE coupon.shop_coupon SET value = 8 WHERE code = 'SPRING7'$$, 'CP210',
                 'coupon SPRING7 was already sent: only its usage limit can change', 'a sent coupon keeps its rules');

SELECT * FROM finish();
ROLLBACK;
