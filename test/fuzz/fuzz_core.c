/*
 * fuzz_core.c
 *		libFuzzer target over the server-free core: the code reader, the
 *		packer and unpacker, the check-symbol reader and the pattern
 *		compiler.  Any crash, sanitizer report or broken invariant aborts.
 *		Built and run by `make fuzz` (clang with -fsanitize=fuzzer).
 */
#include <stdlib.h>
#include <string.h>

#include "check_symbol.h"
#include "code_pack.h"
#include "gen_core.h"

static int
valid_code_text(const char *s, size_t n)
{
	size_t		sig = 0, i;

	for (i = 0; i < n; i++)
	{
		char		c = s[i];

		if (c == ' ' || c == '-')
			continue;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
		sig++;
	}
	return sig >= 1 && sig <= CODE_MAX_CHARS;
}

static void
fill_zero(void *ctx, uint8_t *buf, size_t n)
{
	(void) ctx;
	memset(buf, 0, n);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	char		out[CODE_MAX_CHARS], back[CODE_MAX_CHARS];
	uint8_t		packed[CODE_MAX_PACKED];
	size_t		n = 0;
	CodeReadResult r = code_read(s, size, out, &n);

	if ((r.status == CODE_READ_OK) != valid_code_text(s, size))
		abort();
	if (r.status == CODE_READ_OK)
	{
		size_t		len = code_pack(out, n, packed);

		if (code_unpack(packed, len, back) != n || memcmp(back, out, n) != 0)
			abort();
	}
	if (size >= 1 && size <= CODE_MAX_PACKED)
	{
		size_t		m = code_unpack(data, size, back);

		if (m != 0 && (code_pack(back, m, packed) != size || memcmp(packed, data, size) != 0))
			abort();
	}
	{
		uint8_t    *vals = malloc(size + 1);
		size_t		bad = 0;
		long		k = check_read(s, size, vals, &bad);

		if (k < 0 && bad >= size)
			abort();
		if (k >= 0)
			(void) check_fold(vals, (size_t) k);
		free(vals);
	}
	{
		/* first byte splits the input into a pattern and an alphabet */
		GenPattern	p;
		GenRandom	rnd;
		size_t		split = size ? data[0] % size : 0;

		if (size > 1 && gen_compile(&p, s + 1, split, s + 1 + split, size - 1 - split,
									data[0] & 1).status == GEN_OK)
		{
			gen_random_init(&rnd, fill_zero, NULL, 64);
			gen_draw(&p, &rnd, out);
			if (!valid_code_text(out, gen_code_len(&p)))
				abort();
		}
	}
	return 0;
}
