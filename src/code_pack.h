/*
 * code_pack.h
 *		Server-free core of the coupon.code type: reading a code typed by a
 *		person into its canonical form, and packing that form into bytes whose
 *		memcmp order is the order of the canonical text.
 *
 * Nothing here includes server headers, so the unit tests and fuzzers build
 * it with a plain C compiler.
 *
 * Canonical form: 1 to CODE_MAX_CHARS characters from [0-9A-Z].  Reading
 * folds a-z to upper case and skips spaces and hyphens.
 *
 * Packing: each character has a digit value 1..36 ('0'..'9' = 1..10,
 * 'A'..'Z' = 11..36); 0 is "no character".  Characters go in groups of three,
 * a group (a, b, c) becoming the 16-bit big-endian number
 * a * 1771 + b * 37 + c.  Each first character thus owns the range
 * [a * 1771, a * 1771 + 1368], with gaps of 403 between ranges.  A final
 * group of two characters is (a, b, 0) in two bytes; a final group of one
 * character is the single byte (a * 1771) >> 8, which the gaps make distinct
 * from the high byte of every group starting with another character.  So n
 * characters take 2 * (n / 3) + (n % 3) bytes (12 characters in 8 bytes,
 * 32 in 22), and comparing two packed codes with memcmp over the shorter
 * length, then by length, gives the order of their canonical texts.
 */
#ifndef COUPON_CODE_PACK_H
#define COUPON_CODE_PACK_H

#include <stddef.h>
#include <stdint.h>

#define CODE_MAX_CHARS	32
#define CODE_MAX_PACKED 22		/* code_packed_len(CODE_MAX_CHARS) */

typedef enum CodeReadStatus
{
	CODE_READ_OK = 0,
	CODE_READ_BAD_CHAR,			/* a character outside A-Z, a-z, 0-9, space, - */
	CODE_READ_EMPTY,			/* no significant character */
	CODE_READ_TOO_LONG			/* more than CODE_MAX_CHARS significant ones */
} CodeReadStatus;

typedef struct CodeReadResult
{
	CodeReadStatus status;
	size_t		bad_offset;		/* BAD_CHAR: byte offset of the character */
	size_t		significant;	/* number of significant characters seen */
} CodeReadResult;

/*
 * Read len bytes of typed input into canonical characters.  out must hold
 * CODE_MAX_CHARS bytes; *outlen gets the canonical length on success.
 */
extern CodeReadResult code_read(const char *in, size_t len,
								char *out, size_t *outlen);

/* Digit value 1..36 of a canonical character, 0 if it is not one. */
extern int	code_digit(char c);

/* Number of packed bytes for n canonical characters. */
static inline size_t
code_packed_len(size_t nchars)
{
	return 2 * (nchars / 3) + nchars % 3;
}

/* Pack n canonical characters (1..CODE_MAX_CHARS); returns the byte count. */
extern size_t code_pack(const char *chars, size_t n, uint8_t *out);

/*
 * Unpack; out must hold CODE_MAX_CHARS bytes.  Returns the number of
 * characters, or 0 when the bytes are not a valid packing (corruption).
 */
extern size_t code_unpack(const uint8_t *packed, size_t len, char *out);

/* Three-way comparison of packed codes, in canonical text order. */
extern int	code_packed_cmp(const uint8_t *a, size_t alen,
							const uint8_t *b, size_t blen);

#endif							/* COUPON_CODE_PACK_H */
