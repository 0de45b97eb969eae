/*
 * code_pack.c
 *		Server-free reading and packing of coupon codes (see code_pack.h).
 */
#include "code_pack.h"

#include <string.h>

#define GROUP_STRIDE 1771		/* 65536 / 37, rounded down */
#define DIGIT_BASE	 37

static const char code_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

int
code_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0' + 1;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 11;
	return 0;
}

CodeReadResult
code_read(const char *in, size_t len, char *out, size_t *outlen)
{
	CodeReadResult r = {CODE_READ_OK, 0, 0};
	size_t		i;

	for (i = 0; i < len; i++)
	{
		char		c = in[i];

		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		if (code_digit(c) == 0)
		{
			r.status = CODE_READ_BAD_CHAR;
			r.bad_offset = i;
			return r;
		}
		if (r.significant < CODE_MAX_CHARS)
			out[r.significant] = c;
		r.significant++;
	}
	if (r.significant == 0)
		r.status = CODE_READ_EMPTY;
	else if (r.significant > CODE_MAX_CHARS)
		r.status = CODE_READ_TOO_LONG;
	else
		*outlen = r.significant;
	return r;
}

/* High byte that stands for a final group made of one character. */
static inline uint8_t
single_byte(int digit)
{
	return (uint8_t) ((digit * GROUP_STRIDE) >> 8);
}

size_t
code_pack(const char *chars, size_t n, uint8_t *out)
{
	size_t		i = 0;
	size_t		o = 0;

	for (; i + 3 <= n; i += 3)
	{
		unsigned	v = code_digit(chars[i]) * GROUP_STRIDE +
			code_digit(chars[i + 1]) * DIGIT_BASE +
			code_digit(chars[i + 2]);

		out[o++] = (uint8_t) (v >> 8);
		out[o++] = (uint8_t) v;
	}
	if (n - i == 2)
	{
		unsigned	v = code_digit(chars[i]) * GROUP_STRIDE +
			code_digit(chars[i + 1]) * DIGIT_BASE;

		out[o++] = (uint8_t) (v >> 8);
		out[o++] = (uint8_t) v;
	}
	else if (n - i == 1)
		out[o++] = single_byte(code_digit(chars[i]));
	return o;
}

size_t
code_unpack(const uint8_t *packed, size_t len, char *out)
{
	size_t		i = 0;
	size_t		n = 0;

	if (len == 0 || len > CODE_MAX_PACKED)
		return 0;
	for (; i + 2 <= len; i += 2)
	{
		unsigned	v = ((unsigned) packed[i] << 8) | packed[i + 1];
		unsigned	a = v / GROUP_STRIDE;
		unsigned	rest = v % GROUP_STRIDE;
		unsigned	b = rest / DIGIT_BASE;
		unsigned	c = rest % DIGIT_BASE;
		int			last = (i + 2 == len);

		/* a and b always present; c absent only in a final group */
		if (a < 1 || a > 36 || b < 1 || b > 36 || (c == 0 && !last) ||
			n + 2 + (c != 0) > CODE_MAX_CHARS)
			return 0;
		out[n++] = code_chars[a - 1];
		out[n++] = code_chars[b - 1];
		if (c != 0)
			out[n++] = code_chars[c - 1];
	}
	if (i < len)
	{
		int			d;

		for (d = 1; d <= 36; d++)
			if (single_byte(d) == packed[i])
				break;
		if (d > 36)
			return 0;
		out[n++] = code_chars[d - 1];
	}
	return n;
}

int
code_packed_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int			r = memcmp(a, b, alen < blen ? alen : blen);

	if (r != 0)
		return r < 0 ? -1 : 1;
	return (alen > blen) - (alen < blen);
}
