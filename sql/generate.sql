-- generation: patterns, alphabets, check symbols, counts

-- defaults: 10 random Crockford symbols and a check symbol
SELECT length(c::text) AS len, coupon.check_valid(c::text) AS checked,
       c::text ~ '^[0-9A-HJKMNP-TV-Z]{11}$' AS crockford
FROM (SELECT coupon.generate_code() AS c) t;

-- literals kept, # replaced, separators dropped
SELECT c::text ~ '^SPRING[0-9A-HJKMNP-TV-Z]{8}[0-9A-HJKMNP-TV-Z]$' AS shape,
       coupon.check_valid(c::text) AS checked,
       coupon.format(c, 5) ~ '^SPRIN-G' AS formatted
FROM (SELECT coupon.generate_code('spring-####-####') AS c) t;

-- without a check symbol, in another alphabet
SELECT c::text ~ '^X-?[0-9]{8}$' AS digits_only, length(c::text) AS len
FROM (SELECT coupon.generate_code('X-########', '0123456789', false) AS c) t;
SELECT c::text ~ '^[AB]{12}$' AS two_letters
FROM (SELECT coupon.generate_code('############', 'ab', with_check => false) AS c) t;

-- the bulk form returns n distinct codes
SELECT count(*) AS n, count(DISTINCT c) AS distinct_codes,
       count(*) FILTER (WHERE coupon.check_valid(c::text)) AS checked
FROM coupon.generate_codes(50000) c;
SELECT count(*) FROM coupon.generate_codes(0);

-- exactly 1/1000 of the space may be issued: 32^3 = 32768 codes allow 32
SELECT count(*) AS n, count(DISTINCT c) AS distinct_codes FROM coupon.generate_codes(32, '###') c;
SELECT count(*) FROM coupon.generate_codes(33, '###');
SELECT coupon.generate_code('#');
SELECT length(coupon.generate_code('##')::text);
SELECT length(coupon.generate_code('##', with_check => false)::text);
SELECT coupon.generate_code('##', '0123456789', false);

-- every symbol of the alphabet shows up, about equally often
SELECT count(DISTINCT s) AS symbols,
       min(n) > 2800 AND max(n) < 3450 AS about_equal
FROM (SELECT s, count(*) AS n
      FROM coupon.generate_codes(10000, '##########', with_check => false) c,
           regexp_split_to_table(c::text, '') s
      GROUP BY s) t;

-- bad patterns and alphabets
SELECT coupon.generate_code('AB.##');
SELECT coupon.generate_code('ABC');
SELECT coupon.generate_code(repeat('#', 32));
SELECT length(coupon.generate_code(repeat('#', 32), with_check => false)::text);
SELECT coupon.generate_code('UP-####');
SELECT length(coupon.generate_code('UP-####', with_check => false)::text);
SELECT coupon.generate_code('####', 'AB0O');
SELECT coupon.generate_code('####', 'ABCA', false);
SELECT coupon.generate_code('####', 'A');
SELECT coupon.generate_code('####', 'AB-C', false);
SELECT coupon.generate_codes(-1) ;
SELECT count(*) FROM coupon.generate_codes(NULL);

-- secrets
SELECT length(s) AS len, s ~ '^[0-9A-HJKMNP-TV-Z]+$' AS crockford
FROM (SELECT coupon.generate_secret() AS s) t;
SELECT length(coupon.generate_secret(6));
SELECT count(DISTINCT coupon.generate_secret()) > 900 AS about_1024_values
FROM generate_series(1, 20000);
SELECT coupon.generate_secret(0);
SELECT coupon.generate_secret(33);

-- functions that draw random values are volatile; pure ones immutable
SELECT proname, provolatile, proparallel, proisstrict FROM pg_proc
WHERE pronamespace = 'coupon'::regnamespace
  AND proname IN ('generate_code', 'generate_codes', 'generate_secret', 'check_symbol', 'check_valid', 'format')
ORDER BY proname;
