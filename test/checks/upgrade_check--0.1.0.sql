-- After upgrading from 0.1.0: the codes are there, still indexed and ordered,
-- and the new version works on top of them.
DO $$
BEGIN
  IF (SELECT count(*) FROM public.printed) <> 503 THEN
    RAISE EXCEPTION 'codes lost in the upgrade';
  END IF;
  IF (SELECT note FROM public.printed WHERE code = 'KN8 FTL') <> 'seed' THEN
    RAISE EXCEPTION 'lookup by code broken after the upgrade';
  END IF;
  IF (SELECT array_agg(code::text ORDER BY code) FROM public.printed)
     <> (SELECT array_agg(code::text ORDER BY code::text COLLATE "C") FROM public.printed) THEN
    RAISE EXCEPTION 'order broken after the upgrade';
  END IF;
  PERFORM coupon.create_partner('after upgrade');
END $$;
