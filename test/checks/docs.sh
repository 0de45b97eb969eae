# Documentation is part of the feature: every SQLSTATE of src/coupon_errors.h
# is in the table of doc/sqlstates.md, and every function, type, view and
# table of the installed extension, and every coupon.* setting, is named in doc/.
set -euo pipefail
cd "$ROOT"
missing=0
for code in $(grep -oE "MAKE_SQLSTATE\('C','P','[0-9A-Z]','[0-9A-Z]','[0-9A-Z]'\)" src/coupon_errors.h \
              | sed -E "s/MAKE_SQLSTATE\('(.)','(.)','(.)','(.)','(.)'\)/\1\2\3\4\5/"); do
  grep -q "| \`$code\`" doc/sqlstates.md || { echo "SQLSTATE $code is not in doc/sqlstates.md"; missing=1; }
done
objects=$("$PGBIN/psql" -X -At -d coupon_test <<'SQL'
SELECT DISTINCT coalesce(p.proname::text, t.typname::text, c.relname::text)
FROM pg_depend d
LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
LEFT JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid AND t.typelem = 0 AND t.typrelid = 0
LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND c.relkind IN ('r', 'v', 'm', 'p')
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'coupon')
  AND coalesce(p.proname::text, t.typname::text, c.relname::text) IS NOT NULL
ORDER BY 1;
SELECT name FROM pg_settings WHERE name LIKE 'coupon.%';
SQL
)
for o in $objects; do
  grep -rqw -- "$o" doc/ || { echo "$o is not documented in doc/"; missing=1; }
done
echo "$(echo "$objects" | wc -w) objects checked"
exit $missing
