/*
 * allocate.h
 *		Server glue of the allocation core (alloc_core.h).
 */
#ifndef COUPON_ALLOCATE_H
#define COUPON_ALLOCATE_H

#include "postgres.h"

#include "alloc_core.h"

/* palloc'd scratch space for alloc_largest_remainder, suitably aligned */
extern void *alloc_scratch(size_t n);

/* raise the error of a failed allocation; what_total names the amount */
extern void alloc_report(AllocResult r, const char *what_total);

#endif							/* COUPON_ALLOCATE_H */
