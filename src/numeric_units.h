/*
 * numeric_units.h
 *		Money as integer minor units: numeric <-> int64 at a decimal scale,
 *		exact, fast (numeric_units.c).
 */
#ifndef COUPON_NUMERIC_UNITS_H
#define COUPON_NUMERIC_UNITS_H

#include "postgres.h"

#include "utils/numeric.h"

#define NUMUNITS_MAX INT64CONST(1000000000000000000)	/* 10^18 */

typedef enum NumUnits
{
	NUMUNITS_OK = 0,
	NUMUNITS_NOT_EXACT,			/* more decimals than the scale */
	NUMUNITS_OUT_OF_RANGE,		/* beyond 10^18 units */
	NUMUNITS_SPECIAL			/* NaN or infinity */
} NumUnits;

/*
 * num * 10^scale as an integer.  Unless floor_it, a value with more
 * decimals than scale is NUMUNITS_NOT_EXACT; with floor_it (for values that
 * are not negative) the extra decimals are dropped.
 */
extern NumUnits numeric_to_units(Numeric num, int scale, bool floor_it, int64 *out);

/* units / 10^scale as a numeric of that scale */
extern Datum units_to_numeric(int64 units, int scale);

/* the display scale (decimals) of a numeric */
extern int	numeric_decimals(Numeric num);

#endif							/* COUPON_NUMERIC_UNITS_H */
