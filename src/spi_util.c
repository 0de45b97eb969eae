/*
 * spi_util.c
 *		Prepared SPI statements and result readers (spi_util.h).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "spi_util.h"

uint64
stmt_exec(Stmt *s, Datum *values, const char *nulls, bool latest, long count)
{
	int			rc;

	if (s->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(s->sql, s->nargs, s->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", s->sql,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		s->plan = plan;
	}
	if (latest)
		rc = SPI_execute_snapshot(s->plan, values, nulls, GetLatestSnapshot(),
								  InvalidSnapshot, false, false, count);
	else
		rc = SPI_execute_plan(s->plan, values, nulls, false, count);
	if (rc < 0)
		elog(ERROR, "SPI failed for \"%s\": %s", s->sql, SPI_result_code_string(rc));
	return SPI_processed;
}

static Datum
getval(uint64 r, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, col, isnull);
}

bool
spi_isnull(uint64 r, int col)
{
	bool		isnull;

	(void) getval(r, col, &isnull);
	return isnull;
}

int64
spi_int8(uint64 r, int col)
{
	bool		isnull;
	Datum		d = getval(r, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

int32
spi_int4(uint64 r, int col)
{
	bool		isnull;
	Datum		d = getval(r, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

bool
spi_bool(uint64 r, int col)
{
	bool		isnull;
	Datum		d = getval(r, col, &isnull);

	return isnull ? false : DatumGetBool(d);
}

TimestampTz
spi_timestamptz(uint64 r, int col)
{
	bool		isnull;
	Datum		d = getval(r, col, &isnull);

	return isnull ? DT_NOBEGIN : DatumGetTimestampTz(d);
}

char *
spi_text(uint64 r, int col)
{
	bool		isnull;
	Datum		d = getval(r, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

Datum
spi_datum_copy(uint64 r, int col, bool *isnull)
{
	Datum		d = getval(r, col, isnull);
	Oid			typid = SPI_gettypeid(SPI_tuptable->tupdesc, col);
	int16		typlen;
	bool		typbyval;

	if (*isnull)
		return (Datum) 0;
	get_typlenbyval(typid, &typlen, &typbyval);
	return datumCopy(d, typbyval, typlen);
}

void
srf_materialize(FunctionCallInfo fcinfo, Tuplestorestate **store, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	MemoryContext old;
	TupleDesc	desc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->setDesc = CreateTupleDescCopy(desc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	MemoryContextSwitchTo(old);
#endif
	*store = rsinfo->setResult;
	*tupdesc = rsinfo->setDesc;
}
