/*
 * gen_core.h
 *		Server-free part of code generation: compiling a pattern and an
 *		alphabet, and drawing codes from a source of random bytes without
 *		modulo bias.
 *
 * A pattern is read like a code (case folded, spaces and hyphens skipped);
 * each '#' is a slot for a random symbol of the alphabet, every other
 * character is literal.  With a check symbol, the code is the literal and
 * random characters followed by their check symbol (check_symbol.h).
 */
#ifndef COUPON_GEN_CORE_H
#define COUPON_GEN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "code_pack.h"

typedef enum GenStatus
{
	GEN_OK = 0,
	GEN_PATTERN_BAD_CHAR,		/* offset: byte in the pattern */
	GEN_PATTERN_NO_SLOT,
	GEN_PATTERN_TOO_LONG,		/* count: significant characters */
	GEN_ALPHABET_BAD_CHAR,		/* offset: byte in the alphabet */
	GEN_ALPHABET_DUPLICATE,		/* offset: byte of the repeated symbol */
	GEN_ALPHABET_TOO_SMALL,
	GEN_CHECK_UNREADABLE,		/* in_pattern, offset: U cannot be checked */
	GEN_CHECK_AMBIGUOUS			/* offset: alphabet symbol read like another */
} GenStatus;

typedef struct GenError
{
	GenStatus	status;
	size_t		offset;
	size_t		count;
	bool		in_pattern;
} GenError;

typedef struct GenPattern
{
	char		tmpl[CODE_MAX_CHARS];	/* canonical characters, '#' = slot */
	size_t		len;			/* characters in tmpl */
	size_t		nslots;
	char		alphabet[36];
	size_t		k;				/* alphabet size */
	uint8_t		mask;			/* next power of two above k, minus one */
	bool		check;
	uint8_t		lit_values[CODE_MAX_CHARS]; /* check values of tmpl */
	uint8_t		sym_values[36]; /* check values of the alphabet */
	uint64_t	space;			/* k^nslots, saturated at UINT64_MAX */
	bool		key_exact;		/* k^nslots < 2^64: gen_key is exact */
} GenPattern;

/* Total characters in each code drawn from p. */
static inline size_t
gen_code_len(const GenPattern *p)
{
	return p->len + (p->check ? 1 : 0);
}

extern GenError gen_compile(GenPattern *p,
							const char *pattern, size_t pattern_len,
							const char *alphabet, size_t alphabet_len,
							bool check);

/* Largest number of distinct codes one may issue: 1/1000 of the space. */
static inline uint64_t
gen_max_codes(const GenPattern *p)
{
	return p->space / 1000;
}

/* Random bytes, refilled from fill(ctx, buf, n) as they run out. */
typedef void (*GenFill) (void *ctx, uint8_t *buf, size_t n);

typedef struct GenRandom
{
	GenFill		fill;
	void	   *ctx;
	size_t		pos;
	size_t		avail;
	size_t		chunk;			/* bytes asked of fill at a time */
	uint8_t		buf[4096];
} GenRandom;

/* expect: about how many bytes will be used, to size the refills */
extern void gen_random_init(GenRandom *r, GenFill fill, void *ctx,
							size_t expect);

/*
 * Draw one code into out (gen_code_len(p) characters).  Returns a 64-bit
 * key: equal codes have equal keys; when p->key_exact, distinct codes have
 * distinct keys.
 */
extern uint64_t gen_draw(const GenPattern *p, GenRandom *r, char *out);

/*
 * The set of codes one bulk call has issued, to keep them distinct: an open
 * addressing table of 32-bit fingerprints of the 64-bit keys, at most half
 * full (8 bytes per code).  A code already issued is always found; a new
 * code is taken for a repeat with probability about n / 2^32, which only
 * costs one more draw.  The caller allocates slots (zeroed).
 */
typedef struct GenSeen
{
	uint32_t   *slots;
	uint64_t	mask;			/* number of slots - 1 */
} GenSeen;

/* Slots needed for n codes: a power of two, at least 2n. */
extern uint64_t gen_seen_slots(uint64_t n);

/* Add a key; returns true when it (or its fingerprint) was already there. */
extern bool gen_seen_add(GenSeen *s, uint64_t key);

/* Hint that key will be added soon (the table is bigger than the caches). */
extern void gen_seen_prefetch(const GenSeen *s, uint64_t key);

#endif							/* COUPON_GEN_CORE_H */
