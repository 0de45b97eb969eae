-- After upgrading from 0.2.0: old vouchers keep their state and still
-- activate; the new shop coupons work.
DO $$
DECLARE
  r record;
  q jsonb;
BEGIN
  IF (SELECT state FROM coupon.voucher v JOIN public.old_vouchers o ON o.code = v.code::text WHERE o.ordinal = 1) <> 'used' THEN
    RAISE EXCEPTION 'the activated voucher lost its state in the upgrade';
  END IF;
  SELECT * INTO r FROM public.old_vouchers WHERE ordinal = 2;
  IF (coupon.activate(r.code, r.secret)).state <> 'used' THEN
    RAISE EXCEPTION 'a voucher sold before the upgrade does not activate after it';
  END IF;
  IF (SELECT activated FROM coupon.offer_stats WHERE title = 'Old offer') <> 2 THEN
    RAISE EXCEPTION 'counters broken by the upgrade';
  END IF;
  PERFORM coupon.create_coupon('fixed', 20, code => 'AFTERUPGRADE', once_per_customer => false);
  q := coupon.redeem('AFTERUPGRADE', NULL, 'ORD-1', '{"lines": [{"price": 189.99}, {"price": 59.99, "quantity": 3}]}');
  IF q->>'discount' <> '20.00' THEN
    RAISE EXCEPTION 'shop coupons do not work after the upgrade: %', q;
  END IF;
END $$;
