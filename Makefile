# coupon: a PostgreSQL extension (PGXS)
#
#   make                        build
#   make install                install into the server of PG_CONFIG
#   make installcheck           pg_regress and isolation tests on a running server
#   make unit                   server-free unit tests of the C core
#
# Warnings as errors come from the caller: make PG_CFLAGS="-Wall -Wextra -Werror"

EXTENSION   = coupon
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" coupon.control)

MODULE_big  = coupon
CORE_OBJS   = src/code_pack.o src/check_symbol.o src/gen_core.o src/alloc_core.o
OBJS        = src/coupon.o src/code_type.o src/check_fn.o src/generate.o \
              src/caller.o src/spi_util.o src/direct.o src/attempts.o src/voucher.o src/cron.o \
              src/allocate.o src/shop.o src/numeric_units.o src/bulk.o src/campaign_counter.o \
              $(CORE_OBJS)

# The install script of the newest version is the first version's script
# followed by every upgrade script, so that a fresh install and an upgraded
# one run the same statements.
BASE_SCRIPT     = coupon--0.1.0.sql
UPGRADE_SCRIPTS = $(sort $(wildcard coupon--*--*.sql))
ifeq ($(EXTVERSION),0.1.0)
DATA        = $(BASE_SCRIPT)
else
DATA        = $(BASE_SCRIPT) $(UPGRADE_SCRIPTS)
DATA_built  = coupon--$(EXTVERSION).sql
endif
DOCS        = $(wildcard doc/*.md)
ifeq ($(DOCS),)
undefine DOCS
endif

REGRESS     = code_type check_symbol generate fuzz_code vouchers allocate
REGRESS_OPTS = --load-extension=coupon
ISOLATION   = code_unique_race voucher_activate_race voucher_counter_race voucher_refund_race voucher_expire_race \
              coupon_limit_race coupon_once_race coupon_release_race coupon_set_limit_race \
              bulk_race
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=coupon

EXTRA_CLEAN = results/ regression.diffs regression.out output_iso/ \
              test/unit/test_core test/fuzz/fuzz_core fuzz_corpus/ bench/alloc_exactness

PG_CONFIG  ?= pg_config
PGXS       := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

coupon--$(EXTVERSION).sql: $(BASE_SCRIPT) $(UPGRADE_SCRIPTS)
	cat $^ > $@

UNIT_CFLAGS = -O2 -g -std=c99 -Wall -Wextra -Werror -Isrc
test/unit/test_core: test/unit/test_core.c $(CORE_OBJS:.o=.c) src/*.h
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/test_core.c $(CORE_OBJS:.o=.c)

unit: test/unit/test_core
	test/unit/test_core

.PHONY: unit

# libFuzzer over the same core, with address and undefined-behaviour sanitizers
FUZZ_RUNS ?= 2000000
test/fuzz/fuzz_core: test/fuzz/fuzz_core.c $(CORE_OBJS:.o=.c) src/*.h
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Isrc -o $@ test/fuzz/fuzz_core.c $(CORE_OBJS:.o=.c)

fuzz: test/fuzz/fuzz_core
	rm -rf fuzz_corpus && cp -r test/fuzz/corpus fuzz_corpus
	test/fuzz/fuzz_core -runs=$(FUZZ_RUNS) -max_len=96 -seed=1 \
		-artifact_prefix=fuzz_corpus/ fuzz_corpus 2>&1 | tail -3

.PHONY: fuzz

# the exactness run of bench/03_shop.sh
bench/alloc_exactness: bench/alloc_exactness.c src/alloc_core.c src/alloc_core.h
	$(CC) $(UNIT_CFLAGS) -o $@ bench/alloc_exactness.c src/alloc_core.c
