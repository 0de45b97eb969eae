-- Written at 0.2.0, before upgrading: vouchers sold, one activated.
SELECT coupon.create_partner('Before the upgrade') AS p \gset
SELECT coupon.create_offer(:p, 'Old offer', current_date - 1, current_date + 30, current_date - 1, current_date + 30,
                           'Europe/Moscow') AS o \gset
SELECT coupon.add_variant(:o, 'v', 750, 1990, 9000) AS v \gset
CREATE TABLE public.old_vouchers AS SELECT code::text, secret, ordinal FROM coupon.sell_many(:v, 3);
SELECT coupon.activate(code, secret) FROM public.old_vouchers WHERE ordinal = 1;
