-- coupon 0.1.0: the coupon.code type, check symbols, generation.

\echo Use "CREATE EXTENSION coupon" to load this file. \quit

COMMENT ON SCHEMA coupon IS 'coupon extension: codes, vouchers, shop coupons, campaigns';

-- ---------------------------------------------------------------------
-- The code type
-- ---------------------------------------------------------------------

CREATE TYPE coupon.code;

CREATE FUNCTION coupon.code_in(cstring) RETURNS coupon.code
    AS 'MODULE_PATHNAME', 'code_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coupon.code_out(coupon.code) RETURNS cstring
    AS 'MODULE_PATHNAME', 'code_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coupon.code_recv(internal) RETURNS coupon.code
    AS 'MODULE_PATHNAME', 'code_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coupon.code_send(coupon.code) RETURNS bytea
    AS 'MODULE_PATHNAME', 'code_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE coupon.code (
    INPUT = coupon.code_in,
    OUTPUT = coupon.code_out,
    RECEIVE = coupon.code_recv,
    SEND = coupon.code_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = main
);
COMMENT ON TYPE coupon.code IS
    'a coupon code as typed by people: letters A-Z and digits, case-insensitive, spaces and hyphens ignored, 1 to 32 characters; stored packed, ordered by its canonical text without collation';

-- casts: text and varchar read like input; back to text as the canonical form
CREATE FUNCTION coupon.code(text) RETURNS coupon.code
    AS 'MODULE_PATHNAME', 'code_from_text_fn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coupon.text(coupon.code) RETURNS text
    AS 'MODULE_PATHNAME', 'code_to_text_fn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.code(text) IS 'read text as a coupon code (cast text to coupon.code)';
COMMENT ON FUNCTION coupon.text(coupon.code) IS 'canonical text of a coupon code (cast coupon.code to text)';

CREATE CAST (text AS coupon.code) WITH FUNCTION coupon.code(text) AS IMPLICIT;
CREATE CAST (varchar AS coupon.code) WITH FUNCTION coupon.code(text) AS IMPLICIT;
CREATE CAST (coupon.code AS text) WITH FUNCTION coupon.text(coupon.code) AS ASSIGNMENT;
CREATE CAST (coupon.code AS varchar) WITH FUNCTION coupon.text(coupon.code) AS ASSIGNMENT;

-- comparison
CREATE FUNCTION coupon.code_eq(coupon.code, coupon.code) RETURNS boolean
    AS 'MODULE_PATHNAME', 'code_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_ne(coupon.code, coupon.code) RETURNS boolean
    AS 'MODULE_PATHNAME', 'code_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_lt(coupon.code, coupon.code) RETURNS boolean
    AS 'MODULE_PATHNAME', 'code_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_le(coupon.code, coupon.code) RETURNS boolean
    AS 'MODULE_PATHNAME', 'code_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_gt(coupon.code, coupon.code) RETURNS boolean
    AS 'MODULE_PATHNAME', 'code_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_ge(coupon.code, coupon.code) RETURNS boolean
    AS 'MODULE_PATHNAME', 'code_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_cmp(coupon.code, coupon.code) RETURNS integer
    AS 'MODULE_PATHNAME', 'code_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_sortsupport(internal) RETURNS void
    AS 'MODULE_PATHNAME', 'code_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coupon.code_hash(coupon.code) RETURNS integer
    AS 'MODULE_PATHNAME', 'code_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION coupon.code_hash_extended(coupon.code, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'code_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

