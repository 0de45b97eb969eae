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

static Datum
num_mul(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_mul, a, b);
}

/* 10^k as numeric */
static Datum
pow10_numeric(int k)
{
	return DirectFunctionCall2(numeric_power, DirectFunctionCall1(int4_numeric, Int32GetDatum(10)),
							   DirectFunctionCall1(int4_numeric, Int32GetDatum(k)));
}

/*
 * A numeric as an int64 after multiplying by mult (a numeric); round_mode
 * 'r' rounds half away from zero, 'f' floors.  Values beyond 10^18 are
 * refused.
 */
static int64
to_units(Datum value, Datum mult, char mode, const char *what, int pos)
{
	Datum		scaled = num_mul(value, mult);
	Datum		rounded;
	Datum		limit = DirectFunctionCall1(int8_numeric, Int64GetDatum(ALLOC_MAX_VALUE));

	if (mode == 'f')
		rounded = DirectFunctionCall1(numeric_floor, scaled);
	else
		rounded = DirectFunctionCall2(numeric_round, scaled, Int32GetDatum(0));
	/* 'e': exact, an amount never loses digits silently */
	if (mode == 'e' && !DatumGetBool(DirectFunctionCall2(numeric_eq, rounded, scaled)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s has more decimals than the minor unit allows", what),
				 errhint("Round it to the minor unit first, the way it should be rounded.")));
	if (DatumGetBool(DirectFunctionCall2(numeric_gt, DirectFunctionCall1(numeric_abs, rounded), limit)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 pos > 0 ? errmsg("%s[%d] is too large to allocate", what, pos)
				 : errmsg("%s is too large to allocate", what),
				 errdetail("Values are counted in minor units, at most 10^18 of them.")));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, rounded));
}

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

/* 10^k for k in -6..6 */
static bool
power_of_ten(Datum minor)
{
	int			k;

	for (k = -6; k <= 6; k++)
	{
		Datum		p = DirectFunctionCall2(numeric_power,
											DirectFunctionCall1(int4_numeric, Int32GetDatum(10)),
											DirectFunctionCall1(int4_numeric, Int32GetDatum(k)));

		if (DatumGetBool(DirectFunctionCall2(numeric_eq, p, minor)))
			return true;
	}
	return false;
}

/* -1, 0 or 1 */
static int
sign_of(Datum n)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, n,
											 DirectFunctionCall1(int4_numeric, Int32GetDatum(0))));
}

static bool
is_negative(Datum n)
{
	return sign_of(n) < 0;
}

static void
refuse_null(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
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
	Datum		amount, minor;
	Datum	   *w_elems;
	Datum	   *c_elems = NULL;
	int			n, nc = 0, i;
	int			scale = 0;
	int64		total;
	int64	   *weights, *caps = NULL, *shares;
	Datum	   *out;
	Datum		per_unit;
	AllocResult r;

	refuse_null(fcinfo, 0, "amount");
	refuse_null(fcinfo, 1, "weights");
	refuse_null(fcinfo, 3, "minor_unit");
	amount = PG_GETARG_DATUM(0);
	minor = PG_GETARG_DATUM(3);
	if (sign_of(minor) <= 0 || !power_of_ten(minor))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("minor_unit must be a power of ten from 0.000001 to 1000000"),
				 errhint("Use 0.01 for cents, 1 for currencies without a minor unit, 0.001 for mills.")));
	if (is_negative(amount))
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

	/* amounts in minor units; weights scaled to integers by their largest scale */
	per_unit = DirectFunctionCall2(numeric_div, DirectFunctionCall1(int4_numeric, Int32GetDatum(1)), minor);
	total = to_units(amount, per_unit, 'e', "amount", 0);
	for (i = 0; i < n; i++)
	{
		int			s = DatumGetInt32(DirectFunctionCall1(numeric_scale, w_elems[i]));

		if (is_negative(w_elems[i]))
			alloc_report((AllocResult) {ALLOC_NEGATIVE_WEIGHT, i, 0}, "amount");
		scale = Max(scale, s);
	}
	weights = palloc(n * sizeof(int64));
	{
		Datum		mult = pow10_numeric(scale);

		for (i = 0; i < n; i++)
			weights[i] = to_units(w_elems[i], mult, 'r', "weights", i + 1);
	}
	if (c_elems != NULL)
	{
		caps = palloc(n * sizeof(int64));
		for (i = 0; i < n; i++)
		{
			if (is_negative(c_elems[i]))
				alloc_report((AllocResult) {ALLOC_NEGATIVE_CAP, i, 0}, "amount");
			caps[i] = to_units(c_elems[i], per_unit, 'f', "caps", i + 1);
		}
	}
	shares = palloc(n * sizeof(int64));
	r = alloc_largest_remainder(total, weights, caps, n, shares, alloc_scratch(n));
	alloc_report(r, "amount");

	out = palloc(n * sizeof(Datum));
	for (i = 0; i < n; i++)
		out[i] = num_mul(DirectFunctionCall1(int8_numeric, Int64GetDatum(shares[i])), minor);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, NUMERICOID, -1, false, TYPALIGN_INT));
}
