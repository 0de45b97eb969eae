-- 120,000 mutated literals through every reading entry point: nothing
-- crashes, nothing invalid is accepted, everything valid reads canonically

SELECT setseed(0.4115727);

CREATE FUNCTION mutate(s text, edits int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  pool constant text[] := ARRAY['A','z','0','9','X','k','-',' ','!','Ä','é','€',E'\t','_','.','ß',
                                'U','O','I','L','#','😀','ſ','K',E'\n','%','''','"','\','İ'];
  i int;
  pos int;
  op int;
BEGIN
  FOR i IN 1..edits LOOP
    pos := 1 + floor(random() * (length(s) + 1))::int;
    op := floor(random() * 4)::int;
    IF op = 0 THEN      -- insert
      s := overlay(s placing pool[1 + floor(random() * array_length(pool, 1))::int] from pos for 0);
    ELSIF op = 1 THEN   -- replace
      s := overlay(s placing pool[1 + floor(random() * array_length(pool, 1))::int] from pos for 1);
    ELSIF op = 2 THEN   -- delete
      s := overlay(s placing '' from pos for 1);
    ELSE                -- repeat a stretch
      s := s || substr(s, pos, 1 + floor(random() * 8)::int);
    END IF;
  END LOOP;
  RETURN s;
END $$;

CREATE FUNCTION try_code(s text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN s::coupon.code::text;
EXCEPTION WHEN invalid_text_representation THEN
  RETURN NULL;
END $$;

CREATE FUNCTION try_check(s text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RETURN coupon.check_valid(s);
EXCEPTION WHEN invalid_text_representation THEN
  RETURN NULL;
END $$;

CREATE TABLE literals AS
SELECT mutate(seed, 1 + floor(random() * 6)::int) AS s
FROM (SELECT (ARRAY['X24ET8', 'kn8-ftl', 'Lato2019', 'X24E-T8A3-KQ', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345',
                    '549YN8', ' ', 'spring-2024-ab12', '0'])[1 + i % 9] AS seed
      FROM generate_series(1, 120000) i) t;

CREATE TABLE verdicts AS
SELECT s,
       try_code(s) AS read_as,
       s ~ '^[A-Za-z0-9 -]*$'
         AND length(translate(s, ' -', '')) BETWEEN 1 AND 32 AS valid,
       upper(translate(s, ' -', '')) AS expected,
       try_check(s) AS check_result,
       s ~ '^[0-9A-TV-Za-tv-z -]*$' AS checkable
FROM literals;

SELECT count(*) AS literals,
       count(*) FILTER (WHERE valid) AS valid,
       count(*) FILTER (WHERE NOT valid) AS invalid,
       count(*) FILTER (WHERE valid AND read_as IS DISTINCT FROM expected) AS valid_misread,
       count(*) FILTER (WHERE NOT valid AND read_as IS NOT NULL) AS invalid_accepted,
       count(*) FILTER (WHERE checkable <> (check_result IS NOT NULL)) AS check_reading_wrong
FROM verdicts;

-- every valid literal stores as a code
CREATE TABLE accepted (c coupon.code);
INSERT INTO accepted SELECT s::coupon.code FROM verdicts WHERE valid;
SELECT count(*) = (SELECT count(*) FROM verdicts WHERE valid) AS all_valid_stored FROM accepted;
