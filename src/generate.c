/*
 * generate.c
 *		coupon.generate_code, coupon.generate_codes and coupon.generate_secret:
 *		codes drawn from pg_strong_random through the server-free core
 *		(gen_core.h).
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "check_symbol.h"
#include "code_type.h"
#include "coupon_errors.h"
#include "gen_core.h"
#include "generate.h"

void
gen_fill_strong(void *ctx, uint8_t *buf, size_t n)
{
	if (!pg_strong_random(buf, n))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values")));
}

static void
report_gen_error(GenError e, const char *pattern, size_t plen,
				 const char *alphabet, size_t alen)
{
	const char *src = e.in_pattern ? pattern : alphabet;
	size_t		srclen = e.in_pattern ? plen : alen;
	const char *what = e.in_pattern ? "pattern" : "alphabet";
	int			pos = 0;
	char	   *c = NULL;

	if (e.status == GEN_PATTERN_BAD_CHAR || e.status == GEN_ALPHABET_BAD_CHAR ||
		e.status == GEN_ALPHABET_DUPLICATE || e.status == GEN_CHECK_UNREADABLE ||
		e.status == GEN_CHECK_AMBIGUOUS)
		c = bad_char_at(src, srclen, e.offset, &pos);

	switch (e.status)
	{
		case GEN_OK:
			return;
		case GEN_PATTERN_BAD_CHAR:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid pattern \"%s\"", pnstrdup(pattern, plen)),
					 errdetail("Character \"%s\" at position %d is neither a letter, a digit nor #.",
							   c, pos),
					 errhint("Each # stands for a random symbol; letters and digits are kept; spaces and hyphens are ignored.")));
			break;
		case GEN_PATTERN_NO_SLOT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pattern \"%s\" has no # for a random symbol",
							pnstrdup(pattern, plen))));
			break;
		case GEN_PATTERN_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pattern \"%s\" makes codes of %zu characters, but a code has at most %d",
							pnstrdup(pattern, plen), e.count, CODE_MAX_CHARS),
					 errdetail("The count includes the check symbol, if any.")));
			break;
		case GEN_ALPHABET_BAD_CHAR:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid alphabet \"%s\"", pnstrdup(alphabet, alen)),
					 errdetail("Character \"%s\" at position %d is neither a letter nor a digit.",
							   c, pos)));
			break;
		case GEN_ALPHABET_DUPLICATE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid alphabet \"%s\"", pnstrdup(alphabet, alen)),
					 errdetail("Symbol \"%s\" at position %d appears earlier too.", c, pos)));
			break;
		case GEN_ALPHABET_TOO_SMALL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid alphabet \"%s\"", pnstrdup(alphabet, alen)),
					 errdetail("An alphabet needs at least two symbols.")));
			break;
		case GEN_CHECK_UNREADABLE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the %s \"%s\" cannot be used with a check symbol",
							what, pnstrdup(src, srclen)),
					 errdetail("Character \"%s\" at position %d is not a Crockford base32 symbol.",
							   c, pos),
					 errhint("Remove it, or generate without a check symbol (with_check => false).")));
			break;
		case GEN_CHECK_AMBIGUOUS:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the alphabet \"%s\" cannot be used with a check symbol",
							pnstrdup(alphabet, alen)),
					 errdetail("Symbol \"%s\" at position %d reads like an earlier one (O as 0, I and L as 1).",
							   c, pos)));
			break;
	}
}

void
gen_compile_or_error(GenPattern *p, text *pattern, text *alphabet, bool check)
{
	const char *ps = VARDATA_ANY(pattern);
	size_t		plen = VARSIZE_ANY_EXHDR(pattern);
	const char *as = VARDATA_ANY(alphabet);
	size_t		alen = VARSIZE_ANY_EXHDR(alphabet);
	GenError	e = gen_compile(p, ps, plen, as, alen, check);

	report_gen_error(e, ps, plen, as, alen);
}

void
gen_check_count(const GenPattern *p, int64 n, text *pattern)
{
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of codes must not be negative, not " INT64_FORMAT, n)));
	if ((uint64) n > gen_max_codes(p))
	{
		char		space[64];

		if (p->key_exact)
			snprintf(space, sizeof(space), UINT64_FORMAT, p->space);
		else
			snprintf(space, sizeof(space), "more than " UINT64_FORMAT, p->space);
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_CODE_SPACE_TOO_SMALL),
				 errmsg_plural("cannot issue " INT64_FORMAT " code from pattern \"%s\"",
							   "cannot issue " INT64_FORMAT " codes from pattern \"%s\"",
							   (unsigned long) n, n, text_to_cstring(pattern)),
				 errdetail("The pattern has %s possible codes; at most 1/1000 of them (" UINT64_FORMAT ") may be issued, so that a blind guess finds a valid code at most once in 1000 tries.",
						   space, gen_max_codes(p)),
				 errhint("Add # positions to the pattern or use a larger alphabet.")));
	}
}

/* coupon.generate_code(pattern, alphabet, with_check) */
PG_FUNCTION_INFO_V1(generate_code);
Datum
generate_code(PG_FUNCTION_ARGS)
{
	text	   *pattern = PG_GETARG_TEXT_PP(0);
	GenPattern	p;
	GenRandom	r;
	char		chars[CODE_MAX_CHARS];

	gen_compile_or_error(&p, pattern, PG_GETARG_TEXT_PP(1), PG_GETARG_BOOL(2));
	gen_check_count(&p, 1, pattern);
	gen_random_init(&r, gen_fill_strong, NULL, 2 * p.nslots);
	gen_draw(&p, &r, chars);
	PG_RETURN_POINTER(code_from_canonical(chars, gen_code_len(&p)));
}

