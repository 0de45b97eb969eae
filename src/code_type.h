/*
 * code_type.h
 *		The coupon.code base type: a varlena holding the packed canonical
 *		characters (code_pack.h), with no other header.
 */
#ifndef COUPON_CODE_TYPE_H
#define COUPON_CODE_TYPE_H

#include "postgres.h"
#include "fmgr.h"

#include "code_pack.h"

#define DatumGetCodeP(X)		((struct varlena *) PG_DETOAST_DATUM_PACKED(X))
#define PG_GETARG_CODE_P(n)		DatumGetCodeP(PG_GETARG_DATUM(n))

/*
 * Read typed text into a code.  Every entry point (text input, binary
 * receive, casts, functions) goes through here; bad input raises 22P02
 * naming the character and its position, or returns NULL softly when
 * escontext asks for it (PostgreSQL 16 and later).
 */
extern struct varlena *code_from_text(const char *in, size_t len,
									  Node *escontext);

/*
 * The character at byte offset of in (len bytes), as a string, and its
 * 1-based position in characters, for error messages.
 */
extern char *bad_char_at(const char *in, size_t len, size_t offset,
						 int *position);

/* A code from canonical characters known to be valid. */
extern struct varlena *code_from_canonical(const char *chars, size_t n);

/* Canonical characters of a code into out (CODE_MAX_CHARS bytes). */
extern size_t code_to_canonical(const struct varlena *code, char *out);

/* Same, as a palloc'd NUL-terminated string. */
extern char *code_to_cstring(const struct varlena *code);

#endif							/* COUPON_CODE_TYPE_H */
