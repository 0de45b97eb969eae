-- Part 2: deal vouchers, the partner cabinet's story
\set QUIET on
\pset footer off
\set VERBOSITY default

-- a small helper for the demo: run a call and show what the cashier sees
CREATE FUNCTION pg_temp.attempt(what text, call text)
RETURNS TABLE (attempt text, outcome text, sqlstate text, message text)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  EXECUTE call INTO r;
  RETURN QUERY SELECT what, 'ok'::text, '00000'::text, r.message::text;
EXCEPTION WHEN OTHERS THEN
  RETURN QUERY SELECT what, 'refused'::text, SQLSTATE::text, SQLERRM::text;
END $$;

\echo
\echo '=================================================================='
\echo ' 4. A partner, an offer with three variants'
\echo '=================================================================='
\echo
\echo 'The platform (role coupon_admin) creates the partner, binds the'
\echo 'cashier''s login role to it, and puts the offer on the site.'
\echo 'Validity dates are calendar dates in the offer''s time zone.'
CREATE ROLE cashier_swim LOGIN;
CREATE ROLE cashier_other LOGIN;
SELECT coupon.create_partner('Swim & Sun') AS partner \gset
SELECT coupon.create_partner('Other shop') AS other \gset
SELECT coupon.bind_partner_role('cashier_swim', :partner) \g /dev/null
SELECT coupon.bind_partner_role('cashier_other', :other) \g /dev/null
SELECT coupon.create_offer(:partner, 'Swimsuits from the new collection',
                           sale_from => current_date - 14, sale_until => current_date + 30,
                           valid_from => current_date - 14, valid_until => current_date + 60,
                           time_zone => 'Europe/Moscow', request_no => '62508',
                           public_url => 'https://example.com/deal/62508') AS offer \gset
SELECT coupon.add_variant(:offer, '1 swimsuit', 500, 990, 5000) AS v1,
       coupon.add_variant(:offer, '2 swimsuits', 750, 1990, 9000) AS v2,
       coupon.add_variant(:offer, '3 swimsuits', 990, 2990, 13000) AS v3 \gset
SELECT title AS variant, coupon_price, pay_on_site, original_price, discount_percent || '%' AS discount
FROM coupon.variant WHERE offer_id = :offer ORDER BY variant_id;

\echo
\echo '=================================================================='
\echo ' 5. Ten vouchers sold'
\echo '=================================================================='
\echo
\echo 'Each has a global number, its ordinal in the offer, a 6-character code'
\echo 'and a 2-character secret printed on it.'
SELECT coupon.upsert_customer('anna@example.com', 'female', '1991-03-08') AS anna \gset
SELECT coupon.upsert_customer('ivan@example.com', 'male', '1985-11-20') AS ivan \gset
CREATE TEMP TABLE sold AS
  SELECT * FROM coupon.sell_many(:v2, 4, 'anna@example.com')
  UNION ALL SELECT * FROM coupon.sell_many(:v1, 3, 'ivan@example.com')
  UNION ALL SELECT * FROM coupon.sell_many(:v3, 3, 'ivan@example.com');
