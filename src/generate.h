/*
 * generate.h
 *		Server side of code generation, for the domain modules that issue
 *		codes and secrets (vouchers, coupons, campaigns).
 */
#ifndef COUPON_GENERATE_H
#define COUPON_GENERATE_H

#include "postgres.h"

#include "gen_core.h"

/* GenFill over pg_strong_random; a failure of the source is an ERROR */
extern void gen_fill_strong(void *ctx, uint8_t *buf, size_t n);

/* gen_compile, reporting a bad pattern or alphabet as 22023 */
extern void gen_compile_or_error(GenPattern *p, text *pattern, text *alphabet,
								 bool check);

/* refuse (CP001) n codes that exceed 1/1000 of the pattern's space */
extern void gen_check_count(const GenPattern *p, int64 n, text *pattern);

/* a palloc'd secret of length Crockford symbols */
extern char *gen_secret(int length);

#endif							/* COUPON_GENERATE_H */
