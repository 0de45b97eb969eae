-- Deal vouchers: sale, activation, refusals, refund, block, lockout,
-- expiry, audit log, counters, export, reviews.  Run as a superuser
-- (an administrator); roles are tested in 11_voucher_roles.sql.
BEGIN;
SELECT plan(76);
\set QUIET on

SELECT coupon.create_partner('Swim & Sun') AS partner \gset
SELECT coupon.create_offer(:partner, 'Swimsuits', current_date - 30, current_date + 30,
                           current_date - 1, current_date + 30, 'Europe/Moscow',
                           request_no => '62508') AS offer \gset
SELECT coupon.add_variant(:offer, '1 swimsuit', 500, 990, 5000) AS v1 \gset
SELECT coupon.add_variant(:offer, '2 swimsuits', 750, 1990, 9000) AS v2 \gset
SELECT coupon.add_variant(:offer, '3 swimsuits', 990, 2990, 13000) AS v3 \gset

-- ---------------------------------------------------------------- variants
SELECT is((SELECT discount_percent FROM coupon.variant WHERE variant_id = :v2), 70,
          'the discount is derived: 750 + 1990 instead of 9000 is 70%');
SELECT throws_ok(format('SELECT coupon.add_variant(%s, %L, 5000, 5000, 9000)', :offer, 'too dear'),
                 '22023', 'the variant costs 5000 + 5000 = 10000, more than its original price 9000',
                 'a variant cannot cost more than its original price');

-- ---------------------------------------------------------------- sale
CREATE TEMP TABLE sold AS
  SELECT * FROM coupon.sell_many(:v2, 5, 'customer-1')
  UNION ALL SELECT * FROM coupon.sell_many(:v1, 3, 'customer-2')
  UNION ALL SELECT * FROM coupon.sell_many(:v3, 2);
SELECT is((SELECT count(*)::int FROM sold), 10, 'ten vouchers sold');
SELECT is((SELECT array_agg(ordinal ORDER BY ordinal) FROM sold), ARRAY[1,2,3,4,5,6,7,8,9,10],
          'ordinals 1 to 10 within the offer');
SELECT is((SELECT count(DISTINCT number)::int FROM sold), 10, 'ten distinct global numbers');
SELECT ok((SELECT bool_and(number = (SELECT min(number) FROM sold) + ordinal - 1) FROM sold),
          'numbers follow the sale order');
SELECT ok((SELECT bool_and(code::text ~ '^[0-9A-HJKMNP-TV-Z]{6}$') FROM sold),
          'codes have 6 Crockford characters by default');
SELECT ok((SELECT bool_and(secret ~ '^[0-9A-HJKMNP-TV-Z]{2}$') FROM sold), 'secrets have 2 characters');
SELECT is((SELECT count(DISTINCT code)::int FROM sold), 10, 'codes are distinct');
SELECT is((SELECT (coupon_price, pay_on_site)::text FROM sold WHERE variant_id = :v2 LIMIT 1),
          '(750.00,1990.00)', 'a voucher carries the coupon price and the amount to pay on site');
SELECT is((SELECT window_end FROM sold LIMIT 1),
          ((current_date + 30 + 1 + 3)::timestamp AT TIME ZONE 'Europe/Moscow'),
          'activation closes at midnight after valid_until plus 3 days, Moscow time');
SELECT is((SELECT count(*)::int FROM coupon.customer WHERE external_id IN ('customer-1', 'customer-2')), 2,
          'customers are created by their application id');
SELECT is((SELECT count(*)::int FROM coupon.voucher v JOIN coupon.customer c USING (customer_id)
           WHERE c.external_id = 'customer-1'), 5, 'the vouchers belong to their customer');
SELECT is((SELECT (sold, activated, returned, not_used)::text FROM coupon.offer_stats WHERE offer_id = :offer),
          '(10,0,0,10)', 'counters: 10 sold, none activated or returned');

-- refused sales
SELECT throws_ok('SELECT coupon.sell(-1)', 'CP120', 'variant -1 does not exist', 'selling an unknown variant is refused');
SELECT coupon.create_offer(:partner, 'Past', current_date - 60, current_date - 31, current_date - 60,
                           current_date - 31) AS past_offer \gset
SELECT coupon.add_variant(:past_offer, 'old', 10, 0, 20) AS past_variant \gset
SELECT throws_ok(format('SELECT coupon.sell(%s)', :past_variant), 'CP121',
                 format('offer %s is not on sale', :past_offer), 'a sale after the sale period is refused');
