/*
 * voucher.h
 *		The deal-voucher state machine (voucher.c).
 */
#ifndef COUPON_VOUCHER_H
#define COUPON_VOUCHER_H

#include "postgres.h"

/* counter rows per variant; a power of two, the same in the SQL (& 63) */
#define VOUCHER_SLOTS 64

/* counter slot of a code; the same as coupon.code_hash(code) & 63 */
extern int	voucher_slot(const struct varlena *code);

#endif							/* COUPON_VOUCHER_H */
