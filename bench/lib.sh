# bench/lib.sh: timing helpers for the benchmarks.  Sourced.

ensure_locale() {   # ensure_locale en_US.UTF-8
  local l=$1
  locale -a 2>/dev/null | grep -qi "^${l/UTF-8/utf8}$" && return 0
  as_root sed -i "s/^# *\($l .*\)/\1/" /etc/locale.gen
  grep -q "^$l" /etc/locale.gen || echo "$l UTF-8" | as_root tee -a /etc/locale.gen >/dev/null
  as_root locale-gen >/dev/null
}

# ms SQL...: run the statements in one session; prints the milliseconds of
# the last one (earlier ones are set-up)
ms() {
  local out
  out=$("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c '\timing on' "$@" 2>&1) \
    || { echo "$out" >&2; return 1; }
  echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

# best_of N cmd...: the smallest of N timings
best_of() {
  local n=$1 best= t; shift
  for _ in $(seq 1 "$n"); do
    t=$("$@")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# report WHAT OURS BASELINE TARGET_TEXT VERDICT_EXPR
# prints one line: ours, baseline, ratio ours/baseline, target
report() {
  local what=$1 ours=$2 base=$3 target=$4
  printf '  %-64s %10.1f ms %10.1f ms   ratio %6s   %s\n' "$what" "$ours" "$base" "$(ratio "$ours" "$base")" "$target"
}

report_header() {
  printf '\n  %-64s %13s %13s   %12s   %s\n' "measure" "coupon" "baseline" "coupon/base" "target"
}
