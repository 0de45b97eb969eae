-- Campaigns: generation into a campaign (atomic, also when cancelled), bulk
-- activate/block, delete (or archive), modify under the editability rule,
-- attach; the TXT import with its per-line report; CSV and XML export; the
-- campaign figures against a full recount.
BEGIN;
SELECT plan(69);
\set QUIET on
\set basket '{"lines": [{"sku": "A", "price": 100.00, "quantity": 1}]}'

-- ---------------------------------------------------------------- campaigns
SELECT coupon.create_campaign('Summer 2026', 'swimwear newsletter') AS summer \gset
SELECT coupon.create_campaign('Autumn 2026') AS autumn \gset
SELECT ok(:autumn > :summer, 'campaigns get increasing ids');
SELECT throws_ok($$SELECT coupon.create_campaign('Summer 2026')$$, 'CP301',
                 'a campaign named "Summer 2026" already exists', 'campaign names are unique');
SELECT throws_ok($$SELECT coupon.create_campaign('')$$, '22023', 'a campaign needs a name', 'and not empty');

-- ---------------------------------------------------------------- generation
SELECT is(coupon.generate_coupons(:summer, 200, '{"kind": "percent", "value": 15, "valid_until": "2027-08-31", "usage_limit": 1}',
                                  pattern => 'S26-######'), 200::bigint, 'generate_coupons returns how many it made');
SELECT is((SELECT count(*)::int FROM coupon.shop_coupon WHERE campaign_id = :summer), 200, 'all in the campaign');
SELECT is((SELECT count(*)::int FROM coupon.shop_coupon WHERE campaign_id = :summer AND kind = 'percent' AND value = 15
             AND valid_until = '2027-08-31' AND usage_limit = 1 AND status = 'active' AND audience = 'everyone'),
          200, 'each with the properties set once, the other rules at their defaults');
SELECT ok((SELECT bool_and(code::text ~ '^S26[0-9A-HJKMNP-TV-Z]{7}$' AND coupon.check_valid(code::text))
           FROM coupon.shop_coupon WHERE campaign_id = :summer), 'codes follow the pattern, with a check symbol');
SELECT throws_ok($$SELECT coupon.generate_coupons(999999, 1, '{"kind": "fixed", "value": 5}')$$, 'CP302',
                 'campaign 999999 does not exist', 'an unknown campaign is refused');
SELECT throws_ok(format($$SELECT coupon.generate_coupons(%s, 1, '{"kind": "fixed", "value": 5, "used_count": 3}')$$, :summer),
                 '22023', '"used_count" is not a rule of a coupon that generate_coupons can set',
                 'only rules can be set, not counts');
SELECT throws_ok(format($$SELECT coupon.generate_coupons(%s, 50, '{"kind": "fixed", "value": 5.001}')$$, :autumn),
                 '22023', NULL, 'bad rules are refused ...');
SELECT is((SELECT count(*)::int FROM coupon.shop_coupon WHERE campaign_id = :autumn), 0, '... and nothing is left behind');
SELECT throws_ok(format($$SELECT coupon.generate_coupons(%s, 5000, '{"kind": "fixed", "value": 5}', pattern => 'AB##')$$, :autumn),
                 'CP001', 'cannot issue 5000 codes from pattern "AB##"',
                 'a pattern too small for the number is refused before anything is made');

-- cancelled half-way (statement_timeout): all or nothing
CREATE TEMP TABLE cancelled (sqlstate text);
SELECT set_config('tap.autumn', :'autumn', true) \g /dev/null
SET LOCAL statement_timeout = '300ms';
DO $$
BEGIN
  PERFORM coupon.generate_coupons(current_setting('tap.autumn')::bigint, 400000, '{"kind": "fixed", "value": 5}');
EXCEPTION WHEN query_canceled THEN
  INSERT INTO cancelled VALUES (SQLSTATE);
