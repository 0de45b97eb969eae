/*
 * test_core.c
 *		Unit tests and a mutation fuzzer for the server-free core: code
 *		reading and packing, the check symbol, pattern compilation and
 *		drawing.  Prints TAP.  Built and run by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_core.h"
#include "check_symbol.h"
#include "code_pack.h"
#include "gen_core.h"

static int	test_no = 0;
static int	failures = 0;

static void
ok(int cond, const char *fmt, const char *arg)
{
	test_no++;
	if (!cond)
		failures++;
	printf("%sok %d - ", cond ? "" : "not ", test_no);
	printf(fmt, arg ? arg : "");
	printf("\n");
}

/* xorshift64*: a deterministic source for the tests */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void
rng_fill(void *ctx, uint8_t *buf, size_t n)
{
	size_t		i;

	(void) ctx;
	for (i = 0; i < n; i++)
		buf[i] = (uint8_t) (rng() >> 56);
}

static const char symbols36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

/* ---------- code reading and packing ---------- */

static int
roundtrip(const char *s, size_t n)
{
	uint8_t		packed[CODE_MAX_PACKED];
	char		back[CODE_MAX_CHARS];
	size_t		len = code_pack(s, n, packed);

	return len == code_packed_len(n) &&
		code_unpack(packed, len, back) == n && memcmp(back, s, n) == 0;
}

