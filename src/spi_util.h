/*
 * spi_util.h
 *		Prepared SPI statements kept for the life of the backend, and
 *		readers of result columns.  Statements pass codes as text and cast
 *		them in SQL ($1::coupon.code), so that no type OID of the extension
 *		is cached in C.
 */
#ifndef COUPON_SPI_UTIL_H
#define COUPON_SPI_UTIL_H

#include "postgres.h"

#include "executor/spi.h"

#define STMT_MAX_ARGS 16

typedef struct Stmt
{
	const char *sql;
	int			nargs;
	Oid			argtypes[STMT_MAX_ARGS];
	SPIPlanPtr	plan;
} Stmt;

/* static Stmt s = STMT("SELECT ... $1", 1, TEXTOID); */
#define STMT(sql_, nargs_, ...) {.sql = (sql_), .nargs = (nargs_), .argtypes = {__VA_ARGS__}}

/*
 * Run a prepared statement; nulls is a string of ' ' and 'n' (or NULL).
 * latest: read with the latest snapshot, to see what independent
 * transactions (the failure recorder) committed since this one started.
 * Returns the number of rows processed.
 */
extern uint64 stmt_exec(Stmt *s, Datum *values, const char *nulls,
						bool latest, long count);

/* column col (1-based) of row r of the last result */
extern bool spi_isnull(uint64 r, int col);
extern int64 spi_int8(uint64 r, int col);
extern int32 spi_int4(uint64 r, int col);
extern bool spi_bool(uint64 r, int col);
extern TimestampTz spi_timestamptz(uint64 r, int col);
extern char *spi_text(uint64 r, int col);	/* NULL when null; palloc'd in the current context */
extern Datum spi_datum_copy(uint64 r, int col, bool *isnull);	/* copied to the current context */

/* Set up a materialized set-returning function (InitMaterializedSRF). */
#include "funcapi.h"
#include "utils/tuplestore.h"
extern void srf_materialize(FunctionCallInfo fcinfo, Tuplestorestate **store,
							TupleDesc *tupdesc);

#endif							/* COUPON_SPI_UTIL_H */