END $$;
SET LOCAL statement_timeout = 0;
SELECT is((SELECT sqlstate FROM cancelled), '57014', 'a generation cancelled half-way ...');
SELECT is((SELECT count(*)::int FROM coupon.shop_coupon WHERE campaign_id = :autumn), 0, '... leaves no coupon behind (atomic)');
SELECT is((SELECT coupons FROM coupon.campaign_report WHERE campaign_id = :autumn), 0::bigint, 'nor any count');

-- ---------------------------------------------------------------- a few coupons get used, sent, held
CREATE TEMP TABLE pick AS
  SELECT code, row_number() OVER (ORDER BY code) AS n FROM coupon.shop_coupon WHERE campaign_id = :summer;
SELECT code AS u1 FROM pick WHERE n = 1 \gset
SELECT code AS u2 FROM pick WHERE n = 2 \gset
SELECT code AS s1 FROM pick WHERE n = 3 \gset
SELECT code AS h1 FROM pick WHERE n = 4 \gset
SELECT code AS f1 FROM pick WHERE n = 5 \gset
SELECT coupon.redeem(:'u1', 'anna', 'ORD-U1', :'basket') \g /dev/null
SELECT coupon.redeem(:'u2', 'bob', 'ORD-U2', :'basket') \g /dev/null
SELECT coupon.send(:'s1', ARRAY['carl']) \g /dev/null
SELECT coupon.hold(:'h1', 'dora', 'ORD-H1', :'basket') \g /dev/null
SELECT is((SELECT (coupons, sent, used, redemptions, discount_given)::text FROM coupon.campaign_report WHERE campaign_id = :summer),
          '(200,1,2,2,30.00)', 'the campaign counts 200 coupons, 1 sent, 2 used, 2 redemptions giving 30.00');

-- ---------------------------------------------------------------- bulk activate / block
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_status('blocked', %s)$$, :summer),
                  $$VALUES ('changed', 'now blocked', 200::bigint)$$, 'block a whole campaign');
SELECT is(coupon.quote(:'f1', NULL, :'basket')->>'sqlstate', 'CP202', 'its coupons are refused as blocked');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_status('active', codes => ARRAY[%L, %L, 'NOSUCH1']::coupon.code[])$$, :'u1', :'f1'),
                  $$VALUES ('changed', 'now active', 2::bigint)$$, 'activate by a list of codes (unknown codes choose nothing)');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_status('active', %s, filter => '{"used": true}')$$, :summer),
                  $$VALUES ('changed', 'now active', 1::bigint), ('unchanged', 'already active', 1::bigint)$$,
                  'activate by a filter within the campaign: the used ones');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_status('active', %s)$$, :summer),
                  $$VALUES ('changed', 'now active', 197::bigint), ('unchanged', 'already active', 3::bigint)$$,
                  'activate the rest; a second call reports what was already so');
SELECT throws_ok($$SELECT * FROM coupon.bulk_status('blocked')$$, '22023',
                 'choose the coupons: a campaign, a list of codes or a filter', 'a bulk operation needs a choice');
SELECT throws_ok($$SELECT * FROM coupon.bulk_status('blocked', filter => '{"colour": "red"}')$$, '22023',
                 'unknown filter "colour"', 'unknown filters are refused');
SELECT throws_ok($$SELECT * FROM coupon.bulk_status('blocked', filter => '{"used": "yes"}')$$, '22023',
                 'filter "used" needs a JSON boolean, not string', 'filters are typed');
SELECT throws_ok($$SELECT * FROM coupon.bulk_status('blocked', filter => '[1]')$$, '22023',
                 'filter must be a JSON object', 'a filter is an object');

-- ---------------------------------------------------------------- bulk modify
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_modify('{"value": 20, "valid_until": "2027-09-30"}', %s)$$, :summer),
                  $$VALUES ('changed', 'every change', 197::bigint),
                           ('skipped', 'sent or used: only its usage limit may change', 3::bigint)$$,
                  'modify the rules: the sent and used coupons are skipped, and why');
