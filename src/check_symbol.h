/*
 * check_symbol.h
 *		Server-free check character: Damm's algorithm over GF(32).
 *
 * Alphabet: Crockford base32, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; a symbol's
 * value is its position.  Reading folds case, reads O as 0 and I, L as 1, and
 * skips spaces and hyphens; U and anything else is refused.
 *
 * The quasigroup is a o b = x * (a XOR b) in GF(2)[x]/(x^5 + x^2 + 1).
 * Folding starts with r = 0 and takes r = x * (r XOR d) for each symbol d;
 * multiplying by x is a shift left by one bit, then XOR with 0x25 when bit 5
 * is set.  The check symbol of a payload is its fold; a checked code is
 * valid exactly when the fold of all of it, check symbol included, is 0.
 */
#ifndef COUPON_CHECK_SYMBOL_H
#define COUPON_CHECK_SYMBOL_H

#include <stddef.h>
#include <stdint.h>

extern const char check_alphabet[33];

/* Value 0..31 of a typed character, -1 when it has none. */
extern int	check_value(char c);

/* One folding step. */
static inline uint8_t
check_step(uint8_t r, uint8_t d)
{
	uint8_t		t = (uint8_t) ((r ^ d) << 1);

	return (t & 0x20) ? (uint8_t) (t ^ 0x25) : t;
}

/* Fold of n symbol values (each 0..31). */
extern uint8_t check_fold(const uint8_t *values, size_t n);

/*
 * Read typed text into symbol values (values must hold len entries).
 * Returns the number of symbols, or -1 with *bad_offset set to the byte
 * offset of the first character that is not a symbol.
 */
extern long check_read(const char *in, size_t len, uint8_t *values,
					   size_t *bad_offset);

/*
 * Read and fold typed text in one pass: returns the number of symbols and
 * sets *fold, or returns -1 with *bad_offset set as check_read does.
 */
extern long check_fold_text(const char *in, size_t len, uint8_t *fold,
							size_t *bad_offset);

#endif							/* COUPON_CHECK_SYMBOL_H */
