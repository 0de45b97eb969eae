-- Data for the dump and restore check: a user table of codes, and the
-- extension's own tables filled through its API.
CREATE EXTENSION coupon;
CREATE TABLE public.printed_codes (code coupon.code PRIMARY KEY, batch int NOT NULL);
INSERT INTO public.printed_codes
  SELECT c, 1 FROM coupon.generate_codes(1000, 'LEAF-######') c;
INSERT INTO public.printed_codes VALUES ('kn8-ftl', 2), ('Lato2019', 2);

-- vouchers: every state, a failed attempt, a lock, reviews
SELECT coupon.create_partner('Dump partner') AS p \gset
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dump_partner_login') THEN
    CREATE ROLE dump_partner_login LOGIN;
  END IF;
END $$;
SELECT coupon.bind_partner_role('dump_partner_login', :p);
SELECT coupon.create_offer(:p, 'Dump offer', current_date - 1, current_date + 30, current_date - 1,
                           current_date + 30, 'Europe/Moscow', request_no => '62508') AS o \gset
SELECT coupon.add_variant(:o, 'one', 750, 1990, 9000) AS v \gset
SELECT coupon.upsert_customer('dump-customer', 'female', '1990-04-01');
CREATE TEMP TABLE s AS SELECT * FROM coupon.sell_many(:v, 6, 'dump-customer');
SELECT coupon.activate(code, secret) FROM s WHERE ordinal = 1;
SELECT coupon.refund(code) FROM s WHERE ordinal = 2;
SELECT coupon.block(code, 'dump test') FROM s WHERE ordinal = 3;
DO $$
DECLARE
  c text := (SELECT code::text FROM s WHERE ordinal = 4);
BEGIN
  FOR i IN 1..5 LOOP
    BEGIN
      PERFORM coupon.activate(c, 'ZZ');
    EXCEPTION WHEN SQLSTATE 'CP102' THEN NULL;
    END;
  END LOOP;
END $$;
SELECT coupon.add_review(:o, 'dump-customer', 5, 'Great');

-- shop coupons: rules, a redemption with lines, a hold, a subscriber, a sending
SELECT coupon.create_coupon('fixed', 20, code => 'DUMP20', usage_limit => 10, once_per_customer => false);
SELECT coupon.create_coupon('percent', 10, code => 'DUMPNEWS', audience => 'new_subscribers');
SELECT coupon.subscribe('dump-customer');
SELECT coupon.send('DUMP20');
SELECT coupon.redeem('DUMP20', 'dump-customer', 'DUMP-ORDER-1',
                     '{"lines": [{"sku": "A", "price": 189.99}, {"sku": "B", "price": 59.99, "quantity": 3}]}');
SELECT coupon.hold('DUMP20', NULL, 'DUMP-CART-2', '{"lines": [{"price": 50}]}', 60);

-- campaigns: generated coupons, one used, one archived after it was sent,
-- an offer in the campaign
SELECT coupon.create_campaign('Dump campaign', 'kept by pg_dump') AS dc \gset
SELECT coupon.generate_coupons(:dc, 50, '{"kind": "fixed", "value": 5}');
SELECT * FROM coupon.bulk_attach(:dc, codes => ARRAY['DUMP20']::coupon.code[]);
SELECT coupon.set_offer_campaign(:o, :dc);
SELECT coupon.create_coupon('fixed', 5, code => 'DUMPSENT');
SELECT * FROM coupon.bulk_attach(:dc, codes => ARRAY['DUMPSENT']::coupon.code[]);
SELECT coupon.send('DUMPSENT', ARRAY['dump-customer']);
SELECT * FROM coupon.bulk_delete(codes => ARRAY['DUMPSENT']::coupon.code[]);
