# pg_dump keeps everything: a database using the extension is dumped and
# restored into a new database, and every table of the extension and of the
# user comes back identical.
set -euo pipefail
P="$PGBIN/psql -X -q -v ON_ERROR_STOP=1"
"$PGBIN/dropdb" --if-exists dump_src; "$PGBIN/dropdb" --if-exists dump_dst
"$PGBIN/createdb" dump_src; "$PGBIN/createdb" dump_dst
$P -d dump_src -f "$ROOT/test/checks/dump_fixture.sql"
"$PGBIN/pg_dump" -Fc -d dump_src -f /tmp/coupon_dump_$$.pgdump
"$PGBIN/pg_restore" --exit-on-error -d dump_dst /tmp/coupon_dump_$$.pgdump
# the derived campaign figures come out right whatever order the tables load
# in: once more with the redemptions loaded before the coupons
"$PGBIN/dropdb" --if-exists dump_rev; "$PGBIN/createdb" dump_rev
"$PGBIN/pg_restore" -l /tmp/coupon_dump_$$.pgdump >/tmp/coupon_list_$$
awk '/ TABLE DATA coupon redemption/ { next }
     / TABLE DATA coupon shop_coupon / { while ((getline l < LIST) > 0) if (l ~ / TABLE DATA coupon redemption/) print l }
     { print }' LIST=/tmp/coupon_list_$$ /tmp/coupon_list_$$ >/tmp/coupon_list_rev_$$
grep -B2 ' TABLE DATA coupon shop_coupon ' /tmp/coupon_list_rev_$$ | grep -q 'TABLE DATA coupon redemption '
"$PGBIN/pg_restore" --exit-on-error -L /tmp/coupon_list_rev_$$ -d dump_rev /tmp/coupon_dump_$$.pgdump
rm -f /tmp/coupon_dump_$$.pgdump /tmp/coupon_list_$$ /tmp/coupon_list_rev_$$
# every table of schemas coupon and public, as sorted text, in both
snapshot() {
  for t in $($P -At -d "$1" -c "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname IN ('coupon', 'public') AND c.relname <> 'campaign_counter' ORDER BY 1"); do
    echo "== $t"
    $P -At -d "$1" -c "SELECT count(*) FROM $t"
    $P -At -d "$1" -c "SELECT md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '')) FROM $t r"
  done
  # derived, not dumped: rebuilt by the triggers while the tables load
  echo "== coupon.campaign_report"
  $P -At -d "$1" -c "SELECT string_agg(r::text, ' ' ORDER BY campaign_id) FROM (SELECT campaign_id, name, coupons, archived, sent, used, redemptions, discount_given, offers, vouchers_sold FROM coupon.campaign_report) r"
}
snapshot dump_src >/tmp/coupon_snap_src_$$
snapshot dump_dst >/tmp/coupon_snap_dst_$$
cat /tmp/coupon_snap_src_$$
rows=$(grep -c '^==' /tmp/coupon_snap_src_$$)
diff /tmp/coupon_snap_src_$$ /tmp/coupon_snap_dst_$$
snapshot dump_rev >/tmp/coupon_snap_rev_$$
diff /tmp/coupon_snap_src_$$ /tmp/coupon_snap_rev_$$
rm -f /tmp/coupon_snap_rev_$$
"$PGBIN/dropdb" dump_rev
rm -f /tmp/coupon_snap_src_$$ /tmp/coupon_snap_dst_$$
echo "$rows tables identical after dump and restore"

# what was locked stays locked, and numbers go on after the restored ones
P2="$PGBIN/psql -X -q -At -v ON_ERROR_STOP=1 -d dump_dst"
[ "$($P2 -c "SELECT count(*) FROM coupon.secret_failure WHERE locked_at IS NOT NULL")" = 1 ]
next=$($P2 -c "SELECT (coupon.sell(variant_id)).number FROM coupon.variant LIMIT 1")
max=$($P2 -c "SELECT max(number) FROM coupon.voucher WHERE number <> $next")
[ "$next" -gt "$max" ] || { echo "voucher number $next reissued (max was $max)"; exit 1; }
echo "after restore: the locked voucher is still locked; the next voucher number is $next > $max"
# the restored coupon keeps its counts and its rules: the held use still counts
[ "$($P2 -c "SELECT used_count || '/' || held_count FROM coupon.shop_coupon WHERE code = 'DUMP20'")" = "1/1" ]
$P2 -c "SELECT coupon.release('DUMP-ORDER-1')" >/dev/null
[ "$($P2 -c "SELECT used_count FROM coupon.shop_coupon WHERE code = 'DUMP20'")" = "0" ]
echo "after restore: coupon DUMP20 counts 1 use and 1 hold, and its redemption can still be released"
"$PGBIN/dropdb" dump_src; "$PGBIN/dropdb" dump_dst