SELECT coupon.set_offer_state(:offer, 'closed');
SELECT throws_ok(format('SELECT coupon.sell(%s)', :v1), 'CP121', format('offer %s is not on sale', :offer),
                 'a closed offer sells nothing');
SELECT coupon.set_offer_state(:offer, 'on_site');
SELECT throws_ok(format('SELECT coupon.sell(%s, NULL, current_date + 5, current_date)', :v1), '22023',
                 'a voucher cannot be valid until a date before it is valid from',
                 'validity must not end before it starts');
SELECT throws_ok(format('SELECT coupon.sell_many(%s, 0)', :v1), '22023',
                 'number of vouchers must be at least 1, not 0', 'selling zero vouchers is refused');

-- pick vouchers for the stories below
SELECT code AS a, secret AS a_secret, number AS a_no FROM sold WHERE ordinal = 1 \gset
SELECT code AS b, secret AS b_secret, number AS b_no FROM sold WHERE ordinal = 2 \gset
SELECT code AS c, secret AS c_secret, number AS c_no FROM sold WHERE ordinal = 3 \gset
SELECT code AS d, secret AS d_secret, number AS d_no FROM sold WHERE ordinal = 4 \gset
SELECT code AS e, secret AS e_secret, number AS e_no FROM sold WHERE ordinal = 5 \gset

-- ---------------------------------------------------------------- lookup
SELECT is((SELECT (state, changed)::text FROM coupon.voucher_status(:'a')), '(sold,f)',
          'looking a voucher up shows it unused and changes nothing');
SELECT is((SELECT message FROM coupon.voucher_status(lower(:'a'))),
          format('voucher #%s is not used: ask for the secret', :a_no), 'the code may be typed in lower case');

-- ---------------------------------------------------------------- activation
SELECT is((SELECT message FROM coupon.activate(:'a', :'a_secret')),
          format('the status of voucher #%s was changed: used', :a_no),
          'the partner is told that the status of the voucher was changed');
SELECT is((SELECT state::text FROM coupon.voucher WHERE code = :'a'), 'used', 'the voucher is used');
SELECT ok((SELECT used_at = now() FROM coupon.voucher WHERE code = :'a'), 'with the time of activation');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'a', :'a_secret'), 'CP103',
                 format('voucher #%s was already used on %s Europe/Moscow', :a_no,
                        to_char(now() AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI')),
                 'a second activation says when the voucher was used (Moscow time)');
SELECT is((SELECT message FROM coupon.activate(:'b', lower(translate(:'b_secret', '01', 'OI')))),
          format('the status of voucher #%s was changed: used', :b_no),
          'secrets are read like codes: lower case, O for 0, I for 1');
SELECT throws_ok('SELECT coupon.activate(''ZZZZZZ'', ''AB'')', 'CP101', 'voucher ZZZZZZ not found',
                 'an unknown code is not found: possibly counterfeit');
SELECT throws_ok('SELECT coupon.activate(''X24E!8'', ''AB'')', '22P02', NULL,
                 'a code with a character that cannot be typed is refused as input');

-- ---------------------------------------------------------------- wrong secrets
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'c', 'ZZ'), 'CP102',
                 format('wrong secret for voucher #%s', :c_no), 'a wrong secret is refused');
SELECT is((SELECT failures FROM coupon.secret_failure WHERE code = :'c'), 1,
          'the wrong secret is counted although the call failed');
SELECT is((SELECT count(*)::int FROM coupon.partner_failure WHERE code = :'c' AND reason = 'wrong_secret'), 1,
          'and logged for throttling');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'c', 'ZZ'), 'CP102', NULL, 'second wrong secret');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'c', 'ZZ'), 'CP102', NULL, 'third wrong secret');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'c', 'ZZ'), 'CP102', NULL, 'fourth wrong secret');
SELECT throws_like(format('SELECT coupon.activate(%L, %L)', :'c', 'ZZ'), '%wrong secret%',
                   'the fifth wrong secret is refused too');
SELECT ok((SELECT locked_at IS NOT NULL AND failures = 5 FROM coupon.secret_failure WHERE code = :'c'),
          'after 5 wrong secrets the voucher is locked');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'c', :'c_secret'), 'CP108',
                 format('voucher #%s is locked after too many wrong secrets', :c_no),
                 'a locked voucher refuses even the right secret');
