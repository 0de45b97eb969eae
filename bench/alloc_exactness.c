/*
 * alloc_exactness.c
 *		An exactness run of the allocation core over N random cases: the
 *		shares add up exactly, each is within one minor unit of its exact
 *		proportional value (computed independently), none is above its cap
 *		or negative.  Prints the counts.  Built by bench/03_shop.sh.
 */
#include <stdio.h>
#include <stdlib.h>

#include "alloc_core.h"

static unsigned long long state = 88172645463325252ULL;

static unsigned long long
next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

int
main(int argc, char **argv)
{
	long		cases = argc > 1 ? atol(argv[1]) : 1000000;
	long		k, bad_sum = 0, bad_near = 0, bad_cap = 0, bad_neg = 0, capped_cases = 0;
	static int64_t w[128], c[128], s[128];
	static _Alignas(16) unsigned char scratch[128 * 32];

	for (k = 0; k < cases; k++)
	{
		size_t		n = 1 + next() % 100, i;
		int			caps = (int) (next() % 2);
		int64_t		total = (int64_t) (next() % 100000000), sum = 0, wsum = 0, capsum = 0, target;
		AllocResult r;

		for (i = 0; i < n; i++)
		{
			w[i] = (int64_t) (next() % 1000000);
			c[i] = (int64_t) (next() % 2000000);
			wsum += w[i];
		}
		if (wsum == 0)
		{
			w[0] = 1;
			wsum = 1;
		}
		for (i = 0; i < n; i++)
			if (w[i] > 0)
				capsum += c[i];
		r = alloc_largest_remainder(total, w, caps ? c : NULL, n, s, scratch);
		target = caps && capsum < total ? capsum : total;
		capped_cases += caps && capsum < total;
		for (i = 0; i < n; i++)
		{
			sum += s[i];
			bad_neg += s[i] < 0;
			bad_cap += caps && s[i] > c[i];
			/* without binding caps the exact value is total * w / wsum */
			if (!caps)
			{
				long double exact = (long double) total * w[i] / wsum;

				bad_near += (exact - s[i] >= 1.0L) || (s[i] - exact >= 1.0L);
			}
		}
		bad_sum += (r.status != ALLOC_OK) || sum != target;
	}
	printf("exactness over %ld random cases of 1 to 100 lines (half with caps, %ld of them capped below the amount):\n",
		   cases, capped_cases);
	printf("  %ld inexact sums, %ld shares a minor unit or more from their exact value, %ld above a cap, %ld negative\n",
		   bad_sum, bad_near, bad_cap, bad_neg);
	return (bad_sum + bad_near + bad_cap + bad_neg) ? 1 : 0;
}
