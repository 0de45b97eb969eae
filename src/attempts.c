/*
 * attempts.c
 *		Counting failed attempts in an independent transaction (attempts.h).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "attempts.h"
#include "code_pack.h"
#include "coupon_errors.h"

/* how long to wait for a free worker slot before giving up */
#define START_WAIT_MS 3000

typedef struct FailureJob
{
	/* in */
	Oid			database;
	Oid			owner;
	int			kind;
	int			max_failures;
	int64		partner_id;
	int64		voucher_partner_id;
	char		code[CODE_MAX_CHARS + 1];
	char		role_name[NAMEDATALEN];
	/* out */
	bool		done;
	int			failures;
	bool		locked;
} FailureJob;

PGDLLEXPORT void coupon_failure_worker(Datum main_arg);

FailureResult
record_failure(FailureKind kind, const char *code, int64 partner_id,
			   const char *role_name, int64 voucher_partner_id)
{
	dsm_segment *seg = dsm_create(sizeof(FailureJob), 0);
	FailureJob *job = dsm_segment_address(seg);
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle = NULL;
	FailureResult result;
	int			waited = 0;

	memset(job, 0, sizeof(*job));
	job->database = MyDatabaseId;
	job->owner = GetUserId();	/* inside SECURITY DEFINER: the owner */
	job->kind = kind;
	job->max_failures = coupon_max_secret_failures;
	job->partner_id = partner_id;
	job->voucher_partner_id = voucher_partner_id;
	strlcpy(job->code, code, sizeof(job->code));
	strlcpy(job->role_name, role_name, sizeof(job->role_name));

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "coupon");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "coupon_failure_worker");
	snprintf(worker.bgw_name, BGW_MAXLEN, "coupon failed-attempt recorder");
	snprintf(worker.bgw_type, BGW_MAXLEN, "coupon failed-attempt recorder");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	while (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		if (waited >= START_WAIT_MS)
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_ATTEMPT_NOT_RECORDED),
					 errmsg("the failed attempt could not be recorded"),
					 errdetail("No background worker slot became free within %d ms.", START_WAIT_MS),
					 errhint("Try again in a moment; if this persists, raise max_worker_processes.")));
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
		waited += 10;
	}
	if (WaitForBackgroundWorkerShutdown(handle) != BGWH_STOPPED || !job->done)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_ATTEMPT_NOT_RECORDED),
				 errmsg("the failed attempt could not be recorded"),
				 errhint("Try again in a moment; the server log of the recorder says why.")));
	result.failures = job->failures;
	result.locked = job->locked;
	dsm_detach(seg);
	return result;
}

void
coupon_failure_worker(Datum main_arg)
{
	dsm_segment *seg;
	FailureJob *job;
	static const char *reasons[] = {NULL, "not_found", "wrong_secret", "locked"};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	BackgroundWorkerUnblockSignals();
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR, (errmsg("coupon failed-attempt recorder: no job")));
	job = dsm_segment_address(seg);

#ifdef BGWORKER_BYPASS_ROLELOGINCHECK
	BackgroundWorkerInitializeConnectionByOid(job->database, job->owner, BGWORKER_BYPASS_ROLELOGINCHECK);
#else
	BackgroundWorkerInitializeConnectionByOid(job->database, job->owner, 0);
#endif
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("lock_timeout", "5s", PGC_USERSET, PGC_S_SESSION);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "recording a failed coupon attempt");

	if (job->kind == FAILURE_WRONG_SECRET)
	{
		Oid			types[2] = {TEXTOID, INT4OID};

		values[0] = CStringGetTextDatum(job->code);
		values[1] = Int32GetDatum(job->max_failures);
		rc = SPI_execute_with_args(
			"WITH f AS ("
			"  INSERT INTO coupon.secret_failure AS s (code, failures, last_failure_at, locked_at)"
			"  VALUES ($1::coupon.code, 1, now(), CASE WHEN $2 <= 1 THEN now() END)"
			"  ON CONFLICT (code) DO UPDATE SET failures = s.failures + 1, last_failure_at = now(),"
			"    locked_at = CASE WHEN s.locked_at IS NULL AND s.failures + 1 >= $2"
			"                     THEN now() ELSE s.locked_at END"
			"  RETURNING failures, locked_at)"
			"SELECT failures, locked_at IS NOT NULL, locked_at = now() FROM f",
			2, types, values, NULL, false, 0);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "coupon failed-attempt recorder: unexpected result %d", rc);
		{
			bool		isnull;

			job->failures = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			job->locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)) && !isnull)
			{
				Oid			etypes[3] = {TEXTOID, TEXTOID, INT8OID};
				Datum		evalues[3];
				char		enulls[3] = {' ', ' ', job->voucher_partner_id ? ' ' : 'n'};

				evalues[0] = CStringGetTextDatum(job->code);
				evalues[1] = CStringGetTextDatum(job->role_name);
				evalues[2] = Int64GetDatum(job->voucher_partner_id);
				SPI_execute_with_args(
					"INSERT INTO coupon.voucher_event (code, action, role_name, partner_id, detail)"
					" VALUES ($1::coupon.code, 'lock', $2, $3, 'locked after too many wrong secrets')",
					3, etypes, evalues, enulls, false, 0);
			}
		}
	}

	{
		Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};

		values[0] = Int64GetDatum(job->partner_id);
		nulls[0] = job->partner_id ? ' ' : 'n';
		values[1] = CStringGetTextDatum(job->code);
		values[2] = CStringGetTextDatum(reasons[job->kind]);
		values[3] = CStringGetTextDatum(job->role_name);
		rc = SPI_execute_with_args(
			"INSERT INTO coupon.partner_failure (partner_id, code, reason, role_name)"
			" VALUES ($1, $2::coupon.code, $3, $4)",
			4, types, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "coupon failed-attempt recorder: unexpected result %d", rc);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	job->done = true;
	dsm_detach(seg);
	proc_exit(0);
}
