# bench/01_codes.sh: the code type, generation and the check symbol.
# Sourced by bench/run.sh, with the cluster up and database "bench".

psql_q <<'SQL'
-- the hand-written baselines: the same algorithms in PL/pgSQL, with random()
CREATE OR REPLACE FUNCTION plpgsql_check_symbol(payload text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  r int := 0;
  t int;
  i int;
BEGIN
  FOR i IN 1..length(payload) LOOP
    t := (r # (strpos(alphabet, substr(payload, i, 1)) - 1)) << 1;
    IF t & 32 <> 0 THEN t := t # 37; END IF;
    r := t;
  END LOOP;
  RETURN substr(alphabet, r + 1, 1);
END $$;
CREATE OR REPLACE FUNCTION plpgsql_check_valid(code text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  r int := 0;
  t int;
  i int;
BEGIN
  FOR i IN 1..length(code) LOOP
    t := (r # (strpos(alphabet, substr(code, i, 1)) - 1)) << 1;
    IF t & 32 <> 0 THEN t := t # 37; END IF;
    r := t;
  END LOOP;
  RETURN r = 0;
END $$;
CREATE OR REPLACE FUNCTION plpgsql_generate_code() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  payload text := '';
  i int;
BEGIN
  FOR i IN 1..10 LOOP
    payload := payload || substr(alphabet, 1 + floor(random() * 32)::int, 1);
  END LOOP;
  RETURN payload || plpgsql_check_symbol(payload);
END $$;
SQL

N=1000000
report_header

gen=$(best_of 3 ms -c "DROP TABLE IF EXISTS b_code; CREATE TABLE b_code (code coupon.code NOT NULL); CREATE UNIQUE INDEX ON b_code (code);" \
  -c "INSERT INTO b_code SELECT coupon.generate_codes($N)")
big=$(best_of 3 ms -c "DROP TABLE IF EXISTS b_big; CREATE TABLE b_big (code bigint NOT NULL); CREATE UNIQUE INDEX ON b_big (code);" \
  -c "INSERT INTO b_big SELECT (random() * 9.2e18)::bigint FROM generate_series(1, $N)")
plg=$(best_of 3 ms -c "DROP TABLE IF EXISTS b_plg; CREATE TABLE b_plg (code text NOT NULL); CREATE UNIQUE INDEX ON b_plg (code);" \
  -c "INSERT INTO b_plg SELECT plpgsql_generate_code() FROM generate_series(1, $N)")
report "generate+insert 1M checked codes vs 1M random bigint keys" "$gen" "$big" "target <= 1.30"
report "generate+insert 1M checked codes vs PL/pgSQL + random() + text" "$gen" "$plg" "target <= 0.50 (2x faster)"

# the same 1M codes as a file, for input
psql_q -c "COPY b_code TO '$CLUSTER_DIR/codes.txt'"
cin=$(best_of 3 ms -c "DROP TABLE IF EXISTS in_code; CREATE TABLE in_code (c coupon.code)" -c "COPY in_code FROM '$CLUSTER_DIR/codes.txt'")
tin=$(best_of 3 ms -c "DROP TABLE IF EXISTS in_text; CREATE TABLE in_text (c text)" -c "COPY in_text FROM '$CLUSTER_DIR/codes.txt'")
report "input: COPY 1M codes into coupon.code vs into text" "$cin" "$tin" "(input costs reading and packing)"

psql_q -c "VACUUM ANALYZE in_code" -c "VACUUM ANALYZE in_text"
csort=$(best_of 3 ms -c "SET work_mem = '512MB'" -c "SELECT c FROM in_code ORDER BY c OFFSET $((N - 1))")
tsort=$(best_of 3 ms -c "SET work_mem = '512MB'" -c "SELECT c FROM in_text ORDER BY c OFFSET $((N - 1))")
report "sort 1M: coupon.code vs text (en_US.UTF-8 collation)" "$csort" "$tsort" "target < 1.00"
tsortc=$(best_of 3 ms -c "SET work_mem = '512MB'" -c "SELECT c FROM in_text ORDER BY c COLLATE \"C\" OFFSET $((N - 1))")
report "sort 1M: coupon.code vs text COLLATE \"C\"" "$csort" "$tsortc" "(for reference)"

psql_q -c "CREATE INDEX in_code_i ON in_code (c)" -c "CREATE INDEX in_text_i ON in_text (c)"
read -r ci ti ch th < <("$PGBIN/psql" -X -At -F ' ' -c "SELECT pg_relation_size('in_code_i'), pg_relation_size('in_text_i'), pg_relation_size('in_code'), pg_relation_size('in_text')")
printf '  %-58s %10s MB %10s MB   ratio %6s   %s\n' "btree index size, 1M codes of 11: coupon.code vs text" \
  "$((ci / 1048576))" "$((ti / 1048576))" "$(ratio "$ci" "$ti")" "target <= 1.00"
printf '  %-58s %10s MB %10s MB   ratio %6s   %s\n' "table size, 1M codes of 11: coupon.code vs text" \
  "$((ch / 1048576))" "$((th / 1048576))" "$(ratio "$ch" "$th")" "target <= 1.00"

chk=$(best_of 3 ms -c "SELECT count(*) FILTER (WHERE coupon.check_valid(c)) FROM in_text")
pchk=$(best_of 1 ms -c "SELECT count(*) FILTER (WHERE plpgsql_check_valid(c)) FROM in_text")
report "check symbol over 1M codes vs the same in PL/pgSQL" "$chk" "$pchk" "target <= 0.05 (20x faster)"
psql_q -c "DROP TABLE b_code, b_big, b_plg, in_code, in_text"
rm -f "$CLUSTER_DIR/codes.txt"