static void
test_packing(void)
{
	char		s[CODE_MAX_CHARS];
	long		bad = 0;
	long		a, b;
	int			len;

	/* every code of 1 to 3 characters round-trips */
	for (len = 1; len <= 3; len++)
	{
		long		total = 1;
		long		i;

		for (i = 0; i < len; i++)
			total *= 36;
		for (i = 0; i < total; i++)
		{
			long		v = i;
			int			j;

			for (j = len - 1; j >= 0; j--, v /= 36)
				s[j] = symbols36[v % 36];
			bad += !roundtrip(s, len);
		}
	}
	ok(bad == 0, "every code of 1 to 3 characters packs and unpacks to itself%s", NULL);

	/* packed order is text order: every pair of codes of 1 or 2 characters */
	{
		static char all[36 + 36 * 36][3];
		static uint8_t packed[36 + 36 * 36][CODE_MAX_PACKED];
		static size_t plen[36 + 36 * 36];
		static size_t clen[36 + 36 * 36];
		int			n = 0;

		for (a = 0; a < 36; a++)
		{
			all[n][0] = symbols36[a];
			clen[n] = 1;
			n++;
			for (b = 0; b < 36; b++)
			{
				all[n][0] = symbols36[a];
				all[n][1] = symbols36[b];
				clen[n] = 2;
				n++;
			}
		}
		for (a = 0; a < n; a++)
			plen[a] = code_pack(all[a], clen[a], packed[a]);
		bad = 0;
		for (a = 0; a < n; a++)
			for (b = 0; b < n; b++)
			{
				size_t		m = clen[a] < clen[b] ? clen[a] : clen[b];
				int			t = memcmp(all[a], all[b], m);

				if (t == 0)
					t = (int) clen[a] - (int) clen[b];
				bad += sign(t) != code_packed_cmp(packed[a], plen[a], packed[b], plen[b]);
			}
		ok(bad == 0, "packed order equals text order for all pairs of 1- and 2-character codes%s", NULL);
	}

	/* random codes of 1 to 32 characters, often sharing prefixes */
	bad = 0;
	for (a = 0; a < 2000000; a++)
	{
		char		x[CODE_MAX_CHARS], y[CODE_MAX_CHARS];
		uint8_t		px[CODE_MAX_PACKED], py[CODE_MAX_PACKED];
		size_t		nx = 1 + rng() % CODE_MAX_CHARS;
		size_t		ny = 1 + rng() % CODE_MAX_CHARS;
		size_t		shared = rng() % (CODE_MAX_CHARS + 1);
		size_t		i, m;
		int			t;

		for (i = 0; i < nx; i++)
			x[i] = symbols36[rng() % 36];
		for (i = 0; i < ny; i++)
			y[i] = (i < shared && i < nx) ? x[i] : symbols36[rng() % 36];
		m = nx < ny ? nx : ny;
		t = memcmp(x, y, m);
		if (t == 0)
			t = (int) nx - (int) ny;
		bad += !roundtrip(x, nx);
		bad += sign(t) != code_packed_cmp(px, code_pack(x, nx, px), py, code_pack(y, ny, py));
	}
	ok(bad == 0, "2,000,000 random pairs of 1- to 32-character codes: round trip and order%s", NULL);

	{
		/* 11 full groups are 22 bytes like 32 characters, but 33 characters */
		static const char c33[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456";
		uint8_t		p33[24];
		char		back[CODE_MAX_CHARS + 8];
		size_t		l33 = code_pack(c33, 33, p33);

		ok(l33 == 22 && code_unpack(p33, l33, back) == 0,
		   "the 22-byte packing of 33 characters is refused (found by the fuzzer)%s", NULL);
	}
	ok(code_packed_len(12) == 8, "12 characters pack into 8 bytes%s", NULL);
	ok(code_packed_len(CODE_MAX_CHARS) == CODE_MAX_PACKED, "32 characters pack into 22 bytes%s", NULL);
	{
		int			worse = 0;

		for (len = 1; len <= CODE_MAX_CHARS; len++)
			worse += code_packed_len(len) > (size_t) len;
		ok(worse == 0, "a packed code is never longer than its text%s", NULL);
	}
}

static CodeReadStatus
read_status(const char *in, char *out, size_t *n)
{
	return code_read(in, strlen(in), out, n).status;
}

static void
test_reading(void)
{
	char		out[CODE_MAX_CHARS];
	size_t		n = 0;
	CodeReadResult r;

	ok(read_status("kn8-ftl", out, &n) == CODE_READ_OK && n == 6 &&
	   memcmp(out, "KN8FTL", 6) == 0, "kn8-ftl reads as KN8FTL%s", NULL);
	ok(read_status(" Lato 2019 ", out, &n) == CODE_READ_OK && n == 8 &&
	   memcmp(out, "LATO2019", 8) == 0, "Lato2019 keeps its letters%s", NULL);
	r = code_read("X24E!8", 6, out, &n);
	ok(r.status == CODE_READ_BAD_CHAR && r.bad_offset == 4, "X24E!8 is refused at the !%s", NULL);
	ok(read_status("--  -", out, &n) == CODE_READ_EMPTY, "separators alone are empty%s", NULL);
	ok(read_status("", out, &n) == CODE_READ_EMPTY, "empty input is empty%s", NULL);
	ok(read_status("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", out, &n) == CODE_READ_OK && n == 32,
	   "32 characters are accepted%s", NULL);
	r = code_read("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", 33, out, &n);
	ok(r.status == CODE_READ_TOO_LONG && r.significant == 33, "33 characters are too long%s", NULL);
	ok(read_status("AB\tC", out, &n) == CODE_READ_BAD_CHAR, "a tab is refused%s", NULL);
	ok(read_status("AB\xc3\xa9", out, &n) == CODE_READ_BAD_CHAR, "a non-ASCII letter is refused%s", NULL);
}

/*
 * Mutation fuzzing of the reader and the unpacker: no crash (run under the
 * sanitizers by `make fuzz`), and reading accepts exactly the strings made of
 * A-Z, a-z, 0-9, spaces and hyphens with 1 to 32 significant characters.
 */
static void
test_fuzz(void)
{
	static const char seeds[][40] = {
		"X24ET8", "kn8-ftl", "Lato2019", "X24E-T8A3-KQ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
		" - ", "9", "spring-2024-ab12"
	};
	long		wrong = 0;
	long		unpack_bad = 0;
	long		i;

	for (i = 0; i < 3000000; i++)
	{
		char		buf[64];
		char		out[CODE_MAX_CHARS];
		size_t		len;
		size_t		n = 0, sig = 0, k;
		int			edits = 1 + (int) (rng() % 4);
		int			valid = 1;
		CodeReadResult r;

		memcpy(buf, seeds[rng() % 8], 40);
		len = strlen(buf);
		while (edits-- > 0)
		{
			size_t		pos = len ? rng() % (len + 1) : 0;
			int			op = (int) (rng() % 3);
			char		c = rng() % 4 == 0 ? (char) (rng() % 256) : symbols36[rng() % 36];

			if (op == 0 && len < sizeof(buf) - 1)
			{
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = c;
				len++;
			}
			else if (op == 1 && pos < len)
				buf[pos] = c;
			else if (pos < len)
			{
				memmove(buf + pos, buf + pos + 1, len - pos - 1);
				len--;
			}
		}
		for (k = 0; k < len; k++)
		{
			char		c = buf[k];

			if (c == ' ' || c == '-')
				continue;
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
				valid = 0;
			sig++;
		}
		if (sig == 0 || sig > CODE_MAX_CHARS)
			valid = 0;
		r = code_read(buf, len, out, &n);
		if ((r.status == CODE_READ_OK) != valid)
			wrong++;
		else if (valid && !roundtrip(out, n))
			wrong++;

		/* random bytes either are not a packing or are the packing of a code */
		{
			uint8_t		bytes[CODE_MAX_PACKED], again[CODE_MAX_PACKED];
			size_t		blen = 1 + rng() % CODE_MAX_PACKED;
			size_t		m;

			for (k = 0; k < blen; k++)
				bytes[k] = (uint8_t) rng();
			m = code_unpack(bytes, blen, out);
			if (m != 0 && (code_pack(out, m, again) != blen || memcmp(again, bytes, blen) != 0))
				unpack_bad++;
		}
	}
	ok(wrong == 0, "3,000,000 mutated literals: reading accepts exactly the valid ones%s", NULL);
	ok(unpack_bad == 0, "3,000,000 random byte strings: unpacking accepts only canonical packings%s", NULL);
}

/* ---------- check symbol ---------- */

/*
 * For one checked code v[0..n-1], count undetected errors of each kind:
 * every single substitution, every adjacent transposition (the last payload
 * symbol with the check symbol included) and every twin error aa -> bb.
 * tail[i][r] is the fold of v[i..n-1] started from state r, so each
 * altered code is checked in constant time.
 */
static void
count_undetected(const uint8_t *v, size_t n, long *subst, long *transp, long *twin,
				 long *tried)
{
	static uint8_t tail[CODE_MAX_CHARS + 2][32];
	uint8_t		prefix[CODE_MAX_CHARS + 2];
	size_t		i;
	int			r, e;

	for (r = 0; r < 32; r++)
		tail[n][r] = (uint8_t) r;
	for (i = n; i-- > 0;)
		for (r = 0; r < 32; r++)
			tail[i][r] = tail[i + 1][check_step((uint8_t) r, v[i])];
	prefix[0] = 0;
	for (i = 0; i < n; i++)
		prefix[i + 1] = check_step(prefix[i], v[i]);

	for (i = 0; i < n; i++)
	{
		for (e = 0; e < 32; e++)
		{
			if (e == v[i])
				continue;
			(*tried)++;
			*subst += tail[i + 1][check_step(prefix[i], (uint8_t) e)] == 0;
		}
		if (i + 1 < n && v[i] != v[i + 1])
		{
			(*tried)++;
			*transp += tail[i + 2][check_step(check_step(prefix[i], v[i + 1]), v[i])] == 0;
		}
		if (i + 1 < n && v[i] == v[i + 1])
		{
			for (e = 0; e < 32; e++)
			{
				if (e == v[i])
					continue;
				(*tried)++;
				*twin += tail[i + 2][check_step(check_step(prefix[i], (uint8_t) e), (uint8_t) e)] == 0;
			}
		}
	}
}

static void
test_check_symbol(void)
{
	uint8_t		v[CODE_MAX_CHARS + 1];
	long		subst = 0, transp = 0, twin = 0, tried = 0;
	long		p, pass = 0, i;
	char		msg[200];

	/* the alphabet and its readings */
	{
		int			bad = 0;

		for (i = 0; i < 32; i++)
			bad += check_value(check_alphabet[i]) != i;
		bad += check_value('O') != 0 || check_value('o') != 0;
		bad += check_value('I') != 1 || check_value('L') != 1 || check_value('l') != 1;
		bad += check_value('U') != -1 || check_value('u') != -1 || check_value('!') != -1;
		ok(bad == 0, "Crockford values: position in the alphabet, O as 0, I and L as 1, U refused%s", NULL);
	}

	/* known values, computed by hand from the definition */
	{
		uint8_t		one[1] = {1};
		uint8_t		two[2] = {1, 0};

		ok(check_fold(one, 1) == 2, "fold of \"1\" is x * 1 = 2%s", NULL);
		ok(check_fold(two, 2) == 4, "fold of \"10\" is x * (2 XOR 0) = 4%s", NULL);
		one[0] = 16;
		ok(check_fold(one, 1) == 5, "x * x^4 = x^5 = x^2 + 1 = 5%s", NULL);
	}

	/* every 4-symbol payload */
	for (p = 0; p < 32 * 32 * 32 * 32; p++)
	{
		v[0] = (uint8_t) (p >> 15);
		v[1] = (uint8_t) ((p >> 10) & 31);
		v[2] = (uint8_t) ((p >> 5) & 31);
		v[3] = (uint8_t) (p & 31);
		v[4] = check_fold(v, 4);
		count_undetected(v, 5, &subst, &transp, &twin, &tried);
	}
	snprintf(msg, sizeof(msg),
			 "all 1,048,576 4-symbol payloads: %ld errors tried, undetected: %ld substitutions, %ld transpositions, %ld twins",
			 tried, subst, transp, twin);
	ok(subst + transp + twin == 0, "%s", msg);

	/* a million random payloads of 5 to 31 symbols */
	subst = transp = twin = tried = 0;
	for (p = 0; p < 1000000; p++)
	{
		size_t		n = 5 + rng() % 27;

		for (i = 0; i < (long) n; i++)
			v[i] = (uint8_t) (rng() % 32);
		/* make twins common enough to be tried */
		if (rng() % 2)
			v[rng() % (n - 1) + 1] = v[0];
		v[n] = check_fold(v, n);
		count_undetected(v, n + 1, &subst, &transp, &twin, &tried);
	}
	snprintf(msg, sizeof(msg),
			 "1,000,000 random payloads of 5 to 31 symbols: %ld errors tried, undetected: %ld substitutions, %ld transpositions, %ld twins",
			 tried, subst, transp, twin);
	ok(subst + transp + twin == 0, "%s", msg);

	/* random strings pass about once in 32 */
	for (p = 0; p < 1000000; p++)
	{
		size_t		n = 2 + rng() % 15;

		for (i = 0; i < (long) n; i++)
			v[i] = (uint8_t) (rng() % 32);
		pass += check_fold(v, n) == 0;
	}
	snprintf(msg, sizeof(msg), "1,000,000 random strings: %ld pass (1 in %.2f), expected about 1 in 32",
			 pass, 1000000.0 / pass);
	ok(pass > 29500 && pass < 33000, "%s", msg);

	/* reading skips separators and refuses U */
	{
		uint8_t		vals[16];
		size_t		bad = 0;

		ok(check_read("x2-4e t8", 8, vals, &bad) == 6, "reading skips spaces and hyphens%s", NULL);
		{
			long		differ = 0;

			for (p = 0; p < 200000; p++)
			{
				char		txt[24];
				uint8_t		vv[24], fold = 99;
				size_t		b1 = 0, b2 = 0, k, n = rng() % 24;
				long		n1, n2;

				for (k = 0; k < n; k++)
					txt[k] = rng() % 8 == 0 ? (char) (rng() % 256) : symbols36[rng() % 36];
				n1 = check_read(txt, n, vv, &b1);
				n2 = check_fold_text(txt, n, &fold, &b2);
				differ += n1 != n2 || (n1 < 0 && b1 != b2) || (n1 >= 0 && fold != check_fold(vv, (size_t) n1));
			}
			ok(differ == 0, "folding while reading agrees with reading then folding (200,000 strings)%s", NULL);
		}
		ok(check_read("X24EU8", 6, vals, &bad) == -1 && bad == 4, "reading refuses U at its offset%s", NULL);
	}
}

/* ---------- generation ---------- */

static void
test_generation(void)
{
	GenPattern	p;
	GenRandom	r;
	GenError	e;
	char		out[CODE_MAX_CHARS];
	long		counts[32] = {0};
	long		i, bad = 0;
	double		chi2 = 0;

	e = gen_compile(&p, "SPRING-####-####", 16, check_alphabet, 32, true);
	ok(e.status == GEN_OK && p.nslots == 8 && p.len == 14 && gen_code_len(&p) == 15,
	   "SPRING-####-#### has 8 slots and makes 15-character checked codes%s", NULL);
	ok(p.space == (uint64_t) 1 << 40 && gen_max_codes(&p) == ((uint64_t) 1 << 40) / 1000,
	   "its space is 32^8 and 1/1000 of it may be issued%s", NULL);

	gen_random_init(&r, rng_fill, NULL, 4096);
	for (i = 0; i < 200000; i++)
	{
		uint8_t		vals[CODE_MAX_CHARS];
		size_t		boff;
		long		n;
		int			j;

		gen_draw(&p, &r, out);
		n = check_read(out, gen_code_len(&p), vals, &boff);
		bad += memcmp(out, "SPRING", 6) != 0 || n != 15 || check_fold(vals, 15) != 0;
		for (j = 6; j < 14; j++)
			counts[check_value(out[j])]++;
	}
	ok(bad == 0, "200,000 drawn codes keep the prefix and carry a valid check symbol%s", NULL);
	for (i = 0; i < 32; i++)
	{
		double		expect = 200000.0 * 8 / 32;

		chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
	}
	/* 31 degrees of freedom: p = 0.001 at 61.1 */
	ok(chi2 < 61.1, "random symbols are uniform (chi-square below 61.1)%s", NULL);

	/* an alphabet of 10 digits is drawn without modulo bias */
	e = gen_compile(&p, "######", 6, "0123456789", 10, false);
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < 200000; i++)
	{
		int			j;

		gen_draw(&p, &r, out);
		for (j = 0; j < 6; j++)
			counts[out[j] - '0']++;
	}
	chi2 = 0;
	for (i = 0; i < 10; i++)
	{
		double		expect = 200000.0 * 6 / 10;

		chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
	}
	ok(e.status == GEN_OK && chi2 < 27.9, "digits are uniform (chi-square, 9 degrees, below 27.9)%s", NULL);

	e = gen_compile(&p, "AB.##", 5, check_alphabet, 32, true);
	ok(e.status == GEN_PATTERN_BAD_CHAR && e.offset == 2, "a dot in a pattern is refused%s", NULL);
	e = gen_compile(&p, "ABC", 3, check_alphabet, 32, true);
	ok(e.status == GEN_PATTERN_NO_SLOT, "a pattern without # is refused%s", NULL);
	e = gen_compile(&p, "################################", 32, check_alphabet, 32, true);
	ok(e.status == GEN_PATTERN_TOO_LONG && e.count == 33, "32 slots and a check symbol are too long%s", NULL);
	e = gen_compile(&p, "UP-####", 7, check_alphabet, 32, true);
	ok(e.status == GEN_CHECK_UNREADABLE && e.in_pattern && e.offset == 0,
	   "U in a checked pattern is refused%s", NULL);
	e = gen_compile(&p, "UP-####", 7, check_alphabet, 32, false);
	ok(e.status == GEN_OK, "U in an unchecked pattern is fine%s", NULL);
	e = gen_compile(&p, "####", 4, "AB0O", 4, true);
	ok(e.status == GEN_CHECK_AMBIGUOUS && e.offset == 3, "O and 0 together are ambiguous when checked%s", NULL);
	e = gen_compile(&p, "####", 4, "ABA", 3, false);
	ok(e.status == GEN_ALPHABET_DUPLICATE && e.offset == 2, "a repeated symbol is refused%s", NULL);
	e = gen_compile(&p, "####", 4, "A", 1, false);
	ok(e.status == GEN_ALPHABET_TOO_SMALL, "a one-symbol alphabet is refused%s", NULL);
	e = gen_compile(&p, "####", 4, "ab-", 3, false);
	ok(e.status == GEN_ALPHABET_BAD_CHAR && e.offset == 2, "a hyphen in an alphabet is refused%s", NULL);
	e = gen_compile(&p, "##############", 14, check_alphabet, 32, true);
	ok(e.status == GEN_OK && !p.key_exact && p.space == UINT64_MAX,
	   "a space above 2^64 saturates and uses hashed keys%s", NULL);
}

