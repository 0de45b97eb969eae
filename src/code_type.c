/*
 * code_type.c
 *		The coupon.code type: text and binary I/O, casts, comparison,
 *		hashing, sort support with abbreviated keys, and display grouping.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/hyperloglog.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/sortsupport.h"
#include "code_type.h"
#include "compat.h"

#define CODE_SEND_VERSION 1

struct varlena *
code_from_canonical(const char *chars, size_t n)
{
	struct varlena *result = palloc(VARHDRSZ + code_packed_len(n));
	size_t		len = code_pack(chars, n, (uint8_t *) VARDATA(result));

	SET_VARSIZE(result, VARHDRSZ + len);
	return result;
}

size_t
code_to_canonical(const struct varlena *code, char *out)
{
	size_t		n = code_unpack((const uint8_t *) VARDATA_ANY(code),
								VARSIZE_ANY_EXHDR(code), out);

	if (n == 0)
		elog(ERROR, "corrupt coupon.code value");
	return n;
}

char *
code_to_cstring(const struct varlena *code)
{
	char	   *out = palloc(CODE_MAX_CHARS + 1);
	size_t		n = code_to_canonical(code, out);

	out[n] = '\0';
	return out;
}

char *
bad_char_at(const char *in, size_t len, size_t offset, int *position)
{
	int			clen = pg_mblen(in + offset);

	*position = pg_mbstrlen_with_len(in, (int) offset) + 1;
	return pnstrdup(in + offset, Min((size_t) clen, len - offset));
}

struct varlena *
code_from_text(const char *in, size_t len, Node *escontext)
{
	char		chars[CODE_MAX_CHARS];
	size_t		n = 0;
	CodeReadResult r = code_read(in, len, chars, &n);
	const char *shown;

	if (r.status == CODE_READ_OK)
		return code_from_canonical(chars, n);
	shown = pnstrdup(in, len);
	switch (r.status)
	{
		case CODE_READ_OK:
			break;
		case CODE_READ_BAD_CHAR:
			{
				int			pos;
				char	   *bad = bad_char_at(in, len, r.bad_offset, &pos);

				ereturn(escontext, NULL,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid input syntax for type coupon.code: \"%s\"", shown),
						 errdetail("Character \"%s\" at position %d is not allowed: a code has only letters A-Z and digits 0-9.",
								   bad, pos),
						 errhint("Spaces and hyphens may separate groups; they are ignored.")));
			}
		case CODE_READ_EMPTY:
			ereturn(escontext, NULL,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type coupon.code: \"%s\"", shown),
					 errdetail("A code needs at least one letter or digit.")));
		case CODE_READ_TOO_LONG:
			ereturn(escontext, NULL,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type coupon.code: \"%s\"", shown),
					 errdetail("The code has %zu letters and digits; at most %d are allowed.",
							   r.significant, CODE_MAX_CHARS)));
	}
	pg_unreachable();
}

PG_FUNCTION_INFO_V1(code_in);
Datum
code_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	struct varlena *result = code_from_text(s, strlen(s), COUPON_ESCONTEXT(fcinfo));

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(code_out);
Datum
code_out(PG_FUNCTION_ARGS)
{
	struct varlena *code = PG_GETARG_CODE_P(0);

	PG_RETURN_CSTRING(code_to_cstring(code));
}

/*
 * Binary format: a version byte (1), then the canonical characters.  The
 * characters go through the same reading as text input.
 */
PG_FUNCTION_INFO_V1(code_recv);
Datum
code_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	int			nbytes;
	char	   *s;

	if (version != CODE_SEND_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported binary format version %d for type coupon.code",
						version)));
	nbytes = buf->len - buf->cursor;
	s = pq_getmsgtext(buf, nbytes, &nbytes);
	PG_RETURN_POINTER(code_from_text(s, nbytes, NULL));
}

PG_FUNCTION_INFO_V1(code_send);
Datum
code_send(PG_FUNCTION_ARGS)
{
	struct varlena *code = PG_GETARG_CODE_P(0);
	char		chars[CODE_MAX_CHARS];
	size_t		n = code_to_canonical(code, chars);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, CODE_SEND_VERSION);
	pq_sendtext(&buf, chars, (int) n);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(code_from_text_fn);
Datum
code_from_text_fn(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_POINTER(code_from_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), NULL));
}

PG_FUNCTION_INFO_V1(code_to_text_fn);
Datum
code_to_text_fn(PG_FUNCTION_ARGS)
{
	struct varlena *code = PG_GETARG_CODE_P(0);
	char		chars[CODE_MAX_CHARS];
	size_t		n = code_to_canonical(code, chars);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(chars, (int) n));
}

/* ---------- comparison ---------- */

static inline int
code_cmp_internal(Datum a, Datum b)
{
	struct varlena *x = DatumGetCodeP(a);
	struct varlena *y = DatumGetCodeP(b);
	int			r = code_packed_cmp((const uint8_t *) VARDATA_ANY(x), VARSIZE_ANY_EXHDR(x),
									(const uint8_t *) VARDATA_ANY(y), VARSIZE_ANY_EXHDR(y));

	if ((Pointer) x != DatumGetPointer(a))
		pfree(x);
	if ((Pointer) y != DatumGetPointer(b))
		pfree(y);
	return r;
}

