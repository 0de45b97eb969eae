-- Roles and security: what an administrator, a partner and an analyst can
-- and cannot do; partner isolation; throttling; pinned search_path.
BEGIN;
SELECT plan(42);
\set QUIET on

CREATE ROLE tap_admin LOGIN IN ROLE coupon_admin;
CREATE ROLE tap_partner_a LOGIN;
CREATE ROLE tap_partner_b LOGIN;
CREATE ROLE tap_unbound LOGIN IN ROLE coupon_partner;
CREATE ROLE tap_analyst LOGIN IN ROLE coupon_analyst;

-- the administrator sets everything up
SET ROLE tap_admin;
SELECT coupon.create_partner('Partner A') AS pa \gset
SELECT coupon.create_partner('Partner B') AS pb \gset
SELECT coupon.bind_partner_role('tap_partner_a', :pa);
SELECT coupon.bind_partner_role('tap_partner_b', :pb);
SELECT coupon.create_offer(:pa, 'Offer of A', current_date - 1, current_date + 10, current_date - 1,
                           current_date + 10, 'Europe/Warsaw') AS oa \gset
SELECT coupon.create_offer(:pb, 'Offer of B', current_date - 1, current_date + 10, current_date - 1,
                           current_date + 10, 'Europe/Warsaw') AS ob \gset
SELECT coupon.add_variant(:oa, 'A1', 10, 5, 50) AS va \gset
SELECT coupon.add_variant(:ob, 'B1', 10, 5, 50) AS vb \gset
CREATE TEMP TABLE a_sold AS SELECT * FROM coupon.sell_many(:va, 4);
CREATE TEMP TABLE b_sold AS SELECT * FROM coupon.sell_many(:vb, 3);
GRANT SELECT ON a_sold, b_sold TO PUBLIC;
SELECT code AS a1, secret AS a1_secret, number AS a1_no FROM a_sold WHERE ordinal = 1 \gset
SELECT code AS a2, secret AS a2_secret FROM a_sold WHERE ordinal = 2 \gset
SELECT code AS a3, secret AS a3_secret FROM a_sold WHERE ordinal = 3 \gset
SELECT code AS b1, secret AS b1_secret FROM b_sold WHERE ordinal = 1 \gset
SELECT coupon.add_review(:oa, 'c-1', 4, 'Nice') AS ra \gset
SELECT coupon.add_review(:ob, 'c-2', 1, 'Bad') AS rb \gset
SELECT is((SELECT count(*)::int FROM coupon.voucher WHERE offer_id IN (:oa, :ob)), 7,
          'an administrator reads every voucher');
SELECT is((SELECT count(*)::int FROM coupon.voucher WHERE offer_id = :oa AND secret IS NOT NULL), 4,
          'an administrator may read secrets (to reprint a voucher)');
RESET ROLE;

-- ---------------------------------------------------------------- partner A
SET ROLE tap_partner_a;
SELECT is(coupon.current_partner(), :pa::bigint, 'partner A acts for partner A');
SELECT is((SELECT count(*)::int FROM coupon.offer WHERE offer_id IN (:oa, :ob)), 1, 'A sees only its own offer');
SELECT is((SELECT count(*)::int FROM coupon.voucher WHERE offer_id IN (:oa, :ob)), 4, 'A sees only its own vouchers');
SELECT is((SELECT count(*)::int FROM coupon.variant WHERE variant_id IN (:va, :vb)), 1, 'and its own variants');
SELECT is((SELECT count(*)::int FROM coupon.review WHERE review_id IN (:ra, :rb)), 1, 'and reviews of its offers');
SELECT throws_ok('SELECT secret FROM coupon.voucher LIMIT 1', '42501', NULL, 'A cannot read secrets');
SELECT throws_ok('SELECT * FROM coupon.voucher LIMIT 1', '42501', NULL, 'not even with SELECT *');
SELECT throws_ok('SELECT * FROM coupon.secret_failure', '42501', NULL, 'nor the failure counts');
SELECT is((SELECT count(*)::int FROM coupon.offer_stats WHERE offer_id IN (:oa, :ob)), 1,
          'A''s statistics show its own offer only');
SELECT is((SELECT message FROM coupon.activate(:'a1', :'a1_secret')),
          format('the status of voucher #%s was changed: used', :a1_no), 'A activates its own voucher');
SELECT is((SELECT used_by::text FROM coupon.voucher WHERE code = :'a1'), 'tap_partner_a',
          'the voucher records who activated it');
RESET ROLE;
SELECT is((SELECT (role_name, partner_id)::text FROM coupon.voucher_event WHERE code = :'a1' AND action = 'activate'),
          format('(tap_partner_a,%s)', :pa), 'the log records the role and the partner');
SET ROLE tap_partner_a;
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'b1', :'b1_secret'), 'CP101',
                 format('voucher %s not found', :'b1'),
                 'B''s voucher, even with its right secret, is "not found" for A');
SELECT throws_ok(format('SELECT coupon.voucher_status(%L)', :'b1'), 'CP101',
                 format('voucher %s not found', :'b1'), 'and A cannot look it up');
SELECT throws_ok('SELECT coupon.activate(''QQQQQQ'', ''AB'')', 'CP101', 'voucher QQQQQQ not found',
                 'the same answer as for a code that does not exist');