/*
 * Codes are drawn in batches: the slots of a whole batch in the set of
 * issued codes are prefetched before any is looked up, so that the cache
 * misses of a set bigger than the caches overlap instead of queueing.
 */
#define GEN_BATCH 64

typedef struct GenerateState
{
	GenPattern	p;
	GenRandom	r;
	GenSeen		seen;
	int			pos;			/* next code of the batch to return */
	int			len;			/* codes in the batch */
	uint64		keys[GEN_BATCH];
	char		chars[GEN_BATCH][CODE_MAX_CHARS];
} GenerateState;

static void
refill_batch(GenerateState *st, uint64 remaining)
{
	int			n = (int) Min(remaining, (uint64) GEN_BATCH);
	int			i;

	for (i = 0; i < n; i++)
	{
		st->keys[i] = gen_draw(&st->p, &st->r, st->chars[i]);
		gen_seen_prefetch(&st->seen, st->keys[i]);
	}
	for (i = 0; i < n; i++)
	{
		/* draw again on a repeat; rare, as n is at most 1/1000 of the space */
		while (gen_seen_add(&st->seen, st->keys[i]))
			st->keys[i] = gen_draw(&st->p, &st->r, st->chars[i]);
	}
	st->pos = 0;
	st->len = n;
}

/* coupon.generate_codes(n, pattern, alphabet, with_check): n distinct codes */
PG_FUNCTION_INFO_V1(generate_codes);
Datum
generate_codes(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	GenerateState *st;

	if (SRF_IS_FIRSTCALL())
	{
		int64		n = PG_GETARG_INT64(0);
		text	   *pattern = PG_GETARG_TEXT_PP(1);
		MemoryContext old;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc(sizeof(GenerateState));
		gen_compile_or_error(&st->p, pattern, PG_GETARG_TEXT_PP(2), PG_GETARG_BOOL(3));
		gen_check_count(&st->p, n, pattern);
		gen_random_init(&st->r, gen_fill_strong, NULL, sizeof(st->r.buf));
		st->pos = st->len = 0;
		st->seen.mask = gen_seen_slots((uint64) n) - 1;
		st->seen.slots = palloc_extended((st->seen.mask + 1) * sizeof(uint32),
										 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		funcctx->max_calls = (uint64) n;
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = (GenerateState *) funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		int			i;

		if (st->pos == st->len)
			refill_batch(st, funcctx->max_calls - funcctx->call_cntr);
		i = st->pos++;
		SRF_RETURN_NEXT(funcctx,
						PointerGetDatum(code_from_canonical(st->chars[i], gen_code_len(&st->p))));
	}
	SRF_RETURN_DONE(funcctx);
}

/* coupon.generate_secret(length): random Crockford symbols, no check */
PG_FUNCTION_INFO_V1(generate_secret);
Datum
generate_secret(PG_FUNCTION_ARGS)
{
	int32		length = PG_GETARG_INT32(0);

	if (length < 1 || length > CODE_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret length must be between 1 and %d, not %d",
						CODE_MAX_CHARS, length)));
	PG_RETURN_TEXT_P(cstring_to_text(gen_secret(length)));
}

char *
gen_secret(int length)
{
	static GenPattern p;
	static int	compiled = 0;
	GenRandom	r;
	char	   *out = palloc(length + 1);

	if (compiled != length)
	{
		char		pattern[CODE_MAX_CHARS];
		GenError	e;

		memset(pattern, '#', length);
		e = gen_compile(&p, pattern, length, check_alphabet, 32, false);
		Assert(e.status == GEN_OK);
		(void) e;
		compiled = length;
	}
	gen_random_init(&r, gen_fill_strong, NULL, 2 * (size_t) length);
	gen_draw(&p, &r, out);
	out[length] = '\0';
	return out;
}
