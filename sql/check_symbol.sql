-- the check symbol: Damm's algorithm over GF(32), Crockford base32

-- the same algorithm written from the definition in PL/pgSQL
CREATE FUNCTION ref_check(payload text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  r int := 0;
  d int;
  ch text;
BEGIN
  FOREACH ch IN ARRAY regexp_split_to_array(upper(translate(payload, ' -', '')), '')
  LOOP
    ch := translate(ch, 'OIL', '011');
    d := strpos(alphabet, ch) - 1;
    r := (r # d) << 1;
    IF r & 32 <> 0 THEN r := r # 37; END IF;
  END LOOP;
  RETURN substr(alphabet, r + 1, 1);
END $$;

SELECT p, coupon.check_symbol(p), ref_check(p)
FROM (VALUES ('0'), ('1'), ('10'), ('X24ET'), ('X24ET8A3KQ'), ('549YN'), ('KN8FT'),
             ('x24-et'), ('O'), ('I'), ('L'), ('ZZZZZZZZZZ')) AS t(p);

-- 20000 random payloads agree with the reference
SELECT count(*) AS payloads, count(*) FILTER (WHERE coupon.check_symbol(p) = ref_check(p)) AS agree
FROM (SELECT substr(coupon.generate_code(repeat('#', 20), with_check => false)::text, 1, 1 + i % 20) AS p
      FROM generate_series(1, 20000) i) t;

-- a code with its symbol is valid; every single substitution of it is not
SELECT coupon.check_valid('X24ET' || coupon.check_symbol('X24ET')) AS with_symbol;
SELECT count(*) AS substitutions,
       count(*) FILTER (WHERE coupon.check_valid(overlay(c placing s from pos for 1))) AS undetected
FROM (SELECT 'X24ET8A3KQ' || coupon.check_symbol('X24ET8A3KQ') AS c) t,
     generate_series(1, 11) pos,
     regexp_split_to_table('0123456789ABCDEFGHJKMNPQRSTVWXYZ', '') s
WHERE s <> substr(c, pos, 1);

-- reading: case, separators, O as 0, I and L as 1
SELECT coupon.check_valid('x24et' || lower(coupon.check_symbol('X24ET'))) AS lower_case,
       coupon.check_valid('X2-4E T' || coupon.check_symbol('X24ET')) AS separators,
       coupon.check_symbol('1O') = coupon.check_symbol('I0') AND coupon.check_symbol('L0') = coupon.check_symbol('10')
         AS lookalikes;

-- short input is not a checked code
SELECT coupon.check_valid('0') AS one_symbol, coupon.check_valid('') AS empty;

-- refused input
SELECT coupon.check_symbol('X24EU');
SELECT coupon.check_valid('X24E!8');
SELECT coupon.check_symbol('');
SELECT coupon.check_symbol(' - ');
SELECT coupon.check_symbol(NULL) IS NULL AS null_in_null_out;
