/*
 * cron.c
 *		Scheduling expiry with pg_cron, when pg_cron is there.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "spi_util.h"

#define EXPIRY_JOB "coupon-expiry"

static void
require_pg_cron(void)
{
	if (!OidIsValid(get_extension_oid("pg_cron", true)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_cron is not installed in this database"),
				 errhint("Add pg_cron to shared_preload_libraries, set cron.database_name to this database, run CREATE EXTENSION pg_cron; or run CALL coupon.expire_due() from another scheduler.")));
}

PG_FUNCTION_INFO_V1(voucher_schedule_expiry);
Datum
voucher_schedule_expiry(PG_FUNCTION_ARGS)
{
	Datum		args[3];
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	int64		job;

	require_pg_cron();
	args[0] = CStringGetTextDatum(EXPIRY_JOB);
	args[1] = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	args[2] = CStringGetTextDatum("CALL coupon.expire_due()");
	SPI_connect();
	if (SPI_execute_with_args("SELECT cron.schedule($1, $2, $3)", 3, types, args, NULL,
							  false, 1) != SPI_OK_SELECT)
		elog(ERROR, "cron.schedule failed");
	job = spi_int8(0, 1);
	SPI_finish();
	PG_RETURN_INT64(job);
}

PG_FUNCTION_INFO_V1(voucher_unschedule_expiry);
Datum
voucher_unschedule_expiry(PG_FUNCTION_ARGS)
{
	Datum		arg = CStringGetTextDatum(EXPIRY_JOB);
	Oid			type = TEXTOID;
	bool		removed;

	require_pg_cron();
	SPI_connect();
	if (SPI_execute_with_args("SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = $1",
							  1, &type, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "cron.unschedule failed");
	removed = SPI_processed > 0;
	SPI_finish();
	PG_RETURN_BOOL(removed);
}
