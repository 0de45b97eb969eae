-- Activation written directly from C (coupon.direct_writes, on by default)
-- and through SQL (off) give the same rows; the direct way steps aside for
-- SQL whenever a table has something SQL must run (a trigger), in a
-- read-only transaction, and its cached catalog facts follow the tables.
-- Files 10 to 12 run a second time with the setting off (scripts/test.sh).
BEGIN;
SELECT plan(26);
\set QUIET on

SELECT coupon.create_partner('Direct Ltd') AS partner \gset
SELECT coupon.create_offer(:partner, 'Direct offer', current_date - 1, current_date + 10,
                           current_date - 1, current_date + 10, 'Europe/Warsaw') AS offer \gset
SELECT coupon.add_variant(:offer, 'one', 10, 5, 50) AS v \gset
CREATE TEMP TABLE sold AS SELECT * FROM coupon.sell_many(:v, 80);
SELECT code AS a, secret AS a_secret FROM sold WHERE ordinal = 1 \gset
SELECT code AS b, secret AS b_secret FROM sold WHERE ordinal = 2 \gset
SELECT code AS c, secret AS c_secret FROM sold WHERE ordinal = 3 \gset
SELECT code AS d, secret AS d_secret FROM sold WHERE ordinal = 4 \gset
SELECT code AS e, secret AS e_secret FROM sold WHERE ordinal = 5 \gset
SELECT code AS f, secret AS f_secret FROM sold WHERE ordinal = 6 \gset
SELECT code AS h, secret AS h_secret FROM sold WHERE ordinal = 80 \gset
SELECT code AS i, secret AS i_secret FROM sold WHERE ordinal = 79 \gset
SELECT code AS j, secret AS j_secret FROM sold WHERE ordinal = 78 \gset

SELECT is(current_setting('coupon.direct_writes'), 'on', 'direct writes are on by default');

-- ---------------------------------------------------------------- same rows both ways
SELECT is((SELECT (state, changed, message)::text FROM coupon.activate(:'a', :'a_secret')),
          format('(used,t,"the status of voucher #%s was changed: used")',
                 (SELECT number FROM sold WHERE ordinal = 1)),
          'activated directly: the same answer');
SET LOCAL coupon.direct_writes = off;
SELECT is((SELECT (state, changed)::text FROM coupon.activate(:'b', :'b_secret')), '(used,t)',
          'activated through SQL');
SET LOCAL coupon.direct_writes = on;
SELECT is((SELECT array_agg((state, used_at = now(), used_by = current_user, window_closed_at IS NULL)::text
                            ORDER BY ordinal)
           FROM coupon.voucher WHERE code IN (:'a', :'b')),
          ARRAY['(used,t,t,t)', '(used,t,t,t)'], 'both vouchers: used now, by the caller, nothing else changed');
SELECT is((SELECT count(DISTINCT (action, from_state, to_state, role_name, partner_id, at, detail))::int
           FROM coupon.voucher_event WHERE code IN (:'a', :'b') AND action = 'activate'), 1,
          'both log rows say the same: activate, sold to used, the role, the partner, now');
SELECT is((SELECT partner_id FROM coupon.voucher_event WHERE code = :'a' AND action = 'activate'),
          :partner::bigint, 'the log names the voucher''s partner');
SELECT is((SELECT sum(used)::int FROM coupon.voucher_counter WHERE variant_id = :v), 2,
          'both activations counted');

-- ---------------------------------------------------------------- one statement, one slot
-- vouchers whose codes share a counter slot, activated in one statement:
-- each call sees the slot as the call before it left it
CREATE TEMP TABLE same_slot AS
  SELECT code, secret FROM sold
  WHERE ordinal > 6 AND coupon.code_hash(code) & 63 =
        (SELECT coupon.code_hash(code) & 63 FROM sold WHERE ordinal > 6
         GROUP BY 1 HAVING count(*) > 1 ORDER BY count(*) DESC, 1 LIMIT 1);
SELECT cmp_ok((SELECT count(*)::int FROM same_slot), '>=', 2,
              'eighty codes: at least two share one of 64 slots');
SELECT is((SELECT count(*)::int FROM (SELECT coupon.activate(code, secret) FROM same_slot) s),
          (SELECT count(*)::int FROM same_slot), 'all of them activated in one statement');
SELECT is((SELECT used::int FROM coupon.voucher_counter
           WHERE variant_id = :v AND slot = (SELECT coupon.code_hash(code) & 63 FROM same_slot LIMIT 1)),
          (SELECT count(*)::int FROM same_slot) + (SELECT count(*)::int FROM sold
            WHERE ordinal <= 2 AND coupon.code_hash(code) & 63 = (SELECT coupon.code_hash(code) & 63 FROM same_slot LIMIT 1)),
          'their slot counts every one of them');

-- ---------------------------------------------------------------- a missing counter slot
DELETE FROM coupon.voucher_counter WHERE variant_id = :v AND slot = coupon.code_hash(:'c') & 63;
SELECT is((SELECT state::text FROM coupon.activate(:'c', :'c_secret')), 'used',
          'a voucher whose counter slot is gone is activated');
