-- Written at 0.3.0, before upgrading: an unlimited coupon used twice (one
-- use given back) and held once, a limited coupon used once, vouchers.
\o /dev/null
SELECT coupon.create_coupon('fixed', 10, code => 'OPEN', once_per_customer => false);
SELECT coupon.create_coupon('fixed', 10, code => 'LIMITED', usage_limit => 5, once_per_customer => false);
SELECT coupon.redeem('OPEN', NULL, 'ORD-1', '{"lines": [{"price": 100}]}');
SELECT coupon.redeem('OPEN', NULL, 'ORD-2', '{"lines": [{"price": 100}]}');
SELECT coupon.release('ORD-2');
SELECT coupon.hold('OPEN', NULL, 'ORD-3', '{"lines": [{"price": 100}]}');
SELECT coupon.redeem('LIMITED', NULL, 'ORD-4', '{"lines": [{"price": 100}]}');
-- as a 0.3.0 server kept them: no counts for a coupon without a limit
UPDATE coupon.shop_coupon SET used_count = 0, held_count = 0 WHERE code = 'OPEN';
SELECT coupon.create_partner('Before 0.4.0') AS p \gset
SELECT coupon.create_offer(:p, 'Offer of 0.3.0', current_date - 1, current_date + 30, current_date - 1, current_date + 30,
                           'Europe/Warsaw') AS o \gset
SELECT coupon.add_variant(:o, 'v', 10, 0, 20) AS v \gset
SELECT count(*) FROM coupon.sell_many(:v, 4);