#define CODE_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int			c = code_cmp_internal(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)); \
	PG_RETURN_BOOL(expr); \
}

CODE_CMP_FN(code_eq, c == 0)
CODE_CMP_FN(code_ne, c != 0)
CODE_CMP_FN(code_lt, c < 0)
CODE_CMP_FN(code_le, c <= 0)
CODE_CMP_FN(code_gt, c > 0)
CODE_CMP_FN(code_ge, c >= 0)

PG_FUNCTION_INFO_V1(code_cmp);
Datum
code_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(code_cmp_internal(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)));
}

PG_FUNCTION_INFO_V1(code_hash);
Datum
code_hash(PG_FUNCTION_ARGS)
{
	struct varlena *code = PG_GETARG_CODE_P(0);
	Datum		h = hash_any((const unsigned char *) VARDATA_ANY(code),
							 (int) VARSIZE_ANY_EXHDR(code));

	PG_FREE_IF_COPY(code, 0);
	return h;
}

PG_FUNCTION_INFO_V1(code_hash_extended);
Datum
code_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *code = PG_GETARG_CODE_P(0);
	Datum		h = hash_any_extended((const unsigned char *) VARDATA_ANY(code),
									  (int) VARSIZE_ANY_EXHDR(code),
									  PG_GETARG_INT64(1));

	PG_FREE_IF_COPY(code, 0);
	return h;
}

/* ---------- sort support ---------- */

/*
 * The abbreviated key is the first 8 packed bytes (12 characters), big
 * endian and zero-padded: unsigned comparison of keys agrees with the full
 * comparison wherever the keys differ.  As for uuid, abbreviation is
 * abandoned when the keys turn out to have too few distinct values (codes
 * sharing a long prefix).
 */
typedef struct CodeSortState
{
	int64		input_count;
	hyperLogLogState abbr_card;
	bool		estimating;
} CodeSortState;

static int
code_fastcmp(Datum x, Datum y, SortSupport ssup)
{
	return code_cmp_internal(x, y);
}

#if SIZEOF_DATUM >= 8

static int
code_abbrev_cmp(Datum x, Datum y, SortSupport ssup)
{
	return (x > y) - (x < y);
}

static Datum
code_abbrev_convert(Datum original, SortSupport ssup)
{
	CodeSortState *st = (CodeSortState *) ssup->ssup_extra;
	struct varlena *code = DatumGetCodeP(original);
	size_t		len = VARSIZE_ANY_EXHDR(code);
	uint8		bytes[8] = {0};
	uint64		key;

	memcpy(bytes, VARDATA_ANY(code), Min(len, sizeof(bytes)));
	memcpy(&key, bytes, sizeof(key));
	key = pg_ntoh64(key);

	st->input_count++;
	if (st->estimating)
	{
		uint32		tmp = (uint32) key ^ (uint32) (key >> 32);

		addHyperLogLog(&st->abbr_card, DatumGetUInt32(hash_uint32(tmp)));
	}
	if ((Pointer) code != DatumGetPointer(original))
		pfree(code);
	return UInt64GetDatum(key);
}

static bool
code_abbrev_abort(int memtupcount, SortSupport ssup)
{
	CodeSortState *st = (CodeSortState *) ssup->ssup_extra;
	double		card;

	if (memtupcount < 10000 || st->input_count < 10000 || !st->estimating)
		return false;
	card = estimateHyperLogLog(&st->abbr_card);
	if (card > 100000.0)
	{
		st->estimating = false;
		return false;
	}
	/* keep abbreviating while at least one in 2000 keys is distinct */
	if (card < st->input_count / 2000.0 + 0.5)
		return true;
	return false;
}
#endif

PG_FUNCTION_INFO_V1(code_sortsupport);
Datum
code_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = code_fastcmp;
#if SIZEOF_DATUM >= 8
	if (ssup->abbreviate)
	{
		MemoryContext old = MemoryContextSwitchTo(ssup->ssup_cxt);
		CodeSortState *st = palloc(sizeof(CodeSortState));

		st->input_count = 0;
		st->estimating = true;
		initHyperLogLog(&st->abbr_card, 10);
		ssup->ssup_extra = st;
		ssup->abbrev_full_comparator = code_fastcmp;
		ssup->comparator = code_abbrev_cmp;
		ssup->abbrev_converter = code_abbrev_convert;
		ssup->abbrev_abort = code_abbrev_abort;
		MemoryContextSwitchTo(old);
	}
#endif
	PG_RETURN_VOID();
}

/* ---------- display ---------- */

/* coupon.format(code, group): hyphen between groups of group characters */
PG_FUNCTION_INFO_V1(code_format);
Datum
code_format(PG_FUNCTION_ARGS)
{
	struct varlena *code = PG_GETARG_CODE_P(0);
	int32		group = PG_GETARG_INT32(1);
	char		chars[CODE_MAX_CHARS];
	size_t		n = code_to_canonical(code, chars);
	StringInfoData out;
	size_t		i;

	if (group < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("group size must be at least 1, not %d", group)));
	initStringInfo(&out);
	for (i = 0; i < n; i++)
	{
		if (i > 0 && i % group == 0)
			appendStringInfoChar(&out, '-');
		appendStringInfoChar(&out, chars[i]);
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
