/*
 * alloc_core.h
 *		Server-free exact allocation: spread an amount of integer minor units
 *		over lines in proportion to their weights, without exceeding each
 *		line's cap, by the largest-remainder method.
 *
 * The shares are integers, add up exactly to min(total, sum of the caps of
 * the lines with a positive weight), and each share is within one unit of
 * its exact proportional value (its quota) when no cap binds.  Lines whose
 * quota exceeds their cap get the cap; the rest is spread again over the
 * other lines.  The units left after flooring the quotas go one each to
 * the lines with the largest remainders; ties go to the larger weight, then
 * to the lower position.  Lines of weight 0 get 0.
 *
 * Bounds (checked by alloc_check_bounds): total, weights and caps at most
 * ALLOC_MAX_VALUE, at most ALLOC_MAX_LINES lines, so that every product
 * fits in 128 bits.
 */
#ifndef COUPON_ALLOC_CORE_H
#define COUPON_ALLOC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALLOC_MAX_VALUE  INT64_C(1000000000000000000)	/* 10^18 */
#define ALLOC_MAX_LINES  100000

typedef enum AllocStatus
{
	ALLOC_OK = 0,
	ALLOC_NO_LINES,
	ALLOC_TOO_MANY_LINES,
	ALLOC_NEGATIVE_TOTAL,
	ALLOC_NEGATIVE_WEIGHT,		/* at: the line */
	ALLOC_NEGATIVE_CAP,			/* at: the line */
	ALLOC_ALL_ZERO,
	ALLOC_TOO_LARGE				/* at: the line, or -1 for the total */
} AllocStatus;

typedef struct AllocResult
{
	AllocStatus status;
	long		at;
	int64_t		allocated;		/* sum of the shares */
} AllocResult;

/* bytes of scratch space alloc_largest_remainder needs for n lines */
extern size_t alloc_scratch_size(size_t n);

/*
 * caps may be NULL (no caps).  shares gets n values.  scratch holds
 * alloc_scratch_size(n) bytes, aligned for 128-bit integers.
 */
extern AllocResult alloc_largest_remainder(int64_t total, const int64_t *weights,
										   const int64_t *caps, size_t n,
										   int64_t *shares, void *scratch);

#endif							/* COUPON_ALLOC_CORE_H */