SELECT is((SELECT count(*)::int FROM coupon.voucher_event WHERE code = :'c' AND action = 'lock'), 1,
          'the lock is in the log');
SELECT is((SELECT changed FROM coupon.unlock(:'c')), true, 'an administrator unlocks it');
SELECT is((SELECT message FROM coupon.activate(:'c', :'c_secret')),
          format('the status of voucher #%s was changed: used', :c_no), 'then the right secret works');

-- the count survives a rollback of the failing transaction
SAVEPOINT before_failure;
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'d', 'ZZ'), 'CP102', NULL, 'wrong secret inside a savepoint');
ROLLBACK TO SAVEPOINT before_failure;
SELECT is((SELECT failures FROM coupon.secret_failure WHERE code = :'d'), 1,
          'the count stays after the savepoint is rolled back');

-- ---------------------------------------------------------------- refund
SELECT is((SELECT (state, changed, message)::text FROM coupon.refund(:'d')),
          format('(returned,t,"the status of voucher #%s was changed: returned")', :d_no), 'a refund');
SELECT is((SELECT (changed, message)::text FROM coupon.refund(:'d')),
          format('(f,"voucher #%s was already refunded on %s Europe/Moscow; nothing changed")', :d_no,
                 to_char(now() AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI')),
          'refunding twice changes nothing and says when');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'d', :'d_secret'), 'CP104',
                 format('voucher #%s was refunded to the customer on %s Europe/Moscow', :d_no,
                        to_char(now() AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI')),
                 'a refunded voucher is not served');
SELECT throws_ok(format('SELECT coupon.refund(%L)', :'a'), 'CP110',
                 format('voucher #%s was used on %s Europe/Moscow and cannot be refunded', :a_no,
                        to_char(now() AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI')),
                 'a used voucher cannot be refunded');

-- ---------------------------------------------------------------- block
SELECT is((SELECT state::text FROM coupon.block(:'e', 'fraud check')), 'blocked', 'an administrator blocks a voucher');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'e', :'e_secret'), 'CP107',
                 format('voucher #%s is blocked', :e_no), 'a blocked voucher is not served');
SELECT is((SELECT changed FROM coupon.block(:'e')), false, 'blocking twice changes nothing');
SELECT is((SELECT state::text FROM coupon.unblock(:'e')), 'sold', 'unblocking makes it usable');
SELECT throws_ok(format('SELECT coupon.block(%L)', :'a'), 'CP111',
                 format('voucher #%s is used and cannot be blocked', :a_no), 'a used voucher cannot be blocked');
SELECT is((SELECT detail FROM coupon.voucher_event WHERE code = :'e' AND action = 'block'), 'fraud check',
          'the reason is in the log');

-- ---------------------------------------------------------------- time window
SELECT code AS early, secret AS early_secret, number AS early_no
  FROM coupon.sell(:v1, NULL, current_date + 10, current_date + 20) \gset
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'early', :'early_secret'), 'CP105',
                 format('voucher #%s is not valid yet', :early_no), 'before its validity a voucher is not valid yet');
-- valid until 3 days ago (Moscow): the midnight after it plus 3 days is
-- the coming midnight: today is the last day of grace
SELECT code AS grace, secret AS grace_secret
  FROM coupon.sell(:v1, NULL, current_date - 20, ((now() AT TIME ZONE 'Europe/Moscow')::date - 3)) \gset
SELECT is((SELECT state::text FROM coupon.activate(:'grace', :'grace_secret')), 'used',
          'within the 3 extra days a voucher can still be activated');
-- valid until 4 days ago: the window closed last midnight, Moscow time
SELECT code AS late, secret AS late_secret, number AS late_no
  FROM coupon.sell(:v1, NULL, current_date - 20, ((now() AT TIME ZONE 'Europe/Moscow')::date - 4)) \gset
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'late', :'late_secret'), 'CP106',
                 format('voucher #%s is no longer active', :late_no), 'after the 3 extra days activation is closed');

-- ---------------------------------------------------------------- expiry
SELECT ok((SELECT expired FROM coupon.expire_batch(1000)) >= 1, 'expire_batch marks the closed voucher expired');
SELECT is((SELECT state::text FROM coupon.voucher WHERE code = :'late'), 'expired', 'it is expired now');
SELECT is((SELECT state::text FROM coupon.voucher WHERE code = :'early'), 'sold', 'the early one is untouched');
SELECT is((SELECT message FROM coupon.voucher_status(:'late')),
          format('voucher #%s is no longer active (activation closed on %s 00:00 Europe/Moscow)', :late_no,
                 (now() AT TIME ZONE 'Europe/Moscow')::date),
          'its status says when activation closed');