static void
test_seen(void)
{
	GenSeen		s;
	uint64_t	n = 1000000, i, again = 0, spurious = 0;
	uint64_t   *keys = malloc(n * sizeof(uint64_t));

	s.mask = gen_seen_slots(n) - 1;
	s.slots = calloc(s.mask + 1, sizeof(uint32_t));
	for (i = 0; i < n; i++)
	{
		keys[i] = rng() >> 14;	/* a 50-bit space, like 10 Crockford symbols */
		spurious += gen_seen_add(&s, keys[i]);
	}
	for (i = 0; i < n; i++)
		again += gen_seen_add(&s, keys[i]);
	ok(s.mask + 1 == 2097152, "a million codes take 2^21 slots of 4 bytes%s", NULL);
	ok(again == n, "every key added again is found%s", NULL);
	ok(spurious < 50, "new keys are rarely taken for repeats (fewer than 50 in a million)%s", NULL);
	free(keys);
	free(s.slots);
}

/* ---------- allocation ---------- */

static int64_t alloc_shares[ALLOC_MAX_LINES];
static _Alignas(16) unsigned char alloc_scratch[ALLOC_MAX_LINES * 32];

static AllocResult
alloc(int64_t total, const int64_t *w, const int64_t *caps, size_t n)
{
	return alloc_largest_remainder(total, w, caps, n, alloc_shares, alloc_scratch);
}