SELECT is((SELECT (issued, used)::text FROM coupon.voucher_counter
           WHERE variant_id = :v AND slot = coupon.code_hash(:'c') & 63), '(0,1)',
          'and its slot is made again, with the activation');

-- ---------------------------------------------------------------- an update that cannot stay HOT
-- with an index on used_at the new row version needs entries in every index
CREATE INDEX voucher_used_at_test ON coupon.voucher (used_at);
SELECT is((SELECT state::text FROM coupon.activate(:'f', :'f_secret')), 'used',
          'activated with an index on a column the activation changes');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*)::int FROM coupon.voucher WHERE used_at = now() AND code = :'f'), 1,
          'the new index finds the new row version');
SELECT is((SELECT array_agg(state::text) FROM coupon.voucher WHERE code = :'f'), ARRAY['used'],
          'the primary key finds exactly the new row version');
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX coupon.voucher_used_at_test;

-- ---------------------------------------------------------------- SQL when a trigger must run
CREATE TABLE public.seen (what text);
CREATE FUNCTION public.see() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.seen VALUES (TG_TABLE_NAME || ' ' || TG_OP); RETURN NULL; END $$;
CREATE TRIGGER see AFTER UPDATE ON coupon.voucher FOR EACH ROW EXECUTE FUNCTION public.see();
CREATE TRIGGER see AFTER INSERT ON coupon.voucher_event FOR EACH ROW EXECUTE FUNCTION public.see();
SELECT is((SELECT state::text FROM coupon.activate(:'d', :'d_secret')), 'used',
          'activated with triggers on the voucher and the log');
SELECT is((SELECT array_agg(what ORDER BY what) FROM public.seen), ARRAY['voucher UPDATE', 'voucher_event INSERT'],
          'the triggers ran: the activation went through SQL');
DROP TRIGGER see ON coupon.voucher;
DROP TRIGGER see ON coupon.voucher_event;
DELETE FROM public.seen;
-- a rule: not bypassed; SQL's statement, with its data-modifying WITH, refuses it
CREATE RULE see AS ON UPDATE TO coupon.voucher DO ALSO INSERT INTO public.seen VALUES ('rule');
SELECT throws_ok(format('SELECT coupon.activate(%L, %L)', :'h', :'h_secret'),
                 '0A000', 'DO ALSO rules are not supported for data-modifying statements in WITH',
                 'a rule on the voucher table is not bypassed: the activation goes to SQL, which refuses it');
DROP RULE see ON coupon.voucher;

-- ---------------------------------------------------------------- columns that are not what the C expects
-- a log column of another type: written through SQL, never as the wrong type
ALTER TABLE coupon.voucher_event ALTER COLUMN role_name TYPE text;
SELECT is((SELECT state::text FROM coupon.activate(:'i', :'i_secret')), 'used',
          'activated when a log column has another type');
SELECT is((SELECT role_name FROM coupon.voucher_event WHERE code = :'i' AND action = 'activate'),
          current_user::text, 'and the log row names the role');
ALTER TABLE coupon.voucher_event ALTER COLUMN role_name TYPE name;
-- a log column with a default: the log row takes it, as SQL gives it
ALTER TABLE coupon.voucher_event ADD COLUMN till text NOT NULL DEFAULT 'front desk';
SELECT is((SELECT state::text FROM coupon.activate(:'j', :'j_secret')), 'used',
          'activated when the log has a new column with a default');
SELECT is((SELECT till FROM coupon.voucher_event WHERE code = :'j' AND action = 'activate'), 'front desk',
          'and its log row takes the default, as SQL gives it');
ALTER TABLE coupon.voucher_event DROP COLUMN till;

-- ---------------------------------------------------------------- read-only transactions
SELECT throws_ok(format($$SELECT set_config('transaction_read_only', 'on', true), coupon.activate(%L, %L)$$,
                        :'e', :'e_secret'),
                 '25006', 'cannot activate a voucher in a read-only transaction',
                 'a read-only transaction cannot activate');
SELECT is((SELECT state::text FROM coupon.voucher WHERE code = :'e'), 'sold', 'and the voucher is still sold');

-- ---------------------------------------------------------------- the tables change under the cache
ALTER TABLE coupon.voucher ADD COLUMN remark text;
SELECT is((SELECT state::text FROM coupon.activate(:'e', :'e_secret')), 'used',
          'activated after a column was added to the voucher table');
ALTER TABLE coupon.voucher DROP COLUMN remark;
DROP EXTENSION coupon CASCADE;
CREATE EXTENSION coupon;
SELECT coupon.create_partner('Again') AS partner \gset
SELECT coupon.create_offer(:partner, 'Again', current_date - 1, current_date + 10,
                           current_date - 1, current_date + 10, 'Europe/Warsaw') AS offer \gset
SELECT coupon.add_variant(:offer, 'one', 10, 5, 50) AS v \gset
SELECT code AS g, secret AS g_secret FROM coupon.sell(:v) \gset
SELECT is((SELECT (state, changed)::text FROM coupon.activate(:'g', :'g_secret')), '(used,t)',
          'activated after the extension was dropped and created again in this session');

SELECT * FROM finish();
ROLLBACK;
