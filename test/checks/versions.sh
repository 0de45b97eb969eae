# The control file, META.json and CHANGELOG.md agree on the version, and the
# installed extension reports it.
set -euo pipefail
cd "$ROOT"
control=$(sed -n "s/^default_version = '\(.*\)'/\1/p" coupon.control)
meta=$(python3 -c 'import json; m = json.load(open("META.json")); print(m["version"]); assert m["provides"]["coupon"]["version"] == m["version"], "provides.coupon.version differs"')
changelog=$(sed -n 's/^## \[\?\([0-9][0-9.]*\)\]\?.*/\1/p' CHANGELOG.md | head -1)
installed=$("$PGBIN/psql" -X -Atc "SELECT default_version FROM pg_available_extensions WHERE name = 'coupon'")
echo "control=$control META.json=$meta CHANGELOG=$changelog installed=$installed"
[ "$control" = "$meta" ] && [ "$control" = "$changelog" ] && [ "$control" = "$installed" ]