SELECT is((SELECT count(*)::int FROM a_sold), 4, 'helper table readable');
SELECT throws_ok(format('SELECT coupon.sell(%s)', :va), '42501', NULL, 'a partner cannot sell');
SELECT throws_ok(format('SELECT coupon.refund(%L)', :'a2'), '42501', NULL, 'nor refund');
SELECT throws_ok(format('SELECT coupon.block(%L)', :'a2'), '42501', NULL, 'nor block');
SELECT throws_ok(format('SELECT coupon.unlock(%L)', :'a2'), '42501', NULL, 'nor unlock');
SELECT throws_ok('UPDATE coupon.voucher SET state = ''used''', '42501', NULL, 'nor write vouchers directly');
SELECT lives_ok(format('SELECT coupon.reply_review(%s, %L)', :ra, 'Thank you!'), 'A replies to a review of its offer');
SELECT throws_ok(format('SELECT coupon.reply_review(%s, %L)', :rb, 'Not mine'), 'CP130',
                 format('review %s is not about one of your offers', :rb), 'but not to B''s');
SELECT lives_ok(format('SELECT coupon.complain_review(%s, %L)', :ra, 'Not a customer of ours'),
                'A complains about a review, with a reason');
SELECT throws_ok(format('SELECT coupon.complain_review(%s, %L)', :ra, 'again'), 'CP131',
                 format('review %s cannot be complained about: a complaint is already open', :ra), 'once');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM coupon.partner_failure WHERE partner_id = :pa AND reason = 'not_found'), 3,
          'A''s three probes are counted as its failures');

-- throttling: past the limit a partner is paused, whatever it tries
SET coupon.partner_failures_per_hour = 4;
SET ROLE tap_partner_a;
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'a2', 'ZZ'), 'CP102', NULL, 'a fourth failure');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'a3', :'a3_secret'), 'CP109',
                 'too many failed attempts from your account in the last hour',
                 'then even a right secret is paused');
RESET ROLE;
RESET coupon.partner_failures_per_hour;

-- ---------------------------------------------------------------- partner B and an unbound role
SET ROLE tap_partner_b;
SELECT is((SELECT count(*)::int FROM coupon.voucher WHERE offer_id IN (:oa, :ob)), 3, 'B sees its own 3 vouchers');
RESET ROLE;
SET ROLE tap_unbound;
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'a2', :'a2_secret'), '42501',
                 'role "tap_unbound" does not act for a partner', 'a role bound to no partner cannot activate');
SELECT is((SELECT count(*)::int FROM coupon.voucher), 0, 'and sees no voucher');
RESET ROLE;

-- ---------------------------------------------------------------- the administrator decides
SET ROLE tap_admin;
SELECT lives_ok(format('SELECT coupon.resolve_complaint(%s, true)', :ra), 'an administrator blocks the review');
SELECT is((SELECT status FROM coupon.review WHERE review_id = :ra), 'blocked', 'it is blocked');
RESET ROLE;

-- ---------------------------------------------------------------- analyst
SET ROLE tap_analyst;
SELECT is((SELECT count(*)::int FROM coupon.offer_stats WHERE offer_id IN (:oa, :ob)), 2,
          'an analyst reads the statistics of every offer');
SELECT throws_ok('SELECT count(*) FROM coupon.voucher', '42501', NULL, 'but not the vouchers');
SELECT throws_ok('SELECT coupon.activate(''QQQQQQ'', ''AB'')', '42501', NULL, 'and activates nothing');
RESET ROLE;

-- ---------------------------------------------------------------- no secret anywhere readable
SELECT is_empty($$
  SELECT c.relname || '.' || a.attname
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
  WHERE c.relnamespace = 'coupon'::regnamespace AND a.attname ~ 'secret' AND a.attnum > 0
    AND (has_column_privilege('coupon_partner', c.oid, a.attnum, 'SELECT')
         OR has_column_privilege('coupon_analyst', c.oid, a.attnum, 'SELECT'))
$$, 'no column holding a secret is readable by partners or analysts');

-- ---------------------------------------------------------------- search_path
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
  WHERE p.pronamespace = 'coupon'::regnamespace AND p.prosecdef
    AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
$$, 'every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp');

-- objects planted in another schema do not change what activation does
CREATE SCHEMA tap_evil;
CREATE FUNCTION tap_evil.always(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR tap_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tap_evil.always);
CREATE FUNCTION tap_evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz $$;
CREATE TABLE tap_evil.voucher (code text, secret text);
GRANT USAGE ON SCHEMA tap_evil TO PUBLIC;
SET search_path = tap_evil, public, pg_catalog;
SET ROLE tap_partner_b;
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'a2', :'a2_secret'), 'CP101', NULL,
                 'with a planted = operator first on the search_path, A''s voucher is still not B''s');
RESET ROLE;
SET ROLE tap_partner_a;
SELECT is((SELECT state::text FROM coupon.activate(:'a2', :'a2_secret')), 'used',
          'and with a planted now() of the year 2000, A''s voucher is activated now, not refused as not yet valid');
RESET ROLE;
RESET search_path;

SELECT * FROM finish();
ROLLBACK;