/*
 * The exact (continuous) allocation, found independently: x_i =
 * min(cap_i, lambda * w_i) with sum x = min(total, sum of caps), lambda by
 * bisection in long double.
 */
static void
exact_allocation(int64_t total, const int64_t *w, const int64_t *caps, size_t n, long double *x)
{
	long double lo = 0, hi, target = (long double) total, capsum = 0;
	int64_t		minw = INT64_MAX;
	size_t		i;
	int			it;

	for (i = 0; i < n; i++)
		if (w[i] > 0)
		{
			capsum += caps ? (long double) caps[i] : 1e30L;
			if (w[i] < minw)
				minw = w[i];
		}
	hi = (long double) total / minw + 1;
	if (capsum < target)
		target = capsum;
	for (it = 0; it < 100; it++)
	{
		long double mid = (lo + hi) / 2, sum = 0;

		for (i = 0; i < n; i++)
		{
			long double v = mid * w[i];

			sum += (caps && v > caps[i]) ? caps[i] : v;
		}
		if (sum < target)
			lo = mid;
		else
			hi = mid;
	}
	for (i = 0; i < n; i++)
	{
		long double v = hi * w[i];

		x[i] = (caps && v > caps[i]) ? caps[i] : v;
	}
}

static void
test_allocation(void)
{
	AllocResult r;
	long		bad_sum = 0, bad_near = 0, bad_cap = 0, bad_neg = 0;
	long		k;
	static long double x[64];

	{
		int64_t		w[2] = {18999, 17997};

		r = alloc(2000, w, NULL, 2);
		ok(r.status == ALLOC_OK && alloc_shares[0] == 1027 && alloc_shares[1] == 973,
		   "the seed's example: 20.00 over 189.99 and 3 x 59.99 gives 10.27 and 9.73%s", NULL);
	}
	{
		int64_t		w[2] = {1, 1};

		r = alloc(1, w, NULL, 2);
		ok(alloc_shares[0] == 1 && alloc_shares[1] == 0, "a tie of remainder and weight goes to the lower position%s", NULL);
	}
	{
		int64_t		w[2] = {1, 3};

		r = alloc(2, w, NULL, 2);
		ok(alloc_shares[0] == 0 && alloc_shares[1] == 2, "a tie of remainder goes to the larger weight%s", NULL);
	}
	{
		int64_t		w[3] = {1, 2, 0};

		r = alloc(1, w, NULL, 3);
		ok(alloc_shares[0] == 0 && alloc_shares[1] == 1 && alloc_shares[2] == 0,
		   "the larger remainder wins; weight 0 gets nothing%s", NULL);
	}
	{
		int64_t		w[3] = {1, 1, 1}, c[3] = {10, 1000, 5};

		r = alloc(100, w, c, 3);
		ok(r.allocated == 100 && alloc_shares[0] == 10 && alloc_shares[1] == 85 && alloc_shares[2] == 5,
		   "capped lines take their cap, the rest goes to the others%s", NULL);
		r = alloc(5000, w, c, 3);
		ok(r.allocated == 1015 && alloc_shares[0] == 10 && alloc_shares[1] == 1000 && alloc_shares[2] == 5,
		   "an amount above the sum of the caps allocates the caps%s", NULL);
	}
	{
		int64_t		w[2] = {0, 0};
		int64_t		wn[2] = {1, -1};
		int64_t		c[2] = {1, -1};
		int64_t		w1[2] = {1, 1};

		ok(alloc(10, w, NULL, 2).status == ALLOC_ALL_ZERO, "all-zero weights are refused%s", NULL);
		r = alloc(10, wn, NULL, 2);
		ok(r.status == ALLOC_NEGATIVE_WEIGHT && r.at == 1, "a negative weight is refused, with its position%s", NULL);
		r = alloc(10, w1, c, 2);
		ok(r.status == ALLOC_NEGATIVE_CAP && r.at == 1, "a negative cap is refused%s", NULL);
		ok(alloc(-1, w1, NULL, 2).status == ALLOC_NEGATIVE_TOTAL, "a negative amount is refused%s", NULL);
		ok(alloc(10, w1, NULL, 0).status == ALLOC_NO_LINES, "no lines is refused%s", NULL);
		r = alloc(ALLOC_MAX_VALUE, w1, NULL, 2);
		ok(r.status == ALLOC_OK && alloc_shares[0] + alloc_shares[1] == ALLOC_MAX_VALUE,
		   "10^18 units allocate exactly%s", NULL);
		ok(alloc(ALLOC_MAX_VALUE + 1, w1, NULL, 2).status == ALLOC_TOO_LARGE, "above 10^18 is refused%s", NULL);
	}

	/* random cases, with and without caps */
	for (k = 0; k < 300000; k++)
	{
		size_t		n = 1 + rng() % 40, i;
		int64_t		w[64], c[64], total, sum = 0;
		int			use_caps = (int) (rng() % 2);
		long double capsum = 0;

		for (i = 0; i < n; i++)
		{
			w[i] = (rng() % 5 == 0) ? 0 : (int64_t) (rng() % (k % 3 == 0 ? 100 : 10000000));
			c[i] = (int64_t) (rng() % 100000);
			if (w[i] > 0)
				capsum += c[i];
		}
		w[rng() % n] += 1;		/* never all zero */
		total = (int64_t) (rng() % 2000000);
		r = alloc(total, w, use_caps ? c : NULL, n);
		exact_allocation(total, w, use_caps ? c : NULL, n, x);
		for (i = 0; i < n; i++)
		{
			sum += alloc_shares[i];
			bad_cap += use_caps && alloc_shares[i] > c[i];
			bad_neg += alloc_shares[i] < 0;
			bad_near += (x[i] - alloc_shares[i] >= 1.0L + 1e-6L) || (alloc_shares[i] - x[i] >= 1.0L + 1e-6L);
		}
		if (use_caps)
		{
			int64_t		capsum_i = 0;

			for (i = 0; i < n; i++)
				if (w[i] > 0)
					capsum_i += c[i];
			bad_sum += sum != (total < capsum_i ? total : capsum_i);
		}
		else
			bad_sum += sum != total;
		bad_sum += sum != r.allocated;
	}
	/* the units left over go exactly where a full sort would send them */
	{
		long		differ = 0;

		for (k = 0; k < 100000; k++)
		{
			size_t		n = 1 + rng() % 60, i, j;
			int64_t		w[64], total = (int64_t) (rng() % 1000), wsum = 0, given = 0;
			int64_t		ref[64];
			__int128	rem[64];
			long		order[64];

			for (i = 0; i < n; i++)
			{
				w[i] = (int64_t) (rng() % 4);	/* many ties */
				wsum += w[i];
			}
			if (wsum == 0)
			{
				w[0] = 1;
				wsum = 1;
			}
			for (i = 0; i < n; i++)
			{
				ref[i] = (int64_t) ((__int128) total * w[i] / wsum);
				rem[i] = w[i] > 0 ? (__int128) total * w[i] % wsum : -1;
				given += ref[i];
				order[i] = (long) i;
			}
			/* insertion sort: larger remainder, larger weight, lower position */
			for (i = 1; i < n; i++)
				for (j = i; j > 0; j--)
				{
					long		a = order[j - 1], b = order[j];
					int			b_first = rem[b] > rem[a] || (rem[b] == rem[a] && (w[b] > w[a] || (w[b] == w[a] && b < a)));

					if (!b_first)
						break;
					order[j - 1] = b;
					order[j] = a;
				}
			for (i = 0; i < (size_t) (total - given); i++)
				ref[order[i]]++;
			alloc(total, w, NULL, n);
			for (i = 0; i < n; i++)
				differ += alloc_shares[i] != ref[i];
		}
		ok(differ == 0, "100,000 random cases with many ties: the leftover units go where a full sort sends them%s", NULL);
	}
	{
		char		msg[200];

		snprintf(msg, sizeof(msg),
				 "300,000 random cases: %ld inexact sums, %ld shares a unit or more from their exact value, %ld above a cap, %ld negative",
				 bad_sum, bad_near, bad_cap, bad_neg);
		ok(bad_sum + bad_near + bad_cap + bad_neg == 0, "%s", msg);
	}
}

int
main(void)
{
	test_reading();
	test_packing();
	test_fuzz();
	test_check_symbol();
	test_generation();
	test_seen();
	test_allocation();
	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}
