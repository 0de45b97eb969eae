-- Expiry through the real pg_cron of the test cluster: schedule the job,
-- wait for its run, check the effect, unschedule.  Not wrapped in a
-- transaction: the job runs in its own session and must see the vouchers.
SELECT plan(9);
\set QUIET on

SELECT coupon.create_partner('Cron test ' || clock_timestamp()) AS p \gset
SELECT coupon.create_offer(:p, 'Cron offer', current_date - 30, current_date + 30,
                           current_date - 30, current_date + 30, 'Europe/Moscow') AS o \gset
SELECT coupon.add_variant(:o, 'v', 10, 0, 20) AS v \gset
CREATE TEMP TABLE cron_due (code coupon.code);
INSERT INTO cron_due SELECT (coupon.sell(:v, NULL, current_date - 30, current_date - 10)).code
  FROM generate_series(1, 3);
SELECT (coupon.sell(:v)).code AS open_code \gset

SELECT is((SELECT count(*)::int FROM coupon.voucher WHERE code IN (SELECT code FROM cron_due) AND state = 'sold'), 3,
          'three vouchers whose window closed 7 days ago are still marked unused');

SELECT coupon.schedule_expiry('* * * * *') AS job \gset
SELECT is((SELECT command FROM cron.job WHERE jobid = :job), 'CALL coupon.expire_due()',
          'schedule_expiry registers CALL coupon.expire_due() with pg_cron');
SELECT is(coupon.schedule_expiry('* * * * *'), :job::bigint, 'scheduling again keeps the same job');

CREATE FUNCTION pg_temp.wait_for_expiry(expected int, timeout_s int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  FOR i IN 1..timeout_s LOOP
    SELECT count(*) INTO n FROM coupon.voucher
    WHERE code IN (SELECT code FROM cron_due) AND state = 'expired';
    EXIT WHEN n >= expected;
    PERFORM pg_sleep(1);
  END LOOP;
  RETURN n;
END $$;
SELECT is(pg_temp.wait_for_expiry(3, 130), 3, 'within two minutes pg_cron''s run expired the three vouchers');
SELECT is((SELECT state::text FROM coupon.voucher WHERE code = :'open_code'), 'sold',
          'the voucher still in its window is untouched');
SELECT ok(EXISTS (SELECT 1 FROM cron.job_run_details WHERE jobid = :job AND status = 'succeeded'),
          'pg_cron recorded a succeeded run');
SELECT is((SELECT array_agg(DISTINCT role_name::text) FROM coupon.voucher_event
           WHERE code IN (SELECT code FROM cron_due) AND action = 'expire'),
          ARRAY[(SELECT username::text FROM cron.job WHERE jobid = :job)],
          'the log says the job expired them, as the job''s role');

SELECT is(coupon.unschedule_expiry(), true, 'unschedule_expiry removes the job');
SELECT is(coupon.unschedule_expiry(), false, 'and says so when there is none');

SELECT * FROM finish();
