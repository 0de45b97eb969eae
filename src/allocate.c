/*
 * allocate.c
 *		coupon.allocate(amount, weights, caps, minor_unit): the SQL face of the
 *		largest-remainder allocation (alloc_core.h), in integer minor units.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "alloc_core.h"
#include "allocate.h"
#include "numeric_units.h"

/* the elements of a one-dimensional numeric array; NULLs refused */
static Datum *
numeric_elements(ArrayType *a, const char *what, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			i;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(a, NUMERICOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	for (i = 0; i < *n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s[%d] is null", what, i + 1)));
	return elems;
}

static void
refuse_null(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* a numeric in units at scale, or the error that says why not */
static int64
units(Datum d, int scale, bool floor_it, const char *what, int pos)
{
	int64		u = 0;

	switch (numeric_to_units(DatumGetNumeric(d), scale, floor_it, &u))
	{
		case NUMUNITS_OK:
			return u;
		case NUMUNITS_NOT_EXACT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the %s has more decimals than the minor unit allows", what),
					 errhint("Round it to the minor unit first, the way it should be rounded.")));
			break;
		case NUMUNITS_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 pos > 0 ? errmsg("%s[%d] is too large to allocate", what, pos)
					 : errmsg("%s is too large to allocate", what),
					 errdetail("Values are counted in minor units, at most 10^18 of them.")));
			break;
		case NUMUNITS_SPECIAL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 pos > 0 ? errmsg("%s[%d] is not a number", what, pos)
					 : errmsg("%s is not a number", what)));
			break;
	}
	pg_unreachable();
}

/* k when minor_unit is 10^-k, 0 <= k <= 6; -1 otherwise */
static int
minor_scale(Datum minor)
{
	int64		m;
	int			k;

	if (numeric_to_units(DatumGetNumeric(minor), 6, false, &m) != NUMUNITS_OK || m <= 0)
		return -1;
	for (k = 6; k >= 0; k--, m /= 10)
	{
		if (m == 1)
			return k;
		if (m % 10 != 0)
			return -1;
	}
	return -1;
}

void *
alloc_scratch(size_t n)
{
	/* 128-bit integers want 16-byte alignment; palloc gives MAXALIGN */
	return (void *) TYPEALIGN(16, palloc(alloc_scratch_size(n) + 16));
}

void
alloc_report(AllocResult r, const char *what_total)
{
	switch (r.status)
	{
		case ALLOC_OK:
			return;
		case ALLOC_NO_LINES:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("there are no weights to spread the %s over", what_total)));
			break;
		case ALLOC_TOO_MANY_LINES:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("at most %d weights can be allocated over", ALLOC_MAX_LINES)));
			break;
		case ALLOC_NEGATIVE_TOTAL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the %s to allocate must not be negative", what_total)));
			break;
		case ALLOC_NEGATIVE_WEIGHT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights[%ld] is negative", r.at + 1)));
			break;
		case ALLOC_NEGATIVE_CAP:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("caps[%ld] is negative", r.at + 1)));
			break;
		case ALLOC_ALL_ZERO:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("all weights are zero: there is nothing to spread the %s over", what_total)));
			break;
		case ALLOC_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("a value is too large to allocate"),
					 errdetail("Values are counted in minor units, at most 10^18 of them.")));
			break;
	}
}

PG_FUNCTION_INFO_V1(allocate_fn);
Datum
allocate_fn(PG_FUNCTION_ARGS)
{
	Datum	   *w_elems;
	Datum	   *c_elems = NULL;
	int			n, nc = 0, i;
	int			k;
	int			wscale = 0;
	int64		total;
	int64	   *weights, *caps = NULL, *shares;
	Datum	   *out;
	AllocResult r;

	refuse_null(fcinfo, 0, "amount");
	refuse_null(fcinfo, 1, "weights");
	refuse_null(fcinfo, 3, "minor_unit");
	k = minor_scale(PG_GETARG_DATUM(3));
	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("minor_unit must be a power of ten from 0.000001 to 1"),
				 errhint("Use 0.01 for cents, 1 for currencies without a minor unit, 0.001 for mills.")));
	total = units(PG_GETARG_DATUM(0), k, false, "amount", 0);
	if (total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the amount to allocate must not be negative")));
	w_elems = numeric_elements(PG_GETARG_ARRAYTYPE_P(1), "weights", &n);
	if (!PG_ARGISNULL(2))
	{
		c_elems = numeric_elements(PG_GETARG_ARRAYTYPE_P(2), "caps", &nc);
		if (nc != n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("caps and weights need as many elements, not %d and %d", nc, n),
					 errhint("Give one cap per weight, or no caps at all.")));
	}
	if (n == 0)
		alloc_report((AllocResult) {ALLOC_NO_LINES, -1, 0}, "amount");

	/* weights as integers at their largest scale; caps floored to minor units */
	for (i = 0; i < n; i++)
		wscale = Max(wscale, numeric_decimals(DatumGetNumeric(w_elems[i])));
	weights = palloc(n * sizeof(int64));
	for (i = 0; i < n; i++)
		weights[i] = units(w_elems[i], wscale, false, "weights", i + 1);
	if (c_elems != NULL)
	{
		caps = palloc(n * sizeof(int64));
		for (i = 0; i < n; i++)
		{
			caps[i] = units(c_elems[i], k, true, "caps", i + 1);
			if (caps[i] < 0)
				alloc_report((AllocResult) {ALLOC_NEGATIVE_CAP, i, 0}, "amount");
		}
	}
	shares = palloc(n * sizeof(int64));
	r = alloc_largest_remainder(total, weights, caps, n, shares, alloc_scratch(n));
	alloc_report(r, "amount");

	out = palloc(n * sizeof(Datum));
	for (i = 0; i < n; i++)
		out[i] = units_to_numeric(shares[i], k);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, NUMERICOID, -1, false, TYPALIGN_INT));
}
