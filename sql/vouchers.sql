-- Vouchers: the parts whose output is fixed (no random codes, no clock)
\set SHOW_CONTEXT never

-- the discount of a variant is derived from its prices
SELECT coupon.create_partner('Regress') AS p \gset
SELECT coupon.create_offer(:p, 'Swimsuits', '2013-05-15', '2013-07-14', '2013-05-15', '2013-07-14',
                           'Europe/Moscow', request_no => '62508') AS o \gset
SELECT count(coupon.add_variant(:o, v.title, v.coupon, v.on_site, v.original)) AS variants
FROM (VALUES ('1 swimsuit', 500, 990, 5000), ('2 swimsuits', 750, 1990, 9000),
             ('3 swimsuits', 990, 2990, 13000)) AS v(title, coupon, on_site, original);
SELECT title, coupon_price, pay_on_site, original_price, discount_percent
FROM coupon.variant WHERE offer_id = :o ORDER BY variant_id;

-- an offer's dates and settings are checked
SELECT coupon.create_offer(:p, 'x', '2013-05-15', '2013-05-14', '2013-05-15', '2013-07-14');
SELECT coupon.create_offer(:p, 'x', '2013-05-15', '2013-07-14', '2013-05-15', '2013-07-14', 'Moscow');
SELECT coupon.create_offer(:p, 'x', '2013-05-15', '2013-07-14', '2013-05-15', '2013-07-14', grace_days => -1);
SELECT coupon.create_offer(:p, 'x', '2013-05-15', '2013-07-14', '2013-05-15', '2013-07-14', code_pattern => '##');
SELECT coupon.create_offer(:p, 'x', '2013-05-15', '2013-07-14', '2013-05-15', '2013-07-14', code_pattern => 'A.####');
SELECT coupon.create_offer(:p, '', '2013-05-15', '2013-07-14', '2013-05-15', '2013-07-14');
SELECT coupon.create_offer(:p, 'x', '2013-05-15', '2013-07-14', '2013-07-15', '2013-07-14');

-- the offer is long closed: nothing sells
SELECT coupon.sell(variant_id) FROM coupon.variant WHERE offer_id = :o ORDER BY variant_id LIMIT 1;
SELECT coupon.set_offer_state(-1, 'closed');

-- scheduling needs pg_cron, which this database does not have
SELECT coupon.schedule_expiry();
SELECT coupon.unschedule_expiry();

-- the settings, with their defaults
SELECT name, setting, context, short_desc FROM pg_settings WHERE name LIKE 'coupon.%' ORDER BY name;
SET coupon.max_secret_failures = 0;
SET coupon.no_such_setting = 1;

-- activation windows of vouchers sold now, valid 15 May to 14 July 2013:
-- from midnight to midnight in the offer's time zone, plus its grace days
SET TimeZone = 'UTC';
CREATE TEMP TABLE windows AS
SELECT (coupon.sell(coupon.add_variant(
          coupon.create_offer(:p, 'Window ' || tz, current_date - 1, current_date + 1,
                              '2013-05-15', '2013-07-14', tz, grace), 'v', 10, 0, 20))).code
FROM (VALUES ('Europe/Moscow', 3), ('Europe/Warsaw', 3), ('America/New_York', 0), ('Asia/Tokyo', 7)) AS t(tz, grace);
SELECT o.time_zone, o.grace_days, v.valid_from, v.valid_until, v.window_start, v.window_end
FROM windows w JOIN coupon.voucher v USING (code) JOIN coupon.offer o ON o.offer_id = v.offer_id
ORDER BY o.time_zone;
RESET TimeZone;

-- a procedure call with nothing to expire
CALL coupon.expire_due();
CALL coupon.expire_due(batch_size => 5);
