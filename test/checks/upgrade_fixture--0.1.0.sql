-- Written at 0.1.0, before upgrading: a user table of codes.
CREATE TABLE public.printed (code coupon.code PRIMARY KEY, note text);
INSERT INTO public.printed VALUES ('kn8-ftl', 'seed'), ('X24ET8', 'seed'), ('Lato2019', 'imported');
INSERT INTO public.printed SELECT c, 'generated' FROM coupon.generate_codes(500) c;