SELECT '#' || number AS voucher, ordinal, code, secret, coupon_price, pay_on_site,
       to_char(window_end AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI') || ' MSK' AS activation_closes
FROM sold ORDER BY ordinal;
SELECT code AS a, secret AS a_secret FROM sold WHERE ordinal = 1 \gset
SELECT code AS b, secret AS b_secret FROM sold WHERE ordinal = 2 \gset
SELECT code AS c FROM sold WHERE ordinal = 3 \gset
SELECT code AS d, secret AS d_secret FROM sold WHERE ordinal = 4 \gset

\echo
\echo '=================================================================='
\echo ' 6. At the counter (as the cashier''s role)'
\echo '=================================================================='
\echo
SET ROLE cashier_swim;
\echo 'The cashier types the code and sees the voucher, then the secret:'
SELECT message FROM coupon.voucher_status(:'a');
SELECT * FROM pg_temp.attempt('wrong secret', format('SELECT * FROM coupon.activate(%L, %L)', :'a', 'ZZ'));
SELECT * FROM pg_temp.attempt('right secret', format('SELECT * FROM coupon.activate(%L, %L)', :'a', :'a_secret'));
SELECT * FROM pg_temp.attempt('the same voucher again', format('SELECT * FROM coupon.activate(%L, %L)', :'a', :'a_secret'));
SELECT * FROM pg_temp.attempt('a code that does not exist', 'SELECT * FROM coupon.activate(''X24ET8'', ''AB'')');
RESET ROLE;
\echo
\echo 'The wrong secret was counted although its call failed (an independent'
\echo 'transaction records it); five lock the voucher:'
SELECT code, failures, locked_at IS NOT NULL AS locked FROM coupon.secret_failure WHERE code = :'a';

\echo
\echo 'Another partner''s cashier gets the same answer for this partner''s'
\echo 'voucher as for a code that does not exist, even with the right secret:'
SET ROLE cashier_other;
SELECT * FROM pg_temp.attempt('other partner, right secret', format('SELECT * FROM coupon.activate(%L, %L)', :'b', :'b_secret'));
RESET ROLE;

\echo
\echo 'The usual activation is written directly from C (about 0.9 of the rate'
\echo 'of a bare UPDATE + INSERT); with coupon.direct_writes off, as on a Citus'
\echo 'cluster, it goes through one SQL statement and answers the same. A'
\echo 'read-only transaction (a standby) is refused before anything is read:'
SET ROLE cashier_swim;
SELECT * FROM pg_temp.attempt('read-only transaction',
  format($$SELECT set_config('transaction_read_only', 'on', true), (coupon.activate(%L, %L)).message$$, :'d', :'d_secret'));
SET coupon.direct_writes = off;
SELECT * FROM pg_temp.attempt('right secret, through SQL', format('SELECT * FROM coupon.activate(%L, %L)', :'d', :'d_secret'));
RESET coupon.direct_writes;
RESET ROLE;

\echo
\echo '=================================================================='
\echo ' 7. A refund, then the customer comes anyway'
\echo '=================================================================='
\echo
SELECT * FROM pg_temp.attempt('refund', format('SELECT * FROM coupon.refund(%L)', :'b'));
SELECT * FROM pg_temp.attempt('refund again', format('SELECT * FROM coupon.refund(%L)', :'b'));
SET ROLE cashier_swim;
SELECT * FROM pg_temp.attempt('activate the refunded voucher', format('SELECT * FROM coupon.activate(%L, %L)', :'b', :'b_secret'));
RESET ROLE;
SELECT * FROM pg_temp.attempt('refund a used voucher', format('SELECT * FROM coupon.refund(%L)', :'a'));

\echo
\echo '=================================================================='
\echo ' 8. The window closes: validity plus three days, Moscow time'
\echo '=================================================================='
\echo
\echo 'Two more vouchers: one valid until 3 days ago (today is its last day of'
\echo 'grace), one valid until 4 days ago (closed at midnight, Moscow time).'
SELECT code AS g, secret AS g_secret FROM coupon.sell(:v1, 'anna@example.com', current_date - 30,
       (now() AT TIME ZONE 'Europe/Moscow')::date - 3) \gset
SELECT code AS late, secret AS late_secret FROM coupon.sell(:v1, 'ivan@example.com', current_date - 30,
       (now() AT TIME ZONE 'Europe/Moscow')::date - 4) \gset
SET ROLE cashier_swim;
SELECT * FROM pg_temp.attempt('last day of grace', format('SELECT * FROM coupon.activate(%L, %L)', :'g', :'g_secret'));
SELECT * FROM pg_temp.attempt('one day later', format('SELECT * FROM coupon.activate(%L, %L)', :'late', :'late_secret'));
RESET ROLE;
\echo
\echo 'Expiry marks closed vouchers as no longer active, in batches:'
CALL coupon.expire_due();
\echo 'and pg_cron runs it every five minutes:'
SELECT coupon.schedule_expiry('*/5 * * * *') AS cron_job_id;
SELECT jobname, schedule, command FROM cron.job WHERE jobname = 'coupon-expiry';

\echo
\echo '=================================================================='
\echo ' 9. What the partner sees: counters and the voucher list'
\echo '=================================================================='
\echo
SET ROLE cashier_swim;
SELECT offer_id, title, request_no, sold, activated, returned, expired, not_used FROM coupon.offer_stats;
SELECT title AS variant, discount_percent || '%' AS discount, coupon_price, sold, returned, activated
FROM coupon.variant_stats ORDER BY variant_id;
\echo 'The list to download as CSV, without secrets (in psql: \\copy (SELECT ...) TO ''vouchers.csv'' CSV HEADER):'
COPY (SELECT number, ordinal, variant, coupon_price, pay_on_site, code, state_text AS state
      FROM coupon.voucher_list(:offer)) TO STDOUT WITH (FORMAT csv, HEADER);
\echo
\echo 'Secrets stay out of reach of partners:'
SELECT * FROM pg_temp.attempt('partner reads secrets', 'SELECT secret AS message FROM coupon.voucher LIMIT 1');
RESET ROLE;

\echo
\echo 'The audit log of the first voucher (append-only):'
SELECT to_char(at AT TIME ZONE 'Europe/Moscow', 'HH24:MI:SS') AS msk, action, from_state, to_state, role_name
FROM coupon.voucher_event WHERE code = :'a' ORDER BY event_id;
SELECT * FROM pg_temp.attempt('change the log', format('UPDATE coupon.voucher_event SET detail = %L WHERE code = %L RETURNING detail AS message', 'x', :'a'));

\echo
\echo '=================================================================='
\echo ' 10. Reviews'
\echo '=================================================================='
\echo
SELECT coupon.add_review(:offer, 'anna@example.com', 5, 'Lovely swimsuits, friendly staff') AS r1 \gset
SELECT coupon.add_review(:offer, 'ivan@example.com', 1, 'I never got there but it is bad') AS r2 \gset
SET ROLE cashier_swim;
SELECT coupon.reply_review(:r1, 'Thank you, see you next summer!') \g /dev/null
SELECT coupon.complain_review(:r2, 'The author never visited us') \g /dev/null
RESET ROLE;
SELECT coupon.resolve_complaint(:r2, block => true) \g /dev/null
SELECT rating, body, status, reply, complaint FROM coupon.review WHERE offer_id = :offer ORDER BY review_id;
