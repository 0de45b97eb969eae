/*
 * coupon.c
 *		Module entry point of the coupon extension: its settings.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "attempts.h"
#include "direct.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			coupon_max_secret_failures = 5;
int			coupon_partner_failures_per_hour = 20;

void
_PG_init(void)
{
	DefineCustomIntVariable("coupon.max_secret_failures",
							"Wrong secrets after which a voucher is locked.",
							"An administrator unlocks it with coupon.unlock().",
							&coupon_max_secret_failures,
							5, 1, 1000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("coupon.partner_failures_per_hour",
							"Failed activations and lookups in an hour after which a partner is paused.",
							"Unknown codes, wrong secrets and locked vouchers count.",
							&coupon_partner_failures_per_hour,
							20, 1, 1000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("coupon.direct_writes",
							 "Activation reads and writes the voucher tables from C rather than through SQL.",
							 "Turn it off when the tables are distributed with Citus: only SQL reaches their shards.",
							 &coupon_direct_writes,
							 true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("coupon");
#else
	EmitWarningsOnPlaceholders("coupon");
#endif
}
