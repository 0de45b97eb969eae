/*
 * coupon_errors.h
 *		The one table of the extension's own SQLSTATEs.
 *
 * Class CP is not used by PostgreSQL.  Every business refusal has its own
 * code, so that applications branch on the code, not on the text; each is
 * documented in doc/sqlstates.md (a test keeps the two in step).  Input
 * that is not a code at all uses the standard 22P02, bad arguments 22023.
 *
 * CP0xx: codes and generation.
 */
#ifndef COUPON_ERRORS_H
#define COUPON_ERRORS_H

/* the requested number of codes exceeds 1/1000 of the pattern's space */
#define ERRCODE_COUPON_CODE_SPACE_TOO_SMALL		MAKE_SQLSTATE('C','P','0','0','1')

#endif							/* COUPON_ERRORS_H */
