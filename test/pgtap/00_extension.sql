-- The extension as a DBA meets it: schema, type, functions, operators,
-- casts, operator classes, comments, version.
BEGIN;
SELECT plan(26);

SELECT has_extension('coupon', 'coupon', 'coupon is installed in schema coupon');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'coupon'), false,
          'the extension is not relocatable');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'coupon'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'coupon'),
          'the installed version is the default version of the control file');
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
           WHERE e.extname = 'coupon' AND d.classid = 'pg_extension'::regclass
             AND d.objid = (SELECT oid FROM pg_extension WHERE extname = 'pg_cron')), 0,
          'pg_cron is not a requirement');

SELECT has_type('coupon', 'code', 'type coupon.code exists');
SELECT is((SELECT typlen::int FROM pg_type WHERE oid = 'coupon.code'::regtype), -1,
          'coupon.code is variable length');
SELECT is((SELECT typstorage::text FROM pg_type WHERE oid = 'coupon.code'::regtype), 'm',
          'coupon.code is stored inline (short headers in tuples and indexes)');
SELECT isnt((SELECT typreceive::oid FROM pg_type WHERE oid = 'coupon.code'::regtype), 0::oid,
            'coupon.code has binary receive');
SELECT isnt((SELECT typsend::oid FROM pg_type WHERE oid = 'coupon.code'::regtype), 0::oid,
            'coupon.code has binary send');

SELECT has_cast('text', 'coupon.code', 'cast text -> coupon.code');
SELECT has_cast('character varying', 'coupon.code', 'cast varchar -> coupon.code');
SELECT has_cast('coupon.code', 'text', 'cast coupon.code -> text');
SELECT cast_context_is('text', 'coupon.code', 'implicit',
                       'text is read as a code where a code is expected');
SELECT cast_context_is('coupon.code', 'text', 'assignment',
                       'a code becomes text on assignment or explicitly');

SELECT set_eq($$
  SELECT oprname::text FROM pg_operator
  WHERE oprnamespace = 'pg_catalog'::regnamespace
    AND oprleft = 'coupon.code'::regtype AND oprright = 'coupon.code'::regtype
    AND oprresult = 'boolean'::regtype
$$, ARRAY['=', '<>', '<', '<=', '>', '>='],
  'the six comparison operators of coupon.code are in pg_catalog, found whatever the search_path');
SELECT has_opclass('coupon', 'code_ops', 'btree operator class');
SELECT has_opclass('coupon', 'code_hash_ops', 'hash operator class');
SELECT is((SELECT count(*)::int FROM pg_amproc p JOIN pg_opfamily f ON f.oid = p.amprocfamily
           WHERE f.opfname = 'code_hash_ops' AND p.amprocnum = 2), 1,
          'the hash operator class has the extended hash function');

SELECT function_returns('coupon', 'generate_code', ARRAY['text', 'text', 'boolean'], 'coupon.code',
                        'generate_code returns a coupon.code');
SELECT function_returns('coupon', 'generate_codes', ARRAY['bigint', 'text', 'text', 'boolean'], 'setof coupon.code',
                        'generate_codes returns a set of coupon.code');
SELECT volatility_is('coupon', 'generate_code', ARRAY['text', 'text', 'boolean'], 'volatile',
                     'generate_code is volatile');
SELECT volatility_is('coupon', 'check_symbol', ARRAY['text'], 'immutable',
                     'check_symbol is immutable');

-- every object of the extension has a comment (\dx+ is the first documentation)
SELECT is_empty($$
  SELECT pg_describe_object(d.classid, d.objid, 0)
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass
    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'coupon')
    AND d.deptype = 'e'
    AND d.classid IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_class'::regclass)
    AND obj_description(d.objid, d.classid::regclass::text) IS NULL
    AND NOT (d.classid = 'pg_type'::regclass
             AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = d.objid AND t.typelem <> 0))
$$, 'every function, type and relation of the extension has a comment');

SELECT is(coupon.format(coupon.generate_code('X-##-##-##', with_check => false), 2) ~ '^X[0-9A-Z]-', true,
          'format groups a generated code');

-- defaults work with no argument at all
SELECT is(length(coupon.generate_code()::text), 11, 'generate_code() gives 10 symbols and a check symbol');
SELECT is(length(coupon.generate_secret()), 2, 'generate_secret() gives 2 symbols');

SELECT * FROM finish();
ROLLBACK;
