/*
 * alloc_core.c
 *		Largest-remainder allocation with caps (alloc_core.h).
 */
#include "alloc_core.h"

#include <stdbool.h>
#include <stdlib.h>

#ifndef __SIZEOF_INT128__
#error "alloc_core.c needs a 128-bit integer type"
#endif
typedef __int128 i128;

/*
 * The lines that get one of the leftover units: the `extra` first in the
 * order larger remainder, then larger weight, then lower position (a strict
 * total order, so the set is the same whatever the algorithm).  Found by
 * quickselect, in linear time on average; a deep recursion falls back to
 * sorting.
 */
typedef struct Cand
{
	i128		rem;
	int64_t		weight;
	long		idx;
} Cand;

/* a comes before b */
static inline bool
before(const Cand *a, const Cand *b)
{
	if (a->rem != b->rem)
		return a->rem > b->rem;
	if (a->weight != b->weight)
		return a->weight > b->weight;
	return a->idx < b->idx;
}

static int
cand_cmp(const void *pa, const void *pb)
{
	const Cand *a = pa;
	const Cand *b = pb;

	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

static inline void
swap_cand(Cand *a, Cand *b)
{
	Cand		t = *a;

	*a = *b;
	*b = t;
}

/* rearrange c[0..m) so that its first k elements are the k first in order */
static void
select_first(Cand *c, size_t m, size_t k, int depth)
{
	while (m > 1 && k > 0 && k < m)
	{
		size_t		lo = 0, hi = m - 1, mid = m / 2, i, store;
		Cand		pivot;

		if (depth-- <= 0)
		{
			qsort(c, m, sizeof(Cand), cand_cmp);
			return;
		}
		/* median of three as the pivot, moved to the end */
		if (before(&c[mid], &c[lo]))
			swap_cand(&c[mid], &c[lo]);
		if (before(&c[hi], &c[lo]))
			swap_cand(&c[hi], &c[lo]);
		if (before(&c[mid], &c[hi]))
			swap_cand(&c[mid], &c[hi]);
		pivot = c[hi];
		for (i = 0, store = 0; i < hi; i++)
			if (before(&c[i], &pivot))
				swap_cand(&c[i], &c[store++]);
		swap_cand(&c[store], &c[hi]);
		/* c[0..store) before the pivot, c[store] the pivot, the rest after */
		if (k == store || k == store + 1)
			return;
		if (k < store)
			m = store;
		else
		{
			c += store + 1;
			m -= store + 1;
			k -= store + 1;
		}
	}
}

size_t
alloc_scratch_size(size_t n)
{
	return n * (sizeof(Cand) + sizeof(bool));
}

AllocResult
alloc_largest_remainder(int64_t total, const int64_t *weights, const int64_t *caps,
						size_t n, int64_t *shares, void *scratch)
{
	AllocResult r = {ALLOC_OK, -1, 0};
	Cand	   *cands = scratch;
	bool	   *active = (bool *) (cands + n);
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
		int			depth = 2;

		for (i = 0; i < n; i++)
		{
			i128		q;

			if (!active[i])
				continue;
			q = (i128) left * weights[i];
			shares[i] = (int64_t) (q / weight_sum);
			spread += shares[i];
			cands[m].rem = q % weight_sum;
			cands[m].weight = weights[i];
			cands[m].idx = (long) i;
			m++;
		}
		extra = left - spread;	/* fewer than the active lines */
		if (extra > 0)
		{
			for (i = m; i > 1; i >>= 1)
				depth += 2;
			select_first(cands, m, (size_t) extra, depth);
			for (i = 0; i < (size_t) extra; i++)
				shares[cands[i].idx]++;
		}
	}
	return r;
}
