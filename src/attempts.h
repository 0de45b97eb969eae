/*
 * attempts.h
 *		Failed attempts (unknown code, wrong secret, locked voucher) are
 *		counted by an independent transaction: the call that fails raises an
 *		ERROR, which rolls back everything it wrote, yet the count must stay.
 *		A dynamic background worker connects to the same database as the
 *		extension's owner, records the failure, commits, and reports back
 *		through a dynamic shared memory segment; the caller waits for it and
 *		only then raises its error.
 *
 * The caller must hold no lock that the worker needs: the worker writes
 * only coupon.secret_failure, coupon.partner_failure and, when it locks a
 * voucher, coupon.voucher_event, none of which the activating transaction
 * locks.
 */
#ifndef COUPON_ATTEMPTS_H
#define COUPON_ATTEMPTS_H

#include "postgres.h"

typedef enum FailureKind
{
	FAILURE_NOT_FOUND = 1,
	FAILURE_WRONG_SECRET,
	FAILURE_LOCKED
} FailureKind;

typedef struct FailureResult
{
	int			failures;		/* wrong secrets of this voucher so far */
	bool		locked;			/* the voucher is locked now */
} FailureResult;

/*
 * Record one failure and wait until it is committed.  code is canonical;
 * partner_id is the caller's partner, 0 for callers without a partner
 * (administrators); voucher_partner_id the partner of the voucher (0 when
 * there is none), named in the log when the voucher gets locked.
 */
extern FailureResult record_failure(FailureKind kind, const char *code,
									int64 partner_id, const char *role_name,
									int64 voucher_partner_id);

/* settings (coupon.c) */
extern int	coupon_max_secret_failures;
extern int	coupon_partner_failures_per_hour;

#endif							/* COUPON_ATTEMPTS_H */
