/*
 * coupon_errors.h
 *		The one table of the extension's own SQLSTATEs.
 *
 * Class CP is not used by PostgreSQL.  Every business refusal has its own
 * code, so that applications branch on the code, not on the text; each is
 * documented in doc/sqlstates.md (a test keeps the two in step).  Input
 * that is not a code at all uses the standard 22P02, bad arguments 22023,
 * missing privileges 42501, a missing pg_cron 55000.
 *
 * CP0xx: codes and generation.  CP1xx: deal vouchers.  CP2xx: shop coupons.
 */
#ifndef COUPON_ERRORS_H
#define COUPON_ERRORS_H

/* the requested number of codes exceeds 1/1000 of the pattern's space */
#define ERRCODE_COUPON_CODE_SPACE_TOO_SMALL		MAKE_SQLSTATE('C','P','0','0','1')

/* vouchers: activation and lookup */
#define ERRCODE_COUPON_VOUCHER_NOT_FOUND		MAKE_SQLSTATE('C','P','1','0','1')
#define ERRCODE_COUPON_WRONG_SECRET				MAKE_SQLSTATE('C','P','1','0','2')
#define ERRCODE_COUPON_VOUCHER_USED				MAKE_SQLSTATE('C','P','1','0','3')
#define ERRCODE_COUPON_VOUCHER_REFUNDED			MAKE_SQLSTATE('C','P','1','0','4')
#define ERRCODE_COUPON_VOUCHER_NOT_YET_VALID	MAKE_SQLSTATE('C','P','1','0','5')
#define ERRCODE_COUPON_VOUCHER_EXPIRED			MAKE_SQLSTATE('C','P','1','0','6')
#define ERRCODE_COUPON_VOUCHER_BLOCKED			MAKE_SQLSTATE('C','P','1','0','7')
#define ERRCODE_COUPON_VOUCHER_LOCKED			MAKE_SQLSTATE('C','P','1','0','8')
#define ERRCODE_COUPON_PARTNER_THROTTLED		MAKE_SQLSTATE('C','P','1','0','9')
/* vouchers: administration */
#define ERRCODE_COUPON_REFUND_USED				MAKE_SQLSTATE('C','P','1','1','0')
#define ERRCODE_COUPON_VOUCHER_NOT_BLOCKABLE	MAKE_SQLSTATE('C','P','1','1','1')
#define ERRCODE_COUPON_ATTEMPT_NOT_RECORDED		MAKE_SQLSTATE('C','P','1','1','3')
/* offers and sales */
#define ERRCODE_COUPON_OFFER_NOT_FOUND			MAKE_SQLSTATE('C','P','1','2','0')
#define ERRCODE_COUPON_OFFER_NOT_ON_SALE		MAKE_SQLSTATE('C','P','1','2','1')
#define ERRCODE_COUPON_NO_FREE_CODE				MAKE_SQLSTATE('C','P','1','2','2')
/* raised in SQL */
#define ERRCODE_COUPON_PARTNER_NOT_FOUND		MAKE_SQLSTATE('C','P','1','2','3')
/* reviews (raised in SQL; listed here to keep one table) */
#define ERRCODE_COUPON_REVIEW_NOT_YOURS			MAKE_SQLSTATE('C','P','1','3','0')
#define ERRCODE_COUPON_REVIEW_STATE				MAKE_SQLSTATE('C','P','1','3','1')
/* the voucher log is append-only (raised in SQL) */
#define ERRCODE_COUPON_LOG_APPEND_ONLY			MAKE_SQLSTATE('C','P','1','9','0')

/* shop coupons: applying a code to an order */
#define ERRCODE_COUPON_CODE_NOT_VALID			MAKE_SQLSTATE('C','P','2','0','1')
#define ERRCODE_COUPON_CODE_BLOCKED				MAKE_SQLSTATE('C','P','2','0','2')
#define ERRCODE_COUPON_CODE_NOT_YET_VALID		MAKE_SQLSTATE('C','P','2','0','3')
#define ERRCODE_COUPON_CODE_EXPIRED				MAKE_SQLSTATE('C','P','2','0','4')
#define ERRCODE_COUPON_USED_UP					MAKE_SQLSTATE('C','P','2','0','5')
#define ERRCODE_COUPON_ALREADY_USED_BY_CUSTOMER	MAKE_SQLSTATE('C','P','2','0','6')
#define ERRCODE_COUPON_MIN_ORDER				MAKE_SQLSTATE('C','P','2','0','7')
#define ERRCODE_COUPON_LOGIN_REQUIRED			MAKE_SQLSTATE('C','P','2','0','8')
#define ERRCODE_COUPON_NOTHING_ELIGIBLE			MAKE_SQLSTATE('C','P','2','0','9')
/* shop coupons: administration */
#define ERRCODE_COUPON_NOT_EDITABLE				MAKE_SQLSTATE('C','P','2','1','0')
#define ERRCODE_COUPON_LIMIT_BELOW_USES			MAKE_SQLSTATE('C','P','2','1','1')
#define ERRCODE_COUPON_NOT_DELETABLE			MAKE_SQLSTATE('C','P','2','1','2')
#define ERRCODE_COUPON_CODE_TAKEN				MAKE_SQLSTATE('C','P','2','1','3')
#define ERRCODE_COUPON_NOT_FOUND				MAKE_SQLSTATE('C','P','2','1','4')
#define ERRCODE_COUPON_LINE_NOT_FOUND			MAKE_SQLSTATE('C','P','2','1','5')
#define ERRCODE_COUPON_WRONG_CURRENCY			MAKE_SQLSTATE('C','P','2','1','6')
#define ERRCODE_COUPON_ORDER_ALREADY_REDEEMED	MAKE_SQLSTATE('C','P','2','1','7')
/* redemptions are append-only (raised in SQL) */
#define ERRCODE_COUPON_REDEMPTION_APPEND_ONLY	MAKE_SQLSTATE('C','P','2','9','0')

/* campaigns, bulk operations, import */
#define ERRCODE_COUPON_CAMPAIGN_EXISTS			MAKE_SQLSTATE('C','P','3','0','1')	/* raised in SQL */
#define ERRCODE_COUPON_CAMPAIGN_NOT_FOUND		MAKE_SQLSTATE('C','P','3','0','2')
#define ERRCODE_COUPON_NO_IMPORT				MAKE_SQLSTATE('C','P','3','0','3')
#define ERRCODE_COUPON_IMPORT_PROBLEMS			MAKE_SQLSTATE('C','P','3','0','4')

#endif							/* COUPON_ERRORS_H */
