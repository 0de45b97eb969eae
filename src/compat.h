/*
 * compat.h
 *		Version guards for PostgreSQL 13 to 17.
 */
#ifndef COUPON_COMPAT_H
#define COUPON_COMPAT_H

#include "postgres.h"
#include "fmgr.h"

#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
/* soft input errors (pg_input_is_valid) */
#define COUPON_ESCONTEXT(fcinfo) ((fcinfo)->context)
#else
#define COUPON_ESCONTEXT(fcinfo) ((Node *) NULL)
#define ereturn(context, dummy_value, ...) \
	do { \
		(void) (context); \
		ereport(ERROR, __VA_ARGS__); \
		return dummy_value; \
	} while (0)
#endif

/* fmgroids.h names functions by their SQL name from 14 on */
#if PG_VERSION_NUM < 140000
#define F_TIMESTAMPTZ_GT F_TIMESTAMP_GT
#endif

#endif							/* COUPON_COMPAT_H */
