/*
 * check_fn.c
 *		SQL functions over the check character (check_symbol.h).
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "check_symbol.h"
#include "code_type.h"

/* Read and fold text; refuses what is not a symbol. */
static long
read_symbols(text *t, uint8 *fold)
{
	const char *in = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	size_t		bad = 0;
	long		n = check_fold_text(in, len, fold, &bad);

	if (n < 0)
	{
		int			pos;
		char	   *c = bad_char_at(in, len, bad, &pos);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for a checked code: \"%s\"",
						pnstrdup(in, len)),
				 errdetail("Character \"%s\" at position %d is not a Crockford base32 symbol.",
						   c, pos),
				 errhint("Checked codes use 0-9 and A-Z without U; O is read as 0, I and L as 1.")));
	}
	return n;
}

/* coupon.check_symbol(payload text): the symbol to append */
PG_FUNCTION_INFO_V1(check_symbol_fn);
Datum
check_symbol_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint8		fold;
	long		n = read_symbols(t, &fold);

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for a checked code: \"%s\"",
						text_to_cstring(t)),
				 errdetail("The payload needs at least one symbol.")));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(&check_alphabet[fold], 1));
}

/*
 * coupon.check_valid(code text): true when the code, check symbol last,
 * folds to 0.  A code needs a payload of at least one symbol before its
 * check symbol; shorter input is not valid.
 */
PG_FUNCTION_INFO_V1(check_valid_fn);
Datum
check_valid_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint8		fold;
	long		n = read_symbols(t, &fold);

	PG_RETURN_BOOL(n >= 2 && fold == 0);
}
