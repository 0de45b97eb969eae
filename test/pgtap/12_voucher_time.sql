-- Time windows: validity dates are calendar dates in the offer's time zone;
-- activation closes at the midnight after valid_until plus the grace days,
-- there; daylight-saving changes and the session's TimeZone change nothing.
BEGIN;
SELECT plan(14);
\set QUIET on

SELECT coupon.create_partner('Clock') AS p \gset
SELECT coupon.create_offer(:p, 'Moscow offer', current_date - 400, current_date + 400,
                           '2013-05-15', '2013-07-14', 'Europe/Moscow') AS moscow \gset
SELECT coupon.create_offer(:p, 'Warsaw offer', current_date - 400, current_date + 400,
                           '2024-03-31', '2024-10-26', 'Europe/Warsaw') AS warsaw \gset
SELECT coupon.add_variant(:moscow, 'm', 10, 0, 20) AS vm \gset
SELECT coupon.add_variant(:warsaw, 'w', 10, 0, 20) AS vw \gset

-- the seed's example: valid until 14 July 2013 in Moscow (UTC+4 that year)
SET TimeZone = 'America/New_York';
SELECT code AS m1 FROM coupon.sell(:vm) \gset
SELECT is((SELECT window_end FROM coupon.voucher WHERE code = :'m1'), '2013-07-17 20:00:00+00'::timestamptz,
          'valid until 14 July 2013 in Moscow: activation closes 18 July 00:00 Moscow time (17 July 20:00 UTC)');
SELECT is((SELECT window_start FROM coupon.voucher WHERE code = :'m1'), '2013-05-14 20:00:00+00'::timestamptz,
          'and opens 15 May 00:00 Moscow time');
SET TimeZone = 'Asia/Tokyo';
SELECT code AS m2 FROM coupon.sell(:vm) \gset
SELECT is((SELECT window_end FROM coupon.voucher WHERE code = :'m2'),
          (SELECT window_end FROM coupon.voucher WHERE code = :'m1'),
          'a session in Tokyo computes the same window as one in New York');
SELECT is((SELECT (window_end AT TIME ZONE 'Europe/Moscow')::text FROM coupon.voucher WHERE code = :'m2'),
          '2013-07-18 00:00:00', 'it is midnight in Moscow whatever the session''s time zone');
RESET TimeZone;

-- daylight saving: Warsaw leaves summer time on 27 October 2024 (25-hour day)
SELECT code AS w1 FROM coupon.sell(:vw) \gset
SELECT is((SELECT window_end FROM coupon.voucher WHERE code = :'w1'), '2024-10-29 23:00:00+00'::timestamptz,
          'valid until 26 October 2024 in Warsaw: activation closes 30 October 00:00 CET');
SELECT is((SELECT window_end - ('2024-10-27'::timestamp AT TIME ZONE 'Europe/Warsaw')
           FROM coupon.voucher WHERE code = :'w1'), interval '73 hours',
          'three calendar days of grace across the change are 73 hours');
SELECT is((SELECT window_start FROM coupon.voucher WHERE code = :'w1'), '2024-03-30 23:00:00+00'::timestamptz,
          'valid from 31 March 2024 (the day summer time begins): from 00:00 CET');
SELECT is((SELECT window_end - window_start FROM coupon.voucher WHERE code = :'w1'),
          interval '213 days',
          'both ends in winter time: the hour lost in spring and the hour gained in autumn cancel');

-- now: a voucher valid until 3 days ago (local) is in its last day of
-- grace in every time zone; one valid until 4 days ago is closed
CREATE FUNCTION pg_temp.try(v bigint, tz text, days_ago int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  s coupon.sold_voucher;
BEGIN
  s := coupon.sell(v, NULL, current_date - 400, (now() AT TIME ZONE tz)::date - days_ago);
  PERFORM coupon.activate(s.code, s.secret);
  RETURN 'used';
EXCEPTION WHEN SQLSTATE 'CP106' THEN
  RETURN 'closed';
END $$;
SELECT coupon.create_offer(:p, 'Kiritimati', current_date - 400, current_date + 400, current_date, current_date,
                           'Pacific/Kiritimati') AS east \gset
SELECT coupon.create_offer(:p, 'Pago Pago', current_date - 400, current_date + 400, current_date, current_date,
                           'Pacific/Pago_Pago') AS west \gset
SELECT coupon.add_variant(:east, 'e', 10, 0, 20) AS ve \gset
SELECT coupon.add_variant(:west, 'w', 10, 0, 20) AS vwest \gset
SELECT is(pg_temp.try(:ve, 'Pacific/Kiritimati', 3), 'used', 'UTC+14: last day of grace, still open');
SELECT is(pg_temp.try(:ve, 'Pacific/Kiritimati', 4), 'closed', 'UTC+14: a day later, closed');
SELECT is(pg_temp.try(:vwest, 'Pacific/Pago_Pago', 3), 'used', 'UTC-11: last day of grace, still open');
SELECT is(pg_temp.try(:vwest, 'Pacific/Pago_Pago', 4), 'closed', 'UTC-11: a day later, closed');

-- the grace period is set per offer
SELECT coupon.create_offer(:p, 'No grace', current_date - 400, current_date + 400, current_date, current_date,
                           'UTC', grace_days => 0) AS strict \gset
SELECT coupon.add_variant(:strict, 's', 10, 0, 20) AS vs \gset
SELECT is(pg_temp.try(:vs, 'UTC', 1), 'closed', 'without grace, a voucher valid until yesterday is closed');
SELECT throws_ok(format($$SELECT coupon.create_offer(%s, 'x', current_date, current_date, current_date, current_date, 'Mars/Olympus')$$, :p),
                 '22023', 'unknown time zone "Mars/Olympus"', 'an unknown time zone is refused');

SELECT * FROM finish();
ROLLBACK;
