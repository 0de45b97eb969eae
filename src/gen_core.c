/*
 * gen_core.c
 *		Server-free pattern compilation and drawing of codes (gen_core.h).
 */
#include "gen_core.h"

#include <string.h>

#include "check_symbol.h"

static bool
is_code_char(char c)
{
	return code_digit(c) != 0;
}

static char
fold(char c)
{
	return (c >= 'a' && c <= 'z') ? (char) (c - 'a' + 'A') : c;
}

GenError
gen_compile(GenPattern *p, const char *pattern, size_t pattern_len,
			const char *alphabet, size_t alphabet_len, bool check)
{
	GenError	e = {GEN_OK, 0, 0, false};
	size_t		i;
	size_t		sig = 0;

	memset(p, 0, sizeof(*p));
	p->check = check;

	/* the alphabet: distinct code characters, at least two */
	for (i = 0; i < alphabet_len; i++)
	{
		char		c = fold(alphabet[i]);
		size_t		j;

		if (!is_code_char(c))
		{
			e.status = GEN_ALPHABET_BAD_CHAR;
			e.offset = i;
			return e;
		}
		for (j = 0; j < p->k; j++)
		{
			if (p->alphabet[j] == c)
			{
				e.status = GEN_ALPHABET_DUPLICATE;
				e.offset = i;
				return e;
			}
		}
		if (check)
		{
			int			v = check_value(c);

			if (v < 0)
			{
				e.status = GEN_CHECK_UNREADABLE;
				e.offset = i;
				return e;
			}
			for (j = 0; j < p->k; j++)
			{
				if (p->sym_values[j] == v)
				{
					e.status = GEN_CHECK_AMBIGUOUS;
					e.offset = i;
					return e;
				}
			}
			p->sym_values[p->k] = (uint8_t) v;
		}
		p->alphabet[p->k++] = c;
	}
	if (p->k < 2)
	{
		e.status = GEN_ALPHABET_TOO_SMALL;
		return e;
	}
	p->mask = 1;
	while (p->mask < p->k - 1)
		p->mask = (uint8_t) ((p->mask << 1) | 1);

	/* the pattern */
	for (i = 0; i < pattern_len; i++)
	{
		char		c = fold(pattern[i]);

		if (c == ' ' || c == '-')
			continue;
		if (c != '#' && !is_code_char(c))
		{
			e.status = GEN_PATTERN_BAD_CHAR;
			e.offset = i;
			e.in_pattern = true;
			return e;
		}
		if (c != '#' && check && check_value(c) < 0)
		{
			e.status = GEN_CHECK_UNREADABLE;
			e.offset = i;
			e.in_pattern = true;
			return e;
		}
		if (sig < CODE_MAX_CHARS)
		{
			p->tmpl[sig] = c;
			if (c == '#')
				p->nslots++;
			else if (check)
				p->lit_values[sig] = (uint8_t) check_value(c);
		}
		sig++;
	}
	if (sig + (check ? 1 : 0) > CODE_MAX_CHARS)
	{
		e.status = GEN_PATTERN_TOO_LONG;
		e.count = sig + (check ? 1 : 0);
		return e;
	}
	p->len = sig;
	if (p->nslots == 0)
	{
		e.status = GEN_PATTERN_NO_SLOT;
		return e;
	}

	/* k^nslots, saturated; exact keys while it stays below 2^64 */
	p->space = 1;
	p->key_exact = true;
	for (i = 0; i < p->nslots; i++)
	{
		if (p->space > UINT64_MAX / p->k)
		{
			p->space = UINT64_MAX;
			p->key_exact = false;
			break;
		}
		p->space *= p->k;
	}
	return e;
}

void
gen_random_init(GenRandom *r, GenFill fill, void *ctx, size_t expect)
{
	r->fill = fill;
	r->ctx = ctx;
	r->pos = 0;
	r->avail = 0;
	r->chunk = expect < 16 ? 16 : expect > sizeof(r->buf) ? sizeof(r->buf) : expect;
}

static inline uint8_t
next_byte(GenRandom *r)
{
	if (r->pos == r->avail)
	{
		r->fill(r->ctx, r->buf, r->chunk);
		r->pos = 0;
		r->avail = r->chunk;
	}
	return r->buf[r->pos++];
}

/* FNV-1a, for keys of codes whose space does not fit in 64 bits */
static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		h ^= (uint8_t) s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
gen_draw(const GenPattern *p, GenRandom *r, char *out)
{
	uint64_t	key = 0;
	uint8_t		acc = 0;
	size_t		i;

	for (i = 0; i < p->len; i++)
	{
		char		c = p->tmpl[i];
		uint8_t		v;

		if (c == '#')
		{
			unsigned	s;

			do
				s = next_byte(r) & p->mask;
			while (s >= p->k);
			out[i] = p->alphabet[s];
			key = key * p->k + s;
			v = p->sym_values[s];
		}
		else
		{
			out[i] = c;
			v = p->lit_values[i];
		}
		if (p->check)
			acc = check_step(acc, v);
	}
	if (p->check)
		out[p->len] = check_alphabet[acc];
	return p->key_exact ? key : fnv1a(out, p->len);
}

uint64_t
gen_seen_slots(uint64_t n)
{
	uint64_t	slots = 16;

	while (slots < 2 * n)
		slots <<= 1;
	return slots;
}

/* splitmix64 finalizer: slot from the high bits, fingerprint the low */
static inline uint64_t
seen_hash(uint64_t key)
{
	uint64_t	h = key + 0x9E3779B97F4A7C15ULL;

	h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
	h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
	return h ^ (h >> 31);
}

void
gen_seen_prefetch(const GenSeen *s, uint64_t key)
{
#if defined(__GNUC__) || defined(__clang__)
	__builtin_prefetch(&s->slots[(seen_hash(key) >> 32) & s->mask], 1);
#else
	(void) s;
	(void) key;
#endif
}

bool
gen_seen_add(GenSeen *s, uint64_t key)
{
	uint64_t	h = seen_hash(key);
	uint64_t	i;
	uint32_t	fp;

	fp = (uint32_t) h;
	if (fp == 0)
		fp = 1;					/* 0 marks an empty slot */
	for (i = (h >> 32) & s->mask;; i = (i + 1) & s->mask)
	{
		if (s->slots[i] == fp)
			return true;
		if (s->slots[i] == 0)
		{
			s->slots[i] = fp;
			return false;
		}
	}
}
