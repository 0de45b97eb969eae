-- No function of the extension crashes on NULL arguments: each is called
-- with every argument NULL in turn, then with all of them NULL; each call
-- either returns or raises an error, and the server stays up.
BEGIN;
SELECT plan(2);
\set QUIET on
CREATE TEMP TABLE null_calls (fn text, call text, sqlstate text);
DO $$
DECLARE
  f record;
  i int;
  args text[];
  call text;
BEGIN
  FOR f IN
    SELECT p.oid, p.oid::regprocedure::text AS sig, p.prokind, p.pronargs,
           array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) t) AS types
    FROM pg_proc p
    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'coupon')
      AND p.prorettype <> 'trigger'::regtype AND p.prorettype <> 'internal'::regtype
      AND p.prorettype <> 'cstring'::regtype
      AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t JOIN pg_type y ON y.oid = t WHERE y.typtype = 'p')
      AND p.proname NOT IN ('schedule_expiry', 'unschedule_expiry', 'expire_due')   -- touch pg_cron / commit
    ORDER BY 2
  LOOP
    FOR i IN 0 .. f.pronargs LOOP
      CONTINUE WHEN f.pronargs = 0 AND i > 0;
      args := array(SELECT CASE WHEN i = 0 OR j = i THEN 'NULL::' || f.types[j] ELSE
                        CASE f.types[j] WHEN 'coupon.code' THEN '''ABC123''::coupon.code'
                                        WHEN 'text' THEN '''x''' WHEN 'jsonb' THEN '''{}''::jsonb'
                                        WHEN 'integer' THEN '1' WHEN 'bigint' THEN '1' WHEN 'numeric' THEN '1'
                                        WHEN 'boolean' THEN 'true' WHEN 'date' THEN 'current_date'
                                        ELSE 'NULL::' || f.types[j] END END
                    FROM generate_series(1, f.pronargs) j);
      call := CASE WHEN f.prokind = 'p' THEN 'CALL ' ELSE 'SELECT ' END
              || (f.oid::regproc)::text || '(' || array_to_string(args, ', ') || ')';
      BEGIN
        EXECUTE call;
        INSERT INTO null_calls VALUES (f.sig, call, NULL);
      EXCEPTION WHEN OTHERS THEN
        INSERT INTO null_calls VALUES (f.sig, call, SQLSTATE);
      END;
    END LOOP;
  END LOOP;
END $$;
SELECT ok((SELECT count(DISTINCT fn) FROM null_calls) >= 70, 'every function of the extension was called with NULLs');
SELECT is((SELECT count(*)::int FROM null_calls WHERE sqlstate = 'XX000'), 0, 'none failed with an internal error');
SELECT * FROM finish();
ROLLBACK;