SELECT is((SELECT value FROM coupon.shop_coupon WHERE code = :'u1'), 15::numeric, 'a used coupon keeps its value');
SELECT is((SELECT (value, valid_until)::text FROM coupon.shop_coupon WHERE code = :'f1'), '(20,2027-09-30)', 'a fresh one took the change');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_modify('{"usage_limit": 3, "value": 25}', %s)$$, :summer),
                  $$VALUES ('changed', 'every change', 197::bigint),
                           ('changed', 'sent or used: its usage limit only', 3::bigint)$$,
                  'a usage limit is the one change sent or used coupons take');
SELECT is((SELECT (value, usage_limit)::text FROM coupon.shop_coupon WHERE code = :'u1'), '(15,3)', 'the used coupon: new limit, old value');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_modify('{"usage_limit": 0}', codes => ARRAY[%L, %L, %L]::coupon.code[])$$, :'u1', :'h1', :'f1'),
                  $$VALUES ('changed', 'every change', 1::bigint),
                           ('skipped', 'the usage limit would be below its uses and holds', 2::bigint)$$,
                  'never below the uses and the holds of checkouts in progress');
SELECT is(coupon.quote(:'f1', NULL, :'basket')->>'sqlstate', 'CP205', 'a limit of 0 leaves a coupon used up');
SELECT throws_ok(format($$SELECT * FROM coupon.bulk_modify('{}', %s)$$, :summer), '22023', 'there are no changes to make',
                 'a modification needs changes');
SELECT throws_ok(format($$SELECT * FROM coupon.bulk_modify('{"value": -1}', %s)$$, :summer), '23514', NULL,
                 'a change that breaks a rule fails as a whole ...');
SELECT is((SELECT count(*)::int FROM coupon.shop_coupon WHERE campaign_id = :summer AND value = 25), 197, '... and changes nothing');

-- ---------------------------------------------------------------- attach and detach
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_attach(%s, codes => ARRAY[%L, %L]::coupon.code[])$$, :autumn, :'u1', :'f1'),
                  $$VALUES ('attached', NULL, 2::bigint)$$, 'move coupons into another campaign');
SELECT is((SELECT array_agg((campaign_id, coupons, used, redemptions, discount_given)::text ORDER BY campaign_id)
           FROM coupon.campaign_report WHERE campaign_id IN (:summer, :autumn)),
          ARRAY[format('(%s,198,1,1,15.00)', :summer), format('(%s,2,1,1,15.00)', :autumn)],
          'their uses and redemptions move with them');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_attach(NULL, %s, filter => '{"used": false}')$$, :autumn),
                  $$VALUES ('detached', NULL, 1::bigint)$$, 'detach by campaign and filter');
SELECT throws_ok($$SELECT * FROM coupon.bulk_attach(424242, filter => '{"all": true}')$$, 'CP302',
                 'campaign 424242 does not exist', 'attach to an unknown campaign is refused');

-- ---------------------------------------------------------------- bulk delete (or archive)
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_delete(%s)$$, :summer),
                  $$VALUES ('deleted', 'never sent nor used', 195::bigint), ('archived', 'used', 1::bigint),
                           ('archived', 'sent', 1::bigint), ('skipped', 'a checkout holds it', 1::bigint)$$,
                  'delete a campaign''s coupons: unused ones go, used or sent ones are archived, held ones skipped');
SELECT is((SELECT (status, archived_at IS NOT NULL)::text FROM coupon.shop_coupon WHERE code = :'u2'), '(blocked,t)',
          'an archived coupon is kept, blocked');
SELECT is((SELECT count(*)::int FROM coupon.redemption WHERE code = :'u2'), 1, 'with its redemption on record');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_status('active', %s, filter => '{"archived": true}')$$, :summer),
                  $$VALUES ('skipped', 'archived: stays blocked', 2::bigint)$$, 'archived coupons stay blocked');
