/*
 * voucher.h
 *		The deal-voucher state machine (voucher.c).
 */
#ifndef COUPON_VOUCHER_H
#define COUPON_VOUCHER_H

#include "postgres.h"

/* counter slot (0..15) of a code; the same as coupon.code_hash(code) & 15 */
extern int	voucher_slot(const struct varlena *code);

#endif							/* COUPON_VOUCHER_H */
