-- After upgrading from 0.4.0: vouchers sold before are activated directly
-- and through SQL, and the counters still equal the vouchers.
DO $$
BEGIN
  PERFORM coupon.activate(code, secret) FROM public.sold_at_040 WHERE ordinal = 2;
  SET LOCAL coupon.direct_writes = off;
  PERFORM coupon.activate(code, secret) FROM public.sold_at_040 WHERE ordinal = 3;
  IF (SELECT (sold, activated, not_used)::text FROM coupon.offer_stats
      WHERE title = 'Offer of 0.4.0') <> '(3,3,0)' THEN
    RAISE EXCEPTION 'offer counters after the upgrade: %',
      (SELECT (sold, activated, not_used)::text FROM coupon.offer_stats WHERE title = 'Offer of 0.4.0');
  END IF;
  IF (SELECT count(*) FROM coupon.voucher_event e JOIN public.sold_at_040 s USING (code)
      WHERE e.action = 'activate') <> 3 THEN
    RAISE EXCEPTION 'the log after the upgrade does not hold three activations';
  END IF;
END $$;
