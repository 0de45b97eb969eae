/*
 * alloc_core.c
 *		Largest-remainder allocation with caps (alloc_core.h).
 */
#include "alloc_core.h"

#include <stdlib.h>

#ifndef __SIZEOF_INT128__
#error "alloc_core.c needs a 128-bit integer type"
#endif
typedef __int128 i128;

/* the ordering of lines for the leftover units */
typedef struct SortCtx
{
	const i128 *rem;
	const int64_t *weights;
} SortCtx;

static SortCtx sort_ctx;

static int
by_remainder(const void *pa, const void *pb)
{
	long		a = *(const long *) pa;
	long		b = *(const long *) pb;

	if (sort_ctx.rem[a] != sort_ctx.rem[b])
		return sort_ctx.rem[a] > sort_ctx.rem[b] ? -1 : 1;
	if (sort_ctx.weights[a] != sort_ctx.weights[b])
		return sort_ctx.weights[a] > sort_ctx.weights[b] ? -1 : 1;
	return (a > b) - (a < b);
}

size_t
alloc_scratch_size(size_t n)
{
	return n * (sizeof(i128) + sizeof(long) + sizeof(bool));
}

AllocResult
alloc_largest_remainder(int64_t total, const int64_t *weights, const int64_t *caps,
						size_t n, int64_t *shares, void *scratch)
{
	AllocResult r = {ALLOC_OK, -1, 0};
	i128	   *rem = scratch;
	long	   *work = (long *) (rem + n);
	bool	   *active = (bool *) (work + n);
	i128		weight_sum = 0;
	i128		cap_sum = 0;
	int64_t		left;
	size_t		i;

	if (n == 0)
	{
		r.status = ALLOC_NO_LINES;
		return r;
	}
	if (n > ALLOC_MAX_LINES)
	{
		r.status = ALLOC_TOO_MANY_LINES;
		return r;
	}
	if (total < 0)
	{
		r.status = ALLOC_NEGATIVE_TOTAL;
		return r;
	}
	if (total > ALLOC_MAX_VALUE)
	{
		r.status = ALLOC_TOO_LARGE;
		return r;
	}
	for (i = 0; i < n; i++)
	{
		if (weights[i] < 0)
		{
			r.status = ALLOC_NEGATIVE_WEIGHT;
			r.at = (long) i;
			return r;
		}
		if (caps != NULL && caps[i] < 0)
		{
			r.status = ALLOC_NEGATIVE_CAP;
			r.at = (long) i;
			return r;
		}
		if (weights[i] > ALLOC_MAX_VALUE || (caps != NULL && caps[i] > ALLOC_MAX_VALUE))
		{
			r.status = ALLOC_TOO_LARGE;
			r.at = (long) i;
			return r;
		}
		weight_sum += weights[i];
		if (caps != NULL && weights[i] > 0)
			cap_sum += caps[i];
	}
	if (weight_sum == 0)
	{
		r.status = ALLOC_ALL_ZERO;
		return r;
	}

	left = (caps != NULL && cap_sum < total) ? (int64_t) cap_sum : total;
	r.allocated = left;
	for (i = 0; i < n; i++)
	{
		shares[i] = 0;
		active[i] = weights[i] > 0;
	}

	/* lines whose quota exceeds their cap take the cap; spread the rest again */
	if (caps != NULL)
	{
		bool		capped;

		do
		{
			capped = false;
			for (i = 0; i < n; i++)
			{
				if (active[i] && (i128) left * weights[i] > (i128) caps[i] * weight_sum)
				{
					shares[i] = caps[i];
					active[i] = false;
					capped = true;
				}
			}
			if (capped)
			{
				weight_sum = 0;
				for (i = 0; i < n; i++)
					if (active[i])
						weight_sum += weights[i];
				left = r.allocated;
				for (i = 0; i < n; i++)
					if (!active[i])
						left -= shares[i];
			}
		} while (capped && weight_sum > 0);
	}

	if (weight_sum > 0 && left > 0)
	{
		int64_t		spread = 0;
		size_t		m = 0;
		int64_t		extra;

		for (i = 0; i < n; i++)
		{
			if (!active[i])
				continue;
			{
				i128		q = (i128) left * weights[i];

				shares[i] = (int64_t) (q / weight_sum);
				rem[i] = q % weight_sum;
				spread += shares[i];
				work[m++] = (long) i;
			}
		}
		extra = left - spread;	/* fewer than the active lines */
		if (extra > 0)
		{
			sort_ctx.rem = rem;
			sort_ctx.weights = weights;
			qsort(work, m, sizeof(long), by_remainder);
			for (i = 0; i < (size_t) extra; i++)
				shares[work[i]]++;
		}
	}
	return r;
}