SELECT is(coupon.set_coupon_status(ARRAY[:'u2']::coupon.code[], 'active'), 0, 'also one by one');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_delete(%s)$$, :summer),
                  $$VALUES ('skipped', 'a checkout holds it', 1::bigint)$$,
                  'archived coupons are not chosen again unless asked');
SELECT coupon.release('ORD-H1') \g /dev/null
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_delete(%s, filter => '{"archived": true}')$$, :summer),
                  $$VALUES ('skipped', 'already archived', 2::bigint)$$, 'asked, they are reported as already archived');
SELECT results_eq(format($$SELECT outcome, reason, coupons FROM coupon.bulk_delete(%s)$$, :summer),
                  $$VALUES ('deleted', 'never sent nor used', 1::bigint)$$, 'a released coupon can go');
SELECT is((SELECT (coupons, archived, sent, used, redemptions, discount_given)::text FROM coupon.campaign_report WHERE campaign_id = :summer),
          '(0,2,1,1,1,15.00)', 'the figures after the bulk operations');

-- ---------------------------------------------------------------- import
SELECT throws_ok('SELECT coupon.import_finish()', 'CP303', 'no import was begun in this session', 'finish needs a begin');
SELECT coupon.import_begin('{"kind": "fixed", "value": 10, "valid_until": "2027-12-31"}', :autumn) \g /dev/null
INSERT INTO coupon_import (raw) VALUES
  ('  lato-2026  '), (''), ('KN8-FTL'), ('lato2026'), ('bad code!'), ('   '), (:'u1'), ('ZIMA2026'), (repeat('A', 33)), ('kn8ftl');
SELECT is(coupon.import_finish(dry_run => true) - 'problems',
          '{"lines": 10, "would_import": 3, "blank": 2, "invalid": 2, "repeated": 2, "existing": 1}'::jsonb,
          'a dry run counts what would happen');
SELECT throws_ok('SELECT coupon.import_finish(fail_on_error => true)', 'CP304',
                 '5 of the 10 lines cannot be imported, so none was', 'with fail_on_error, problems import nothing');
SELECT is((SELECT count(*)::int FROM coupon.shop_coupon WHERE code IN ('LATO2026', 'KN8FTL', 'ZIMA2026')), 0, 'nothing');
SELECT coupon.import_finish() AS summary \gset
SELECT is(:'summary'::jsonb - 'problems',
          '{"lines": 10, "imported": 3, "blank": 2, "invalid": 2, "repeated": 2, "existing": 1}'::jsonb,
          'the import counts lines, imported, blank, invalid, repeated, existing');
SELECT results_eq('SELECT line_no, code, reason FROM coupon_import_problem ORDER BY line_no',
                  format($$VALUES (4::bigint, 'LATO2026', 'repeats line 1'), (5, NULL, 'character "!" at position 9 is not allowed'),
                                  (7, %L, 'exists already'), (9, NULL, '33 letters and digits, at most 32 allowed'),
                                  (10, 'KN8FTL', 'repeats line 3')$$, :'u1'),
                  'every problem line with its number, code and reason');
SELECT is((:'summary'::jsonb)->'problems'->0, '{"line": 4, "code": "LATO2026", "reason": "repeats line 1"}'::jsonb,
          'the summary lists the first problems too');
SELECT is((SELECT array_agg((code, kind, value, valid_until, campaign_id = :autumn)::text ORDER BY code) FROM coupon.shop_coupon
           WHERE code IN ('LATO2026', 'KN8FTL', 'ZIMA2026')),
          ARRAY['(KN8FTL,fixed,10,2027-12-31,t)', '(LATO2026,fixed,10,2027-12-31,t)', '(ZIMA2026,fixed,10,2027-12-31,t)'],
          'imported codes keep their letters and get the properties set once');