SELECT is((SELECT (closed, expired)::text FROM coupon.expire_batch(1000)), '(0,0)', 'a second run finds nothing');
SELECT is((SELECT state::text FROM coupon.refund(:'late')), 'returned', 'an expired voucher can still be refunded');
SELECT throws_ok('SELECT coupon.expire_batch(0)', '22023', 'batch size must be at least 1, not 0',
                 'a batch needs a size');

-- ---------------------------------------------------------------- counters
SELECT is((SELECT (sold, activated, returned, expired, blocked, not_used)::text FROM coupon.offer_stats
           WHERE offer_id = :offer), '(13,4,2,0,0,7)',
          'offer counters: 13 sold, 4 activated, 2 returned, 7 not used');
SELECT results_eq(
  format($$SELECT variant_id, sold, activated, returned, expired, blocked FROM coupon.variant_stats
           WHERE offer_id = %s ORDER BY variant_id$$, :offer),
  format($$SELECT variant_id, count(*), count(*) FILTER (WHERE state = 'used'),
                  count(*) FILTER (WHERE state = 'returned'), count(*) FILTER (WHERE state = 'expired'),
                  count(*) FILTER (WHERE state = 'blocked')
           FROM coupon.voucher WHERE offer_id = %s GROUP BY variant_id ORDER BY variant_id$$, :offer),
  'variant counters equal a recount of the vouchers');
SELECT is((SELECT count(DISTINCT slot)::int > 1 FROM coupon.voucher_counter WHERE variant_id = :v2), true,
          'a variant''s counts are spread over several slots');

-- ---------------------------------------------------------------- audit log
SELECT is((SELECT array_agg(action ORDER BY event_id) FROM coupon.voucher_event WHERE code = :'a'),
          ARRAY['sell', 'activate'], 'the log has the sale and the activation');
SELECT is((SELECT (from_state, to_state, role_name)::text FROM coupon.voucher_event
           WHERE code = :'a' AND action = 'activate'), format('(sold,used,%s)', current_user),
          'with from, to and who');
SELECT throws_ok(format('UPDATE coupon.voucher_event SET detail = %L WHERE code = %L', 'x', :'a'), 'CP190',
                 'the voucher log is append-only: UPDATE is not allowed', 'the log refuses UPDATE');
SELECT throws_ok(format('DELETE FROM coupon.voucher_event WHERE code = %L', :'a'), 'CP190',
                 'the voucher log is append-only: DELETE is not allowed', 'the log refuses DELETE');
SELECT throws_ok('TRUNCATE coupon.voucher_event', 'CP190',
                 'the voucher log is append-only: TRUNCATE is not allowed', 'the log refuses TRUNCATE');

-- ---------------------------------------------------------------- export
SELECT is((SELECT count(*)::int FROM coupon.voucher_list(:offer)), 13, 'the voucher list has every voucher');
SELECT is((SELECT state_text FROM coupon.voucher_list(:offer) WHERE code = :'a'),
          'used ' || to_char(now() AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI') || ' Europe/Moscow',
          'with the state and its date as the partner reads it');
SELECT is((SELECT count(*)::int FROM pg_proc p, unnest(p.proargnames) a
           WHERE p.oid = 'coupon.voucher_list(bigint)'::regprocedure AND a ILIKE '%secret%'), 0,
          'the list has no secret column');

-- ---------------------------------------------------------------- reviews
SELECT coupon.add_review(:offer, 'customer-1', 2, 'The swimsuit was too small') AS review \gset
SELECT is((SELECT status FROM coupon.review WHERE review_id = :review), 'published', 'a review is published');
SELECT throws_ok(format('SELECT coupon.add_review(%s, %L, 9, %L)', :offer, 'customer-1', 'wow'), '23514',
                 NULL, 'ratings are 1 to 5');
SELECT throws_ok(format('SELECT coupon.resolve_complaint(%s, true)', :review), 'CP131',
                 format('review %s has no open complaint', :review), 'nothing to resolve before a complaint');

SELECT * FROM finish();
ROLLBACK;