-- The operators live in pg_catalog, which is always searched, so that
-- "code = 'X24ET8'" works whatever the search_path; their arguments are
-- coupon.code, so they cannot clash with any other operator.
CREATE OPERATOR pg_catalog.= (
    LEFTARG = coupon.code, RIGHTARG = coupon.code, FUNCTION = coupon.code_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = coupon.code, RIGHTARG = coupon.code, FUNCTION = coupon.code_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR pg_catalog.< (
    LEFTARG = coupon.code, RIGHTARG = coupon.code, FUNCTION = coupon.code_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = coupon.code, RIGHTARG = coupon.code, FUNCTION = coupon.code_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR pg_catalog.> (
    LEFTARG = coupon.code, RIGHTARG = coupon.code, FUNCTION = coupon.code_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = coupon.code, RIGHTARG = coupon.code, FUNCTION = coupon.code_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS coupon.code_ops
    DEFAULT FOR TYPE coupon.code USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 coupon.code_cmp(coupon.code, coupon.code),
        FUNCTION 2 coupon.code_sortsupport(internal);

CREATE OPERATOR CLASS coupon.code_hash_ops
    DEFAULT FOR TYPE coupon.code USING hash AS
        OPERATOR 1 pg_catalog.= ,
        FUNCTION 1 coupon.code_hash(coupon.code),
        FUNCTION 2 coupon.code_hash_extended(coupon.code, bigint);

COMMENT ON FUNCTION coupon.code_cmp(coupon.code, coupon.code) IS 'btree comparison of coupon codes';
COMMENT ON FUNCTION coupon.code_eq(coupon.code, coupon.code) IS 'implementation of = for coupon codes';
COMMENT ON FUNCTION coupon.code_ne(coupon.code, coupon.code) IS 'implementation of <> for coupon codes';
COMMENT ON FUNCTION coupon.code_lt(coupon.code, coupon.code) IS 'implementation of < for coupon codes';
COMMENT ON FUNCTION coupon.code_le(coupon.code, coupon.code) IS 'implementation of <= for coupon codes';
COMMENT ON FUNCTION coupon.code_gt(coupon.code, coupon.code) IS 'implementation of > for coupon codes';
COMMENT ON FUNCTION coupon.code_ge(coupon.code, coupon.code) IS 'implementation of >= for coupon codes';
COMMENT ON FUNCTION coupon.code_sortsupport(internal) IS 'sort support for coupon codes, with abbreviated keys';
COMMENT ON FUNCTION coupon.code_hash(coupon.code) IS 'hash of a coupon code';
COMMENT ON FUNCTION coupon.code_hash_extended(coupon.code, bigint) IS 'seeded 64-bit hash of a coupon code';

CREATE FUNCTION coupon.format(code coupon.code, group_size integer DEFAULT 4) RETURNS text
    AS 'MODULE_PATHNAME', 'code_format' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.format(coupon.code, integer) IS
    'display form of a code, a hyphen between groups of group_size characters: format(''X24ET8A3KQ'', 4) = X24E-T8A3-KQ';

-- ---------------------------------------------------------------------
-- Check symbol: Damm over GF(32), Crockford base32
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.check_symbol(payload text) RETURNS text
    AS 'MODULE_PATHNAME', 'check_symbol_fn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.check_symbol(text) IS
    'the Crockford base32 check symbol (Damm over GF(32)) to append to a payload';

CREATE FUNCTION coupon.check_valid(code text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'check_valid_fn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.check_valid(text) IS
    'true when the last symbol of a code is the check symbol of the rest';

-- ---------------------------------------------------------------------
-- Generation
-- ---------------------------------------------------------------------

CREATE FUNCTION coupon.generate_code(
        pattern text DEFAULT '##########',
        alphabet text DEFAULT '0123456789ABCDEFGHJKMNPQRSTVWXYZ',
        with_check boolean DEFAULT true)
    RETURNS coupon.code
    AS 'MODULE_PATHNAME', 'generate_code' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.generate_code(text, text, boolean) IS
    'a random code: each # of the pattern is a random symbol of the alphabet, other characters are kept; with_check appends the check symbol';

CREATE FUNCTION coupon.generate_codes(
        n bigint,
        pattern text DEFAULT '##########',
        alphabet text DEFAULT '0123456789ABCDEFGHJKMNPQRSTVWXYZ',
        with_check boolean DEFAULT true)
    RETURNS SETOF coupon.code
    AS 'MODULE_PATHNAME', 'generate_codes' LANGUAGE C VOLATILE STRICT PARALLEL SAFE
    ROWS 1000;
COMMENT ON FUNCTION coupon.generate_codes(bigint, text, text, boolean) IS
    'n distinct random codes of the pattern; refused when n exceeds 1/1000 of the pattern''s space';

CREATE FUNCTION coupon.generate_secret(length integer DEFAULT 2) RETURNS text
    AS 'MODULE_PATHNAME', 'generate_secret' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coupon.generate_secret(integer) IS
    'a random secret of length Crockford base32 symbols (no check symbol)';

COMMENT ON FUNCTION coupon.code_in(cstring) IS 'text input of coupon.code';
COMMENT ON FUNCTION coupon.code_out(coupon.code) IS 'text output of coupon.code';
COMMENT ON FUNCTION coupon.code_recv(internal) IS 'binary input of coupon.code';
COMMENT ON FUNCTION coupon.code_send(coupon.code) IS 'binary output of coupon.code: version byte 1, then the canonical characters';