SELECT is((SELECT count(*)::int FROM coupon_import), 0, 'the loaded lines are cleared after an import');
-- lines stored out of the order of their numbers: the first line still wins
SELECT coupon.import_begin('{"kind": "fixed", "value": 5}') \g /dev/null
INSERT INTO coupon_import (line_no, raw) OVERRIDING SYSTEM VALUE VALUES (3, 'IMP-ORDER-1'), (1, ' imp order 1 '), (2, 'IMPORDER2');
SELECT is(coupon.import_finish() - 'problems', '{"lines": 3, "imported": 2, "blank": 0, "invalid": 0, "repeated": 1, "existing": 0}'::jsonb,
          'lines out of order: counted alike');
SELECT results_eq('SELECT line_no, raw, code, reason FROM coupon_import_problem',
                  $$VALUES (3::bigint, 'IMP-ORDER-1', 'IMPORDER1', 'repeats line 1')$$,
                  'lines out of order: the later line is the repeat, with its text as typed');
SELECT coupon.import_begin('{"kind": "fixed", "value": 5}') \g /dev/null
INSERT INTO coupon_import (raw) VALUES ('IMPCLEAN1'), ('  '), ('impclean2');
SELECT is(coupon.import_finish(fail_on_error => true) - 'problems',
          '{"lines": 3, "imported": 2, "blank": 1, "invalid": 0, "repeated": 0, "existing": 0}'::jsonb,
          'with fail_on_error and no problem, everything is imported');
SELECT is(coupon.code_problem('ab-12'), NULL, 'code_problem: NULL for a code');
SELECT is(coupon.code_problem('ab_12'), 'character "_" at position 3 is not allowed', 'and the reason otherwise');

-- ---------------------------------------------------------------- export
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'coupon.campaign_coupons'::regproc),
          ARRAY['campaign_id', 'code', 'kind', 'value', 'currency', 'audience', 'status', 'usage_limit', 'valid_from',
                'valid_until', 'sent_at', 'first_used_at', 'archived_at', 'redemptions', 'discount_given'],
          'the export''s columns: rules and usage, nothing else');
SELECT results_eq(format($$SELECT code::text, status::text, redemptions, discount_given FROM coupon.campaign_coupons(%s) WHERE redemptions > 0$$, :autumn),
                  format($$VALUES (%L, 'active', 1::bigint, 15.00)$$, :'u1'),
                  'the CSV export has each coupon with its usage');
SELECT is((xpath('count(/campaign/coupon)', coupon.campaign_xml(:autumn)))[1]::text::int, 4, 'the XML export has every coupon of the campaign (1 attached, 3 imported)');
SELECT is((xpath(format('/campaign/coupon[@code="%s"]/discount_given/text()', :'u1'), coupon.campaign_xml(:autumn)))[1]::text,
          '15.00', 'with its usage');

-- ---------------------------------------------------------------- an administrator's own statements
CREATE ROLE tap_campaign_admin IN ROLE coupon_admin;
SET ROLE tap_campaign_admin;
INSERT INTO coupon.shop_coupon (code, kind, value, campaign_id) VALUES ('ADMIN1', 'fixed', 5, :autumn), ('ADMIN2', 'fixed', 5, :autumn);
UPDATE coupon.shop_coupon SET campaign_id = :summer WHERE code = 'ADMIN2';
DELETE FROM coupon.shop_coupon WHERE code = 'ADMIN1';
RESET ROLE;
SELECT is((SELECT array_agg(coupons ORDER BY campaign_id) FROM coupon.campaign_report WHERE campaign_id IN (:summer, :autumn)),
          ARRAY[1, 4]::bigint[], 'an administrator''s own INSERT, UPDATE and DELETE keep the figures, with no right on the counters');

-- ---------------------------------------------------------------- exact figures
CREATE TEMP TABLE before AS SELECT * FROM coupon.campaign_report;
SELECT ok(coupon.recount_campaigns() > 0, 'recount rebuilds the figures');
SELECT set_eq('SELECT * FROM coupon.campaign_report', 'SELECT * FROM before', 'and they were already exact');
SELECT * FROM finish();
ROLLBACK;
