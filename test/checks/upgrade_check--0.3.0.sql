-- After upgrading from 0.3.0: the coupon without a limit has its uses and
-- holds counted, so a limit below them is refused; old coupons and offers
-- join campaigns, and the reports count them.
DO $$
DECLARE
  c bigint;
BEGIN
  IF (SELECT (used_count, held_count)::text FROM coupon.shop_coupon WHERE code = 'OPEN') <> '(1,1)' THEN
    RAISE EXCEPTION 'the upgrade did not count the uses and holds of a coupon without a limit: %',
      (SELECT (used_count, held_count)::text FROM coupon.shop_coupon WHERE code = 'OPEN');
  END IF;
  BEGIN
    PERFORM coupon.set_usage_limit('OPEN', 1);
    RAISE EXCEPTION 'a limit below the uses and holds was accepted';
  EXCEPTION WHEN SQLSTATE 'CP211' THEN NULL;
  END;
  PERFORM coupon.set_usage_limit('OPEN', 3);
  c := coupon.create_campaign('After 0.4.0');
  PERFORM coupon.bulk_attach(c, codes => ARRAY['OPEN', 'LIMITED']::coupon.code[]);
  PERFORM coupon.set_offer_campaign((SELECT offer_id FROM coupon.offer WHERE title = 'Offer of 0.3.0'), c);
  IF (SELECT (coupons, used, redemptions, discount_given, offers, vouchers_sold)::text
      FROM coupon.campaign_report WHERE campaign_id = c) <> '(2,2,2,20.00,1,4)' THEN
    RAISE EXCEPTION 'campaign figures after the upgrade: %',
      (SELECT (coupons, used, redemptions, discount_given, offers, vouchers_sold)::text FROM coupon.campaign_report WHERE campaign_id = c);
  END IF;
  IF coupon.redeem('OPEN', NULL, 'ORD-5', '{"lines": [{"price": 100}]}') IS NULL THEN
    RAISE EXCEPTION 'unreachable';
  END IF;
  BEGIN
    PERFORM coupon.redeem('OPEN', NULL, 'ORD-6', '{"lines": [{"price": 100}]}');
    RAISE EXCEPTION 'the limit of 3 (2 uses, 1 hold) let a fourth order through';
  EXCEPTION WHEN SQLSTATE 'CP205' THEN NULL;
  END;
END $$;
