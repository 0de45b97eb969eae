/*
 * numeric_units.c
 *		Reading numerics as integer minor units and writing them back,
 *		without going through text or numeric arithmetic (numeric_units.h).
 *
 * The reader follows the on-disk format of numeric, unchanged since
 * PostgreSQL 9.1 (pg_upgrade keeps numeric values as they are): a 16-bit
 * header, in the long format followed by a 16-bit weight, then base-10000
 * digits.  See src/backend/utils/adt/numeric.c.
 */
#include "postgres.h"

#include "common/int.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "numeric_units.h"

#define NBASE		10000
#define DEC_DIGITS	4

typedef int16 NumericDigit;

struct NumericShort
{
	uint16		n_header;
	NumericDigit n_data[FLEXIBLE_ARRAY_MEMBER];
};

struct NumericLong
{
	uint16		n_sign_dscale;
	int16		n_weight;
	NumericDigit n_data[FLEXIBLE_ARRAY_MEMBER];
};

union NumericChoice
{
	uint16		n_header;
	struct NumericLong n_long;
	struct NumericShort n_short;
};

struct NumericLayout
{
	int32		vl_len_;
	union NumericChoice choice;
};

#define NUMERIC_SIGN_MASK			0xC000
#define NUMERIC_NEG					0x4000
#define NUMERIC_SHORT				0x8000
#define NUMERIC_SPECIAL				0xC000
#define NUMERIC_SHORT_SIGN_MASK		0x2000
#define NUMERIC_SHORT_DSCALE_MASK	0x1F80
#define NUMERIC_SHORT_DSCALE_SHIFT	7
#define NUMERIC_SHORT_WEIGHT_SIGN_MASK 0x0040
#define NUMERIC_SHORT_WEIGHT_MASK	0x003F
#define NUMERIC_DSCALE_MASK			0x3FFF

typedef struct Parts
{
	bool		special;
	bool		negative;
	int			dscale;
	int			weight;
	int			ndigits;
	const NumericDigit *digits;
} Parts;

static void
parts_of(Numeric num, Parts *p)
{
	const struct NumericLayout *n = (const struct NumericLayout *) num;
	uint16		header = n->choice.n_header;
	uint16		flags = header & NUMERIC_SIGN_MASK;
	int			header_size;

	memset(p, 0, sizeof(*p));
	if (flags == NUMERIC_SPECIAL)
	{
		p->special = true;
		return;
	}
	if (flags == NUMERIC_SHORT)
	{
		p->negative = (header & NUMERIC_SHORT_SIGN_MASK) != 0;
		p->dscale = (header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
		p->weight = (header & NUMERIC_SHORT_WEIGHT_SIGN_MASK)
			? (int) (~NUMERIC_SHORT_WEIGHT_MASK | (header & NUMERIC_SHORT_WEIGHT_MASK))
			: (int) (header & NUMERIC_SHORT_WEIGHT_MASK);
		p->digits = n->choice.n_short.n_data;
		header_size = VARHDRSZ + sizeof(uint16);
	}
	else
	{
		p->negative = flags == NUMERIC_NEG;
		p->dscale = n->choice.n_long.n_sign_dscale & NUMERIC_DSCALE_MASK;
		p->weight = n->choice.n_long.n_weight;
		p->digits = n->choice.n_long.n_data;
		header_size = VARHDRSZ + sizeof(uint16) + sizeof(int16);
	}
	p->ndigits = (int) ((VARSIZE(num) - header_size) / sizeof(NumericDigit));
}

int
numeric_decimals(Numeric num)
{
	Parts		p;

	parts_of(num, &p);
	return p.special ? 0 : p.dscale;
}

static const int64 pow10_table[19] = {
	INT64CONST(1), INT64CONST(10), INT64CONST(100), INT64CONST(1000), INT64CONST(10000),
	INT64CONST(100000), INT64CONST(1000000), INT64CONST(10000000), INT64CONST(100000000),
	INT64CONST(1000000000), INT64CONST(10000000000), INT64CONST(100000000000),
	INT64CONST(1000000000000), INT64CONST(10000000000000), INT64CONST(100000000000000),
	INT64CONST(1000000000000000), INT64CONST(10000000000000000),
	INT64CONST(100000000000000000), INT64CONST(1000000000000000000)
};

NumUnits
numeric_to_units(Numeric num, int scale, bool floor_it, int64 *out)
{
	Parts		p;
	int64		acc = 0;
	int			i;

	parts_of(num, &p);
	if (p.special)
		return NUMUNITS_SPECIAL;
	for (i = 0; i < p.ndigits; i++)
	{
		int64		digit = p.digits[i];
		int			d = DEC_DIGITS * (p.weight - i) + scale;	/* decimal exponent */

		if (digit == 0)
			continue;
		if (d >= 0)
		{
			int64		term;

			if (d > 18 || pg_mul_s64_overflow(digit, pow10_table[d], &term) ||
				pg_add_s64_overflow(acc, term, &acc) || acc > NUMUNITS_MAX)
				return NUMUNITS_OUT_OF_RANGE;
		}
		else if (-d >= DEC_DIGITS)
		{
			if (!floor_it)
				return NUMUNITS_NOT_EXACT;
		}
		else
		{
			int64		div = pow10_table[-d];

			if (digit % div != 0 && !floor_it)
				return NUMUNITS_NOT_EXACT;
			acc += digit / div;
			if (acc > NUMUNITS_MAX)
				return NUMUNITS_OUT_OF_RANGE;
		}
	}
	/* floor of a negative value with a dropped fraction would need -1: not used */
	*out = p.negative ? -acc : acc;
	return NUMUNITS_OK;
}

Datum
units_to_numeric(int64 units, int scale)
{
#if PG_VERSION_NUM >= 140000
	return NumericGetDatum(int64_div_fast_to_numeric(units, scale));
#else
	Datum		n = DirectFunctionCall1(int8_numeric, Int64GetDatum(units));
	Datum		p = DirectFunctionCall2(numeric_power, DirectFunctionCall1(int4_numeric, Int32GetDatum(10)),
										DirectFunctionCall1(int4_numeric, Int32GetDatum(scale)));

	return DirectFunctionCall2(numeric_round, DirectFunctionCall2(numeric_div, n, p), Int32GetDatum(scale));
#endif
}
