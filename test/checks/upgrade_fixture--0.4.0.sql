-- Written at 0.4.0, before upgrading: vouchers sold, one activated.
\o /dev/null
SELECT coupon.create_partner('Before 0.4.1') AS p \gset
SELECT coupon.create_offer(:p, 'Offer of 0.4.0', current_date - 1, current_date + 30, current_date - 1, current_date + 30,
                           'Europe/Warsaw') AS o \gset
SELECT coupon.add_variant(:o, 'v', 10, 0, 20) AS v \gset
CREATE TABLE public.sold_at_040 AS SELECT code, secret, ordinal FROM coupon.sell_many(:v, 3);
SELECT coupon.activate(code, secret) FROM public.sold_at_040 WHERE ordinal = 1;
\o
