-- coupon.code: reading, canonical form, errors, casts, operators, indexes
\pset null '(null)'

-- good literals: case folded, spaces and hyphens ignored, letters kept
SELECT v AS typed, v::coupon.code AS code
FROM (VALUES ('X24ET8'), ('549yn8'), ('kn8-ftl'), ('Lato2019'), (' x24e-t8a3-kq '),
             ('0'), ('Z'), ('--a--'), ('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'),
             ('o0 i1 l1 u')) AS t(v);

-- bad literals, each with its own message
SELECT 'X24E!8'::coupon.code;
SELECT 'X24EÄ8'::coupon.code;
SELECT 'x24e_t8'::coupon.code;
SELECT E'X24\tET8'::coupon.code;
SELECT ''::coupon.code;
SELECT ' - - '::coupon.code;
SELECT 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456'::coupon.code;
SELECT 'ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ01-2345-6'::coupon.code;

-- casts from and to text and varchar
SELECT 'kn8-ftl'::text::coupon.code, ('kn8-ftl'::varchar)::coupon.code,
       'KN8FTL'::coupon.code::text, 'KN8FTL'::coupon.code::varchar;
SELECT pg_typeof('kn8'::coupon.code::text);
SELECT coupon.code('a-b-c'), coupon.text('abc');

-- binary output: version byte 1, then the canonical characters
SELECT coupon.code_send('kn8-ftl');

-- binary COPY out and in goes through send and receive
CREATE TABLE bin_src (c coupon.code);
INSERT INTO bin_src VALUES ('X24ET8'), ('kn8-ftl'), ('A'), ('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345');
\copy bin_src TO '/tmp/coupon_regress_code.bin' WITH (FORMAT binary)
CREATE TABLE bin_dst (c coupon.code);
\copy bin_dst FROM '/tmp/coupon_regress_code.bin' WITH (FORMAT binary)
SELECT c FROM bin_dst ORDER BY c;
\! rm -f /tmp/coupon_regress_code.bin

-- comparisons follow the canonical text, without collation
SELECT a, b, a = b AS eq, a <> b AS ne, a < b AS lt, a <= b AS le, a > b AS gt, a >= b AS ge,
       coupon.code_cmp(a, b) AS cmp
FROM (VALUES ('abc'::coupon.code, 'ABC'::coupon.code), ('A', 'AA'), ('AA', 'B'),
             ('9', 'A'), ('Z', '0'), ('ABC', 'ABC0'), ('ABD', 'ABC0'),
             ('X24ET8', 'X24ET9'), ('ZZZZZZZZZZZZ', 'ZZZZZZZZZZZZZ')) AS t(a, b);

-- a text value compared with a code is read as a code
SELECT 'KN8FTL'::coupon.code = 'kn8-ftl'::text AS text_is_read_as_code;

-- storage: no larger than text
CREATE TABLE sizes (c coupon.code, t text);
INSERT INTO sizes VALUES ('X24ET8', 'X24ET8'), ('X24ET8A3KQW', 'X24ET8A3KQW'),
  ('X24ET8A3KQWZ', 'X24ET8A3KQWZ'), ('A', 'A'),
  ('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345');
SELECT t, pg_column_size(c) AS code_bytes, pg_column_size(t) AS text_bytes FROM sizes ORDER BY c;

-- order of 5000 random codes of mixed lengths equals their order as C text
CREATE TABLE many AS
  SELECT substr(coupon.generate_code('##############', with_check => false)::text, 1, 1 + i % 14)::coupon.code AS c
  FROM generate_series(1, 5000) i;
SELECT (SELECT array_agg(c::text ORDER BY c) FROM many)
     = (SELECT array_agg(c::text ORDER BY c::text COLLATE "C") FROM many) AS same_order;

-- the sort with abbreviated keys (over 10000 rows), with distinct and with
-- shared 12-character prefixes, agrees with text order
SET work_mem = '64MB';
CREATE TABLE sorted AS
  SELECT coupon.generate_code('##########') AS c FROM generate_series(1, 30000)
  UNION ALL
  SELECT coupon.generate_code('SAMEPREFIX12-####', with_check => false) FROM generate_series(1, 30000);
SELECT (SELECT array_agg(c::text ORDER BY c) FROM sorted)
     = (SELECT array_agg(c::text ORDER BY c::text COLLATE "C") FROM sorted) AS same_order;
RESET work_mem;

-- hashing: equal codes hash equal; the extended hash with seed 0 agrees
SELECT coupon.code_hash('kn8-ftl') = coupon.code_hash('KN8FTL') AS same_hash,
       (coupon.code_hash_extended('KN8FTL', 0) & 4294967295)::bigint
         = (coupon.code_hash('KN8FTL')::bigint & 4294967295) AS extended_agrees,
       coupon.code_hash_extended('KN8FTL', 1) <> coupon.code_hash_extended('KN8FTL', 0) AS seed_matters;

-- the operator classes are valid
SELECT opcname, amname, amvalidate(opc.oid)
FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
WHERE opcnamespace = 'coupon'::regnamespace ORDER BY opcname;

-- indexes: btree, unique, hash; lookups by code use them
CREATE TABLE codes (code coupon.code PRIMARY KEY, n int);
INSERT INTO codes SELECT c, row_number() OVER () FROM coupon.generate_codes(20000) c;
INSERT INTO codes VALUES ('KN8FTL', 0);
INSERT INTO codes VALUES ('kn8-ftl', 0);
CREATE INDEX codes_hash ON codes USING hash (code);
ANALYZE codes;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT n FROM codes WHERE code = 'kn8-ftl';
EXPLAIN (COSTS OFF) SELECT n FROM codes WHERE code = 'kn8-ftl'::text;
SELECT n FROM codes WHERE code = 'kn8-ftl'::text;
DROP INDEX codes_hash;
EXPLAIN (COSTS OFF) SELECT count(*) FROM codes WHERE code BETWEEN 'A' AND 'B';
SELECT count(*) = (SELECT count(*) FROM codes WHERE code::text COLLATE "C" >= 'A' AND code::text COLLATE "C" <= 'B')
  AS range_agrees FROM codes WHERE code BETWEEN 'A' AND 'B';
RESET enable_seqscan;
RESET enable_bitmapscan;

-- selectivity estimators are attached
SELECT oprname, oprrest, oprjoin FROM pg_operator
WHERE oprleft = 'coupon.code'::regtype ORDER BY oprname;

-- hash join and hash aggregate
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT count(*) FROM codes a JOIN codes b USING (code);
RESET enable_mergejoin;
RESET enable_nestloop;
SELECT count(*) FROM (SELECT code FROM codes GROUP BY code) g;

-- display groups
SELECT coupon.format('X24ET8A3KQ', 4), coupon.format('X24ET8A3KQ'), coupon.format('x24et8', 3),
       coupon.format('X24ET8', 1), coupon.format('X24ET8', 40);
SELECT coupon.format('X24ET8', 0);
