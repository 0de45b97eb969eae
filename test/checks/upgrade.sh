# The upgrade chain: every upgrade script takes a database at the version
# before it to a state equal to a fresh install of the version after it
# (same objects, same function definitions, same privileges), and keeps the
# data: a fixture written at the old version is still there and usable.
set -euo pipefail
cd "$ROOT"
P="$PGBIN/psql -X -q -v ON_ERROR_STOP=1"

catalog() {   # a description of the extension's objects, to compare
  $P -At -d "$1" <<'SQL'
SELECT 'object ' || pg_describe_object(classid, objid, objsubid)
FROM pg_depend d
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'coupon')
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) || ' ' || coalesce(p.proacl::text, '')
FROM pg_proc p WHERE p.pronamespace = 'coupon'::regnamespace AND p.prokind IN ('f', 'p')
UNION ALL
SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relnamespace = 'coupon'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'acl ' || c.oid::regclass || ' ' || coalesce(c.relacl::text, '') || ' rls=' || c.relrowsecurity
FROM pg_class c WHERE c.relnamespace = 'coupon'::regnamespace
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'coupon'::regnamespace
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'coupon'::regnamespace
UNION ALL
SELECT 'policy ' || tablename || ' ' || policyname || ' ' || coalesce(qual, '') || ' ' || roles::text
FROM pg_policies WHERE schemaname = 'coupon'
UNION ALL
SELECT 'config ' || unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'coupon'
ORDER BY 1
SQL
}

scripts=$(ls coupon--*--*.sql | sort -V)
[ -n "$scripts" ] || { echo "no upgrade script yet"; exit 1; }
for s in $scripts; do
  from=$(echo "$s" | sed -E 's/coupon--(.*)--(.*)\.sql/\1/')
  to=$(echo "$s" | sed -E 's/coupon--(.*)--(.*)\.sql/\2/')
  echo "== $from -> $to"
  "$PGBIN/dropdb" --if-exists upgrade_old; "$PGBIN/dropdb" --if-exists upgrade_new
  "$PGBIN/createdb" upgrade_old; "$PGBIN/createdb" upgrade_new
  $P -d upgrade_old -c "CREATE EXTENSION coupon VERSION '$from'"
  [ -f "test/checks/upgrade_fixture--$from.sql" ] && $P -d upgrade_old -f "test/checks/upgrade_fixture--$from.sql"
  $P -d upgrade_old -c "ALTER EXTENSION coupon UPDATE TO '$to'"
  [ "$($P -At -d upgrade_old -c "SELECT extversion FROM pg_extension WHERE extname = 'coupon'")" = "$to" ]
  [ -f "test/checks/upgrade_check--$from.sql" ] && $P -d upgrade_old -f "test/checks/upgrade_check--$from.sql"
  $P -d upgrade_new -c "CREATE EXTENSION coupon VERSION '$to'"
  catalog upgrade_old > /tmp/coupon_upg_old_$$
  catalog upgrade_new > /tmp/coupon_upg_new_$$
  if ! diff /tmp/coupon_upg_old_$$ /tmp/coupon_upg_new_$$; then
    rm -f /tmp/coupon_upg_*_$$; echo "upgraded $from -> $to differs from a fresh $to"; exit 1
  fi
  echo "   $(wc -l < /tmp/coupon_upg_new_$$) catalog facts identical; data kept"
  rm -f /tmp/coupon_upg_*_$$
done
"$PGBIN/dropdb" upgrade_old; "$PGBIN/dropdb" upgrade_new
