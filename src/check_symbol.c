/*
 * check_symbol.c
 *		Server-free check character (see check_symbol.h).
 */
#include "check_symbol.h"

#include <stdbool.h>

const char	check_alphabet[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
check_value(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char) (c - 'a' + 'A');
	if (c >= '0' && c <= '9')
		return c - '0';
	switch (c)
	{
		case 'O':
			return 0;
		case 'I':
		case 'L':
			return 1;
		case 'U':
			return -1;
		default:
			break;
	}
	if (c >= 'A' && c <= 'Z')
	{
		/* position in the alphabet: skip I, L, O and U before c */
		int			v = c - 'A' + 10;

		v -= (c > 'I') + (c > 'L') + (c > 'O') + (c > 'U');
		return v;
	}
	return -1;
}

uint8_t
check_fold(const uint8_t *values, size_t n)
{
	uint8_t		r = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		r = check_step(r, values[i]);
	return r;
}

long
check_read(const char *in, size_t len, uint8_t *values, size_t *bad_offset)
{
	long		n = 0;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		int			v;

		if (in[i] == ' ' || in[i] == '-')
			continue;
		v = check_value(in[i]);
		if (v < 0)
		{
			*bad_offset = i;
			return -1;
		}
		values[n++] = (uint8_t) v;
	}
	return n;
}

/*
 * Values of all bytes: 0..31 for symbols, 32 for the skipped separators,
 * -1 for the rest.  Built once from check_value.
 */
static int8_t byte_values[256];
static bool byte_values_ready = false;

static void
build_byte_values(void)
{
	int			c;

	for (c = 0; c < 256; c++)
		byte_values[c] = (int8_t) check_value((char) c);
	byte_values[' '] = 32;
	byte_values['-'] = 32;
	byte_values_ready = true;
}

long
check_fold_text(const char *in, size_t len, uint8_t *fold, size_t *bad_offset)
{
	uint8_t		r = 0;
	long		n = 0;
	size_t		i;

	if (!byte_values_ready)
		build_byte_values();
	for (i = 0; i < len; i++)
	{
		int			v = byte_values[(uint8_t) in[i]];

		if (v == 32)
			continue;
		if (v < 0)
		{
			*bad_offset = i;
			return -1;
		}
		r = check_step(r, (uint8_t) v);
		n++;
	}
	*fold = r;
	return n;
}
