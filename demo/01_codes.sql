-- Part 1: coupon codes, check symbols and generation
\set QUIET on
\pset footer off
\set VERBOSITY default
\echo
\echo '=================================================================='
\echo ' 1. Codes as people type them'
\echo '=================================================================='
\echo
\echo 'A coupon.code reads what a cashier or a customer types: case does not'
\echo 'matter, spaces and hyphens are ignored, letters are kept.'
\echo
SELECT typed, typed::coupon.code AS stored_as, coupon.format(typed::coupon.code, 3) AS printed
FROM (VALUES ('X24ET8'), ('kn8-ftl'), ('549 yn8'), ('Lato2019')) AS t(typed);

\echo 'Anything else is refused with SQLSTATE 22P02, naming the character:'
\set ON_ERROR_STOP off
SELECT 'X24E!8'::coupon.code;
\set ON_ERROR_STOP on

\echo
\echo 'Stored packed: 3 characters in 2 bytes, and ordered without collation.'
CREATE TEMP TABLE sizes AS SELECT 'X24ET8A3KQW'::coupon.code AS c, 'X24ET8A3KQW'::text AS t;
SELECT c AS code, pg_column_size(c) AS bytes_in_a_row_as_code, pg_column_size(t) AS bytes_in_a_row_as_text
FROM sizes;

\echo
\echo '=================================================================='
\echo ' 2. The check symbol catches typing mistakes'
\echo '=================================================================='
\echo
\echo 'Damm''s algorithm over GF(32): one Crockford base32 symbol appended to'
\echo 'the payload detects every single wrong symbol, every swap of two'
\echo 'neighbours and every twin error (aa typed as bb).'
\echo
SELECT 'X24ET8A3KQ' AS payload, coupon.check_symbol('X24ET8A3KQ') AS check_symbol,
       'X24ET8A3KQ' || coupon.check_symbol('X24ET8A3KQ') AS printed_code;
SELECT typed, coupon.check_valid(typed) AS valid, note
FROM (VALUES ('X24ET8A3KQE', 'as printed'),
             ('x24e-t8a3-kqe', 'lower case, with hyphens'),
             ('X24ET8A3K0E', 'Q mistyped as 0'),
             ('X24TE8A3KQE', 'E and T swapped'),
             ('X24ET8A3KEQ', 'last symbol swapped with the check symbol')) AS t(typed, note);

\echo
\echo '=================================================================='
\echo ' 3. Generation from the server''s strong random source'
\echo '=================================================================='
\echo
\echo 'Default: 10 random symbols and a check symbol.  A pattern keeps its'
\echo 'letters; each # is a random symbol.'
SELECT coupon.generate_code() AS default_code,
       coupon.format(coupon.generate_code('SPRING-####-####'), 5) AS spring_code,
       coupon.generate_code('######', '0123456789', false) AS six_digits,
       coupon.generate_secret() AS secret;

\echo
\echo 'One call returns a million distinct codes:'
\timing on
CREATE TEMP TABLE leaflet AS SELECT c AS code FROM coupon.generate_codes(1000000) c;
\timing off
SELECT count(*) AS codes, count(DISTINCT code) AS distinct_codes,
       count(*) FILTER (WHERE coupon.check_valid(code::text)) AS with_valid_check
FROM leaflet;

\echo
\echo 'A pattern too small for the request is refused, never lengthened:'
\echo 'at most 1/1000 of the possible codes may be issued, so that a blind'
\echo 'guess hits a valid code at most once in 1000 tries.'
\set ON_ERROR_STOP off
SELECT count(*) FROM coupon.generate_codes(5000, 'X-####');
\set ON_ERROR_STOP on
