-- Data for the dump and restore check: a user table of codes, and (from
-- later versions on) the extension's own tables filled through its API.
CREATE EXTENSION coupon;
CREATE TABLE public.printed_codes (code coupon.code PRIMARY KEY, batch int NOT NULL);
INSERT INTO public.printed_codes
  SELECT c, 1 FROM coupon.generate_codes(1000, 'LEAF-######') c;
INSERT INTO public.printed_codes VALUES ('kn8-ftl', 2), ('Lato2019', 2);
