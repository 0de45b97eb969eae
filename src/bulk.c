/*
 * bulk.c
 *		Campaign bulk operations on shop coupons: generation, activate and
 *		block, delete (or archive), modify, attach; the import of codes from
 *		a text file; and coupon.code_problem.
 *
 * Each operation is set-based: one statement per kind of change over the
 * chosen rows, so it holds row locks only, never a lock on the table, and
 * redemptions of other coupons go on.  A coupon being redeemed meanwhile is
 * waited for and then judged again on its new row (EvalPlanQual), so a
 * coupon used a moment ago is archived rather than deleted, and keeps its
 * rules.  Each call reports what it did by outcome and reason.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "code_type.h"
#include "coupon_errors.h"
#include "gen_core.h"
#include "generate.h"
#include "spi_util.h"

/* ---------------------------------------------------------------------
 * Choosing coupons
 * --------------------------------------------------------------------- */

#define MAX_PARAMS 40

typedef struct BulkQuery
{
	StringInfoData sql;
	int			nargs;
	Oid			types[MAX_PARAMS];
	Datum		values[MAX_PARAMS];
	char		nulls[MAX_PARAMS + 1];
} BulkQuery;

static void
query_init(BulkQuery *q)
{
	initStringInfo(&q->sql);
	q->nargs = 0;
	memset(q->nulls, ' ', sizeof(q->nulls));
	q->nulls[MAX_PARAMS] = '\0';
}

/* adds a parameter, returns its number ($n) */
static int
param(BulkQuery *q, Oid type, Datum value, bool isnull)
{
	if (q->nargs == MAX_PARAMS)
		elog(ERROR, "too many parameters");
	q->types[q->nargs] = type;
	q->values[q->nargs] = value;
	q->nulls[q->nargs] = isnull ? 'n' : ' ';
	return ++q->nargs;
}

typedef struct FilterItem
{
	char	   *key;
	char	   *type;			/* jsonb_typeof */
	char	   *text;			/* the value as text */
} FilterItem;

/* the keys and values of a JSON object, through SPI */
static List *
json_items(Jsonb *obj, const char *what)
{
	Datum		arg = JsonbPGetDatum(obj);
	Oid			type = JSONBOID;
	List	   *items = NIL;
	uint64		i;

	if (SPI_execute_with_args("SELECT jsonb_typeof($1)", 1, &type, &arg, NULL, true, 1) != SPI_OK_SELECT ||
		strcmp(spi_text(0, 1), "object") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what)));
	SPI_execute_with_args("SELECT key, jsonb_typeof(value), value #>> '{}' FROM jsonb_each($1) ORDER BY key",
						  1, &type, &arg, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		FilterItem *it = palloc(sizeof(FilterItem));

		it->key = spi_text(i, 1);
		it->type = spi_text(i, 2);
		it->text = spi_text(i, 3);
		items = lappend(items, it);
	}
	return items;
}

static void
want_type(const FilterItem *it, const char *type)
{
	if (strcmp(it->type, type) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter \"%s\" needs a JSON %s, not %s", it->key, type, it->type)));
}

/*
 * WHERE clause (over alias s) choosing the coupons: a campaign, an array of
 * codes and a filter, all optional but not all absent.  Archived coupons
 * are left out unless the filter asks for them.
 */
static void
choose(BulkQuery *q, StringInfo where, FunctionCallInfo fcinfo, int campaign_arg, int codes_arg, int filter_arg)
{
	bool		chosen = false;
	bool		archived_named = false;

	appendStringInfoString(where, "true");
	if (!PG_ARGISNULL(campaign_arg))
	{
		appendStringInfo(where, " AND s.campaign_id = $%d",
						 param(q, INT8OID, PG_GETARG_DATUM(campaign_arg), false));
		chosen = true;
	}
	if (!PG_ARGISNULL(codes_arg))
	{
		Oid			arrtype = get_fn_expr_argtype(fcinfo->flinfo, codes_arg);

		appendStringInfo(where, " AND s.code = ANY ($%d)", param(q, arrtype, PG_GETARG_DATUM(codes_arg), false));
		chosen = true;
	}
	if (!PG_ARGISNULL(filter_arg))
	{
		ListCell   *lc;

		foreach(lc, json_items(PG_GETARG_JSONB_P(filter_arg), "filter"))
		{
			FilterItem *it = lfirst(lc);
			Datum		v = CStringGetTextDatum(it->text ? it->text : "");

			chosen = true;
			if (strcmp(it->key, "all") == 0)
			{
				want_type(it, "boolean");
				if (strcmp(it->text, "true") != 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("filter \"all\" can only be true")));
			}
			else if (strcmp(it->key, "kind") == 0 || strcmp(it->key, "audience") == 0 ||
					 strcmp(it->key, "status") == 0)
			{
				want_type(it, "string");
				appendStringInfo(where, " AND s.%s = $%d::coupon.coupon_%s", it->key,
								 param(q, TEXTOID, v, false), it->key);
			}
			else if (strcmp(it->key, "used") == 0 || strcmp(it->key, "sent") == 0 ||
					 strcmp(it->key, "archived") == 0)
			{
				const char *column = strcmp(it->key, "used") == 0 ? "first_used_at"
					: strcmp(it->key, "sent") == 0 ? "sent_at" : "archived_at";

				want_type(it, "boolean");
				appendStringInfo(where, " AND s.%s IS %s NULL", column,
								 strcmp(it->text, "true") == 0 ? "NOT" : "");
				if (strcmp(it->key, "archived") == 0)
					archived_named = true;
			}
			else if (strcmp(it->key, "code_prefix") == 0)
			{
				want_type(it, "string");
				appendStringInfo(where, " AND left(s.code::text, length(($%1$d)::coupon.code::text)) = ($%1$d)::coupon.code::text",
								 param(q, TEXTOID, v, false));
			}
			else if (strcmp(it->key, "campaign_id") == 0)
			{
				want_type(it, "number");
				appendStringInfo(where, " AND s.campaign_id = $%d::bigint", param(q, TEXTOID, v, false));
			}
			else if (strcmp(it->key, "valid_until_before") == 0 || strcmp(it->key, "valid_until_after") == 0)
			{
				want_type(it, "string");
				appendStringInfo(where, " AND s.valid_until %s $%d::date",
								 strstr(it->key, "before") ? "<" : ">", param(q, TEXTOID, v, false));
			}
			else if (strcmp(it->key, "created_before") == 0 || strcmp(it->key, "created_after") == 0)
			{
				want_type(it, "string");
				appendStringInfo(where, " AND s.created_at %s $%d::timestamptz",
								 strstr(it->key, "before") ? "<" : ">", param(q, TEXTOID, v, false));
			}
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown filter \"%s\"", it->key),
						 errhint("Filters: all, kind, audience, status, used, sent, archived, code_prefix, campaign_id, valid_until_before, valid_until_after, created_before, created_after.")));
		}
	}
	if (!chosen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("choose the coupons: a campaign, a list of codes or a filter"),
				 errhint("The filter {\"all\": true} chooses every coupon.")));
	if (!archived_named)
		appendStringInfoString(where, " AND s.archived_at IS NULL");
}

/*
 * SPI_execute_with_args, but an error raised inside (a rule the change
 * breaks, a cancel) reaches the caller without the generated statement as
 * its context: the message says what is wrong, the SQL text does not help.
 */
static int
run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, bool read_only)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = 0;

	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		e->context = NULL;
		e->internalquery = NULL;
		e->internalpos = 0;
		ReThrowError(e);
	}
	PG_END_TRY();
	return rc;
}

/* runs q and returns its (outcome, reason, coupons) rows with coupons > 0 */
static void
report(FunctionCallInfo fcinfo, BulkQuery *q)
{
	Tuplestorestate *store;
	TupleDesc	tupdesc;
	uint64		i;
	MemoryContext per_query = ((ReturnSetInfo *) fcinfo->resultinfo)->econtext->ecxt_per_query_memory;

	srf_materialize(fcinfo, &store, &tupdesc);
	if (run(q->sql.data, q->nargs, q->types, q->values, q->nulls, false) < 0)
		elog(ERROR, "bulk operation failed: %s", q->sql.data);
	for (i = 0; i < SPI_processed; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		MemoryContext old;
		char	   *reason = spi_text(i, 2);

		if (spi_int8(i, 3) == 0)
			continue;
		old = MemoryContextSwitchTo(per_query);
		values[0] = CStringGetTextDatum(spi_text(i, 1));
		values[1] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
		nulls[1] = reason == NULL;
		values[2] = Int64GetDatum(spi_int8(i, 3));
		tuplestore_putvalues(store, tupdesc, values, nulls);
		MemoryContextSwitchTo(old);
	}
}

/* ---------------------------------------------------------------------
 * Properties and changes: columns of coupon.shop_coupon set from jsonb
 * --------------------------------------------------------------------- */

static const char *const settable[] = {
	"kind", "value", "max_discount", "free_payment", "currency", "minor_unit", "audience",
	"usage_limit", "once_per_customer", "valid_from", "valid_until", "time_zone", "min_order",
	"categories", "order_floor", "description", NULL
};

static bool
is_settable(const char *key)
{
	int			i;

	for (i = 0; settable[i] != NULL; i++)
		if (strcmp(settable[i], key) == 0)
			return true;
	return false;
}

/* the keys of properties, checked against the columns that may be set */
static List *
property_keys(Jsonb *props, const char *what)
{
	List	   *keys = NIL;
	ListCell   *lc;

	foreach(lc, json_items(props, what))
	{
		FilterItem *it = lfirst(lc);

		if (!is_settable(it->key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" is not a rule of a coupon that %s can set", it->key, what),
					 errhint("Rules: kind, value, max_discount, free_payment, currency, minor_unit, audience, usage_limit, once_per_customer, valid_from, valid_until, time_zone, min_order, categories, order_floor, description.")));
		keys = lappend(keys, it->key);
	}
	return keys;
}

/*
 * INSERT INTO coupon.shop_coupon of codes from source (code_expr over it),
 * in the campaign $1, with the properties in props_param for the keys;
 * codes that exist are skipped.
 */
static char *
insert_coupons_sql(List *keys, const char *code_expr, const char *source,
				   const char *props_param, const char *returning)
{
	StringInfoData cols, vals, sql;
	ListCell   *lc;

	initStringInfo(&cols);
	initStringInfo(&vals);
	foreach(lc, keys)
	{
		appendStringInfo(&cols, ", %s", (char *) lfirst(lc));
		appendStringInfo(&vals, ", p.%s", (char *) lfirst(lc));
	}
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO coupon.shop_coupon (code, campaign_id%s)"
					 " SELECT %s, $1%s FROM %s, jsonb_populate_record(NULL::coupon.shop_coupon, %s) p"
					 " ON CONFLICT (code) DO NOTHING%s",
					 cols.data, code_expr, vals.data, source, props_param, returning);
	return sql.data;
}

static void
require_campaign(int64 campaign_id)
{
	Datum		arg = Int64GetDatum(campaign_id);
	Oid			type = INT8OID;

	SPI_execute_with_args("SELECT 1 FROM coupon.campaign WHERE campaign_id = $1", 1, &type, &arg, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_CAMPAIGN_NOT_FOUND),
				 errmsg("campaign %lld does not exist", (long long) campaign_id)));
}

/* ---------------------------------------------------------------------
 * coupon.generate_coupons(campaign_id, n, properties, pattern, with_check)
 * --------------------------------------------------------------------- */

#define GENERATE_BATCH 50000

PG_FUNCTION_INFO_V1(bulk_generate);
Datum
bulk_generate(PG_FUNCTION_ARGS)
{
	int64		campaign_id, n, made = 0;
	Jsonb	   *props;
	text	   *pattern;
	bool		check;
	GenPattern	p;
	List	   *keys;
	char	   *sql;
	int			tries = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("campaign, number, properties, pattern and with_check must not be null")));
	campaign_id = PG_GETARG_INT64(0);
	n = PG_GETARG_INT64(1);
	props = PG_GETARG_JSONB_P(2);
	pattern = PG_GETARG_TEXT_PP(3);
	check = PG_GETARG_BOOL(4);
	gen_compile_or_error(&p, pattern, cstring_to_text("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), check);
	gen_check_count(&p, n, pattern);

	SPI_connect();
	require_campaign(campaign_id);
	keys = property_keys(props, "generate_coupons");
	sql = insert_coupons_sql(keys, "c", "coupon.generate_codes($2, $3, '0123456789ABCDEFGHJKMNPQRSTVWXYZ', $4) c",
							 "$5", "");

	/* batches, until n new codes went in (a code that exists is drawn again) */
	while (made < n)
	{
		Oid			types[5] = {INT8OID, INT8OID, TEXTOID, BOOLOID, JSONBOID};
		Datum		values[5];
		int64		batch = Min(n - made, (int64) GENERATE_BATCH);
		char	   *progress;

		CHECK_FOR_INTERRUPTS();
		values[0] = Int64GetDatum(campaign_id);
		values[1] = Int64GetDatum(batch);
		values[2] = PointerGetDatum(pattern);
		values[3] = BoolGetDatum(check);
		values[4] = JsonbPGetDatum(props);
		if (run(sql, 5, types, values, NULL, false) != SPI_OK_INSERT)
			elog(ERROR, "coupon.generate_coupons: insert failed");
		made += (int64) SPI_processed;
		if (SPI_processed == 0 && ++tries > 10)
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_NO_FREE_CODE),
					 errmsg("no free codes left in pattern \"%s\"", text_to_cstring(pattern)),
					 errhint("Use a longer pattern.")));
		progress = psprintf("coupon.generate_coupons: " INT64_FORMAT " of " INT64_FORMAT " coupons into campaign " INT64_FORMAT,
							made, n, campaign_id);
		pgstat_report_activity(STATE_RUNNING, progress);
	}
	SPI_finish();
	PG_RETURN_INT64(made);
}

/* ---------------------------------------------------------------------
 * coupon.bulk_status(status, campaign_id, codes, filter)
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(bulk_status);
Datum
bulk_status(PG_FUNCTION_ARGS)
{
	BulkQuery		q;
	StringInfoData where;
	int			st;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("status must not be null")));
	SPI_connect();
	query_init(&q);
	initStringInfo(&where);
	st = param(&q, TEXTOID, DirectFunctionCall1(textin, DirectFunctionCall1(enum_out, PG_GETARG_DATUM(0))), false);
	choose(&q, &where, fcinfo, 1, 2, 3);
	appendStringInfo(&q.sql,
					 "WITH sel AS MATERIALIZED (SELECT s.code, s.archived_at IS NOT NULL AS archived FROM coupon.shop_coupon s WHERE %1$s),"
					 " u AS (UPDATE coupon.shop_coupon s SET status = $%2$d::coupon.coupon_status, updated_at = now()"
					 "       FROM sel WHERE s.code = sel.code AND s.archived_at IS NULL"
					 "         AND s.status <> $%2$d::coupon.coupon_status RETURNING s.code)"
					 " SELECT 'changed', 'now ' || $%2$d, (SELECT count(*) FROM u)"
					 " UNION ALL SELECT 'skipped', 'archived: stays blocked', (SELECT count(*) FROM sel WHERE archived)"
					 " UNION ALL SELECT 'unchanged', 'already ' || $%2$d,"
					 "   (SELECT count(*) FROM sel WHERE NOT archived) - (SELECT count(*) FROM u)",
					 where.data, st);
	report(fcinfo, &q);
	SPI_finish();
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * coupon.bulk_delete(campaign_id, codes, filter)
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(bulk_delete);
Datum
bulk_delete(PG_FUNCTION_ARGS)
{
	BulkQuery		q;
	StringInfoData where;

	SPI_connect();
	query_init(&q);
	initStringInfo(&where);
	choose(&q, &where, fcinfo, 0, 1, 2);
	appendStringInfo(&q.sql,
					 "WITH sel AS MATERIALIZED (SELECT s.code, s.archived_at IS NOT NULL AS archived,"
					 "              EXISTS (SELECT 1 FROM coupon.coupon_hold h WHERE h.code = s.code AND h.expires_at > now()) AS held"
					 "             FROM coupon.shop_coupon s WHERE %s),"
					 " d AS (DELETE FROM coupon.shop_coupon s USING sel"
					 "       WHERE s.code = sel.code AND NOT sel.held AND s.sent_at IS NULL AND s.first_used_at IS NULL"
					 "       RETURNING s.code),"
					 " dh AS (DELETE FROM coupon.coupon_hold h USING d WHERE h.code = d.code),"	/* expired ones */
					 " du AS (DELETE FROM coupon.customer_use x USING d WHERE x.code = d.code),"
					 " a AS (UPDATE coupon.shop_coupon s SET archived_at = now(), status = 'blocked', updated_at = now()"
					 "       FROM sel WHERE s.code = sel.code AND s.archived_at IS NULL"
					 "         AND (s.sent_at IS NOT NULL OR s.first_used_at IS NOT NULL)"
					 "       RETURNING s.first_used_at IS NOT NULL AS used, sel.held),"
					 /* what was chosen and not done, by counting (no join of CTEs) */
					 " k AS (SELECT count(*) FILTER (WHERE archived) AS archived,"
					 "              count(*) FILTER (WHERE held AND NOT archived) AS held,"
					 "              count(*) FILTER (WHERE NOT held AND NOT archived) AS free FROM sel)"
					 " SELECT 'deleted', 'never sent nor used', (SELECT count(*) FROM d)"
					 " UNION ALL SELECT 'archived', 'used', (SELECT count(*) FROM a WHERE used)"
					 " UNION ALL SELECT 'archived', 'sent', (SELECT count(*) FROM a WHERE NOT used)"
					 " UNION ALL SELECT 'skipped', 'already archived', (SELECT archived FROM k)"
					 " UNION ALL SELECT 'skipped', 'a checkout holds it', (SELECT held FROM k) - (SELECT count(*) FROM a WHERE held)"
					 " UNION ALL SELECT 'skipped', 'used while this ran: run it again',"
					 "   (SELECT free FROM k) - (SELECT count(*) FROM d) - (SELECT count(*) FROM a WHERE NOT held)",
					 where.data);
	report(fcinfo, &q);
	SPI_finish();
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * coupon.bulk_modify(changes, campaign_id, codes, filter)
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(bulk_modify);
Datum
bulk_modify(PG_FUNCTION_ARGS)
{
	BulkQuery	q;
	StringInfoData where, set;
	List	   *keys;
	ListCell   *lc;
	bool		with_limit = false;
	int			ch;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("changes must not be null")));
	SPI_connect();
	keys = property_keys(PG_GETARG_JSONB_P(0), "bulk_modify");
	if (keys == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("there are no changes to make")));
	query_init(&q);
	initStringInfo(&where);
	initStringInfo(&set);
	ch = param(&q, JSONBOID, PG_GETARG_DATUM(0), false);

	/*
	 * One UPDATE: a coupon never sent nor used takes every change, a sent or
	 * used one its usage limit only (the other columns keep their values,
	 * judged on the row as it is when locked), and a limit is never set
	 * below the uses and holds counted on the row.
	 */
	foreach(lc, keys)
	{
		const char *k = lfirst(lc);

		if (strcmp(k, "usage_limit") == 0)
		{
			with_limit = true;
			appendStringInfoString(&set, ", usage_limit = p.usage_limit");
		}
		else
			appendStringInfo(&set, ", %1$s = CASE WHEN s.sent_at IS NULL AND s.first_used_at IS NULL"
							 " THEN p.%1$s ELSE s.%1$s END", k);
	}
	if (with_limit)
		SPI_execute("SELECT coupon.expire_holds()", false, 0);	/* expired holds give their uses back */
	choose(&q, &where, fcinfo, 1, 2, 3);
	appendStringInfo(&q.sql,
					 "WITH p AS (SELECT * FROM jsonb_populate_record(NULL::coupon.shop_coupon, $%1$d)),"
					 " sel AS MATERIALIZED (SELECT s.code, s.sent_at IS NOT NULL OR s.first_used_at IS NOT NULL AS locked,"
					 "         %2$s AND p.usage_limit IS NOT NULL AND p.usage_limit < s.used_count + s.held_count AS below"
					 "       FROM coupon.shop_coupon s, p WHERE %3$s),"
					 " u AS (UPDATE coupon.shop_coupon s SET updated_at = now()%4$s FROM sel, p"
					 "       WHERE s.code = sel.code"
					 "         AND (%2$s OR (s.sent_at IS NULL AND s.first_used_at IS NULL))"
					 "         AND (NOT %2$s OR p.usage_limit IS NULL OR p.usage_limit >= s.used_count + s.held_count)"
					 "       RETURNING s.sent_at IS NULL AND s.first_used_at IS NULL AS whole, sel.locked, sel.below),"
					 /* what was chosen and not changed, by counting (no join of CTEs) */
					 " k AS (SELECT (SELECT count(*) FILTER (WHERE below) FROM sel) - count(*) FILTER (WHERE below) AS below,"
					 "              (SELECT count(*) FILTER (WHERE NOT below AND locked) FROM sel)"
					 "                - count(*) FILTER (WHERE NOT below AND locked) AS locked,"
					 "              (SELECT count(*) FILTER (WHERE NOT below AND NOT locked) FROM sel)"
					 "                - count(*) FILTER (WHERE NOT below AND NOT locked) AS meanwhile FROM u)"
					 " SELECT 'changed', 'every change', (SELECT count(*) FROM u WHERE whole)"
					 " UNION ALL SELECT 'changed', 'sent or used: its usage limit only', (SELECT count(*) FROM u WHERE NOT whole)"
					 " UNION ALL SELECT 'skipped', 'the usage limit would be below its uses and holds', (SELECT below FROM k)"
					 " UNION ALL SELECT 'skipped', 'sent or used: only its usage limit may change', (SELECT locked FROM k)"
					 " UNION ALL SELECT 'skipped', 'sent or used while this ran: run it again', (SELECT meanwhile FROM k)",
					 ch, with_limit ? "true" : "false", where.data, set.data);
	report(fcinfo, &q);
	SPI_finish();
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * coupon.bulk_attach(target_campaign_id, campaign_id, codes, filter)
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(bulk_attach);
Datum
bulk_attach(PG_FUNCTION_ARGS)
{
	BulkQuery		q;
	StringInfoData where;
	int			t;

	SPI_connect();
	if (!PG_ARGISNULL(0))
		require_campaign(PG_GETARG_INT64(0));
	query_init(&q);
	initStringInfo(&where);
	t = param(&q, INT8OID, PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0), PG_ARGISNULL(0));
	choose(&q, &where, fcinfo, 1, 2, 3);
	appendStringInfo(&q.sql,
					 "WITH sel AS (SELECT s.code FROM coupon.shop_coupon s WHERE %s),"
					 " u AS (UPDATE coupon.shop_coupon s SET campaign_id = $%d, updated_at = now() FROM sel"
					 "       WHERE s.code = sel.code AND s.campaign_id IS DISTINCT FROM $%d RETURNING s.code)"
					 " SELECT CASE WHEN $%d IS NULL THEN 'detached' ELSE 'attached' END, NULL, (SELECT count(*) FROM u)"
					 " UNION ALL SELECT 'unchanged', 'already there', (SELECT count(*) FROM sel) - (SELECT count(*) FROM u)",
					 where.data, t, t, t);
	report(fcinfo, &q);
	SPI_finish();
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * Import
 * --------------------------------------------------------------------- */

/* why the typed text read as r is not a code, or NULL when it is one */
static char *
problem_text(const char *in, size_t len, CodeReadResult r)
{
	switch (r.status)
	{
		case CODE_READ_OK:
			return NULL;
		case CODE_READ_BAD_CHAR:
			{
				int			pos;
				char	   *bad = bad_char_at(in, len, r.bad_offset, &pos);

				return psprintf("character \"%s\" at position %d is not allowed", bad, pos);
			}
		case CODE_READ_EMPTY:
			return pstrdup("no letter or digit");
		case CODE_READ_TOO_LONG:
			return psprintf("%zu letters and digits, at most %d allowed", r.significant, CODE_MAX_CHARS);
	}
	pg_unreachable();
}

/* coupon.code_problem(text): why it is not a code, or NULL */
PG_FUNCTION_INFO_V1(code_problem);
Datum
code_problem(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *in = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	char		chars[CODE_MAX_CHARS];
	size_t		n = 0;
	char	   *problem = problem_text(in, len, code_read(in, len, chars, &n));

	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

/*
 * The import.  One pass over the loaded lines, in line order: blank lines
 * are counted, the others read as codes; a hash table of the packed codes
 * finds repeats ("ab-1" repeats "AB1"), so the first line of each code is
 * the one imported and the later ones are reported.  Then one INSERT of
 * the first lines' codes, whose RETURNING tells which ones were there
 * already (a dry run asks the table instead).  The problems go to
 * pg_temp.coupon_import_problem.  Memory: about 100 bytes a line, so an
 * import takes at most IMPORT_MAX_LINES lines.
 */
#define IMPORT_MAX_LINES	10000000
#define IMPORT_FETCH		10000

typedef struct ImportKey
{
	uint8		len;
	uint8		packed[CODE_MAX_PACKED];
} ImportKey;

typedef struct ImportEntry
{
	ImportKey	key;			/* zero-padded: hashed as bytes */
	int32		idx;			/* its first line in Import.first_* */
} ImportEntry;

typedef struct Import
{
	HTAB	   *codes;
	int64		lines, blank, invalid, repeated, existing;
	/* the first line of each code: its number, the code as text */
	int32		nfirst, capfirst;
	Datum	   *first_line, *first_code;
	/* the problems, in line order (existing codes come later) */
	int32		nprob, capprob;
	Datum	   *prob_line, *prob_raw, *prob_code, *prob_reason;
	bool	   *prob_code_null;
} Import;

static void
import_init(Import *im)
{
	HASHCTL		ctl;

	memset(im, 0, sizeof(*im));
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ImportKey);
	ctl.entrysize = sizeof(ImportEntry);
	ctl.hcxt = CurrentMemoryContext;
	im->codes = hash_create("coupon import codes", 4096, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* room for element n in each of narrays arrays of Datums */
static void
grow(int32 n, int32 *cap, Datum **arrays[], int narrays)
{
	int			i;

	if (n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 1024;
	for (i = 0; i < narrays; i++)
		*arrays[i] = *arrays[i] == NULL ? palloc(*cap * sizeof(Datum))
			: repalloc(*arrays[i], *cap * sizeof(Datum));
}

static void
add_problem(Import *im, int64 line, const text *raw, const char *code, size_t code_len, char *reason)
{
	if (im->nprob >= im->capprob)
	{
		Datum	  **arrays[] = {&im->prob_line, &im->prob_raw, &im->prob_code, &im->prob_reason};
		int32		cap = im->capprob;

		grow(im->nprob, &cap, arrays, 4);
		im->prob_code_null = im->prob_code_null == NULL ? palloc(cap * sizeof(bool))
			: repalloc(im->prob_code_null, cap * sizeof(bool));
		im->capprob = cap;
	}
	im->prob_line[im->nprob] = Int64GetDatum(line);
	im->prob_raw[im->nprob] = PointerGetDatum(cstring_to_text_with_len(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw)));
	im->prob_code_null[im->nprob] = code == NULL;
	im->prob_code[im->nprob] = code ? PointerGetDatum(cstring_to_text_with_len(code, code_len)) : (Datum) 0;
	im->prob_reason[im->nprob] = CStringGetTextDatum(reason);
	im->nprob++;
}

static inline bool
is_trimmed(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void
import_line(Import *im, int64 line, const text *raw)
{
	const char *in = raw ? VARDATA_ANY(raw) : "";
	size_t		len = raw ? VARSIZE_ANY_EXHDR(raw) : 0;
	char		chars[CODE_MAX_CHARS];
	size_t		n = 0;
	CodeReadResult r;
	ImportKey	key;
	ImportEntry *e;
	bool		found;

	if (++im->lines > IMPORT_MAX_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an import takes at most %d lines", IMPORT_MAX_LINES),
				 errhint("Split the file and import the parts one after the other.")));
	while (len > 0 && is_trimmed(in[0]))
		in++, len--;
	while (len > 0 && is_trimmed(in[len - 1]))
		len--;
	if (len == 0)
	{
		im->blank++;
		return;
	}
	r = code_read(in, len, chars, &n);
	if (r.status != CODE_READ_OK)
	{
		add_problem(im, line, raw, NULL, 0, problem_text(in, len, r));
		im->invalid++;
		return;
	}
	memset(&key, 0, sizeof(key));
	key.len = (uint8) code_pack(chars, n, key.packed);
	e = hash_search(im->codes, &key, HASH_ENTER, &found);
	if (found)
	{
		add_problem(im, line, raw, chars, n,
					psprintf("repeats line " INT64_FORMAT, DatumGetInt64(im->first_line[e->idx])));
		im->repeated++;
		return;
	}
	{
		Datum	  **arrays[] = {&im->first_line, &im->first_code};

		grow(im->nfirst, &im->capfirst, arrays, 2);
	}
	e->idx = im->nfirst;
	im->first_line[im->nfirst] = Int64GetDatum(line);
	im->first_code[im->nfirst] = PointerGetDatum(cstring_to_text_with_len(chars, n));
	im->nfirst++;
}

/*
 * Reads every loaded line; false when the lines do not come in the order of
 * their numbers (only if !ordered), so that "repeats line N" always names
 * the first line: the caller then reads them again, sorted.
 */
static bool
import_scan(Import *im, bool ordered)
{
	SPIPlanPtr	plan = SPI_prepare(ordered ? "SELECT line_no, raw FROM pg_temp.coupon_import ORDER BY line_no"
								   : "SELECT line_no, raw FROM pg_temp.coupon_import", 0, NULL);
	Portal		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	int64		prev = PG_INT64_MIN;
	bool		in_order = true;

	while (in_order)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, IMPORT_FETCH);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed && in_order; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			bool		line_null, raw_null;
			int64		line = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &line_null));
			Datum		raw = SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &raw_null);

			if (line_null || (!ordered && line <= prev))
				in_order = ordered;
			else
			{
				prev = line;
				import_line(im, line, raw_null ? NULL : DatumGetTextPP(raw));
			}
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	return in_order;
}

static Datum
datum_array(Datum *elems, bool *nulls, int n, Oid type)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, type, typlen, typbyval, typalign));
}

/*
 * The first lines' codes as a text[] in the order of the index, which takes
 * them much faster so.  Zero-padded packed codes compare with memcmp in the
 * order of the codes (code_pack.h): a shorter code ends where the longer
 * one has a group, whose first byte is never zero.
 */
typedef struct SortItem
{
	uint8		packed[CODE_MAX_PACKED];
	int32		idx;
} SortItem;

static int
sort_item_cmp(const void *a, const void *b)
{
	return memcmp(((const SortItem *) a)->packed, ((const SortItem *) b)->packed, CODE_MAX_PACKED);
}

static Datum
sorted_codes(Import *im)
{
	SortItem   *items = palloc_extended(Max(im->nfirst, 1) * sizeof(SortItem), MCXT_ALLOC_HUGE);
	Datum	   *codes = palloc(Max(im->nfirst, 1) * sizeof(Datum));
	HASH_SEQ_STATUS seq;
	ImportEntry *e;
	int32		n = 0, i;

	hash_seq_init(&seq, im->codes);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		memcpy(items[n].packed, e->key.packed, CODE_MAX_PACKED);
		items[n].idx = e->idx;
		n++;
	}
	Assert(n == im->nfirst);
	qsort(items, n, sizeof(SortItem), sort_item_cmp);
	for (i = 0; i < n; i++)
		codes[i] = im->first_code[items[i].idx];
	pfree(items);
	return datum_array(codes, NULL, n, TEXTOID);
}

static int32
import_find(Import *im, const text *code)
{
	char		chars[CODE_MAX_CHARS];
	size_t		n = 0;
	ImportKey	key;
	ImportEntry *e;

	if (code_read(VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code), chars, &n).status != CODE_READ_OK)
		elog(ERROR, "coupon.import_finish: an imported code cannot be read");
	memset(&key, 0, sizeof(key));
	key.len = (uint8) code_pack(chars, n, key.packed);
	e = hash_search(im->codes, &key, HASH_FIND, NULL);
	if (e == NULL)
		elog(ERROR, "coupon.import_finish: an imported code was not among the lines");
	return e->idx;
}

/*
 * Marks present[i] for the first lines whose codes are in the table (dry) or
 * were inserted now; returns how many were inserted.
 */
static int64
import_codes(Import *im, bool dry, bool *present, List *keys, Jsonb *props, int64 campaign_id, bool campaign_null)
{
	Datum		codes = sorted_codes(im);
	uint64		i;
	bool		isnull;

	if (dry)
	{
		Oid			type = TEXTARRAYOID;

		run("SELECT x.c FROM unnest($1) x(c)"
			" WHERE EXISTS (SELECT 1 FROM coupon.shop_coupon s WHERE s.code = x.c::coupon.code)",
			1, &type, &codes, NULL, true);
		for (i = 0; i < SPI_processed; i++)
			present[import_find(im, DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)))] = true;
		SPI_freetuptable(SPI_tuptable);
		return 0;
	}
	else
	{
		Oid			types[3] = {INT8OID, JSONBOID, TEXTARRAYOID};
		Datum		values[3] = {Int64GetDatum(campaign_id), JsonbPGetDatum(props), codes};
		char		nulls[4] = {campaign_null ? 'n' : ' ', ' ', ' ', '\0'};
		int64		inserted;

		run(insert_coupons_sql(keys, "x.c::coupon.code", "unnest($3) x(c)", "$2", " RETURNING code::text"),
			3, types, values, nulls, false);
		inserted = (int64) SPI_processed;
		for (i = 0; i < SPI_processed; i++)
			present[import_find(im, DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)))] = true;
		SPI_freetuptable(SPI_tuptable);
		return inserted;
	}
}

/* the problems into pg_temp.coupon_import_problem; the existing codes with their lines as typed */
static void
import_write_problems(Import *im, const bool *present, bool dry)
{
	Oid			types[4] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[4];
	Datum	   *lines, *codes;
	int32		i, n = 0;

	SPI_execute("TRUNCATE pg_temp.coupon_import_problem", false, 0);
	if (im->nprob > 0)
	{
		values[0] = datum_array(im->prob_line, NULL, im->nprob, INT8OID);
		values[1] = datum_array(im->prob_raw, NULL, im->nprob, TEXTOID);
		values[2] = datum_array(im->prob_code, im->prob_code_null, im->nprob, TEXTOID);
		values[3] = datum_array(im->prob_reason, NULL, im->nprob, TEXTOID);
		run("INSERT INTO pg_temp.coupon_import_problem (line_no, raw, code, reason)"
			" SELECT * FROM unnest($1, $2, $3, $4)", 4, types, values, NULL, false);
	}
	lines = palloc(Max(im->nfirst, 1) * sizeof(Datum));
	codes = palloc(Max(im->nfirst, 1) * sizeof(Datum));
	for (i = 0; i < im->nfirst; i++)
		if (present[i] == dry)
		{
			lines[n] = im->first_line[i];
			codes[n] = im->first_code[i];
			n++;
		}
	im->existing = n;
	if (n > 0)
	{
		values[0] = datum_array(lines, NULL, n, INT8OID);
		values[1] = datum_array(codes, NULL, n, TEXTOID);
		run("INSERT INTO pg_temp.coupon_import_problem (line_no, raw, code, reason)"
			" SELECT x.l, i.raw, x.c, 'exists already'"
			" FROM unnest($1, $2) x(l, c) JOIN pg_temp.coupon_import i ON i.line_no = x.l",
			2, types, values, NULL, false);
	}
}

PG_FUNCTION_INFO_V1(import_finish);
Datum
import_finish(PG_FUNCTION_ARGS)
{
	bool		fail = PG_ARGISNULL(0) ? false : PG_GETARG_BOOL(0);
	bool		dry = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	MemoryContext outer = CurrentMemoryContext;
	Jsonb	   *props;
	bool		campaign_null;
	int64		campaign_id;
	List	   *keys;
	Import		im;
	bool	   *present;
	int64		imported;
	Datum		result;

	SPI_connect();
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'coupon_import_job'"
					" AND relnamespace = pg_catalog.pg_my_temp_schema()", true, 1) != SPI_OK_SELECT ||
		SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_NO_IMPORT),
				 errmsg("no import was begun in this session"),
				 errhint("SELECT coupon.import_begin(...), then load the lines into coupon_import (raw).")));
	SPI_execute("SELECT properties, campaign_id FROM pg_temp.coupon_import_job", true, 1);
	{
		bool		isnull;

		props = DatumGetJsonbP(spi_datum_copy(0, 1, &isnull));
		campaign_id = spi_int8(0, 2);
		campaign_null = spi_isnull(0, 2);
	}
	if (!campaign_null)
		require_campaign(campaign_id);
	keys = property_keys(props, "import_begin");

	import_init(&im);
	if (!import_scan(&im, false))
	{
		hash_destroy(im.codes);
		import_init(&im);
		import_scan(&im, true);
	}
	present = palloc0(Max(im.nfirst, 1) * sizeof(bool));

	/*
	 * With fail_on_error the lines are checked first: any problem imports
	 * nothing (and says which).
	 */
	imported = import_codes(&im, dry || fail, present, keys, props, campaign_id, campaign_null);
	import_write_problems(&im, present, dry || fail);
	if (fail && !dry)
	{
		if (im.invalid + im.repeated + im.existing > 0)
		{
			StringInfoData detail;
			uint64		i;
			int64		problems = im.invalid + im.repeated + im.existing;

			initStringInfo(&detail);
			SPI_execute("SELECT 'line ' || line_no || ' (' || left(coalesce(code, raw), 40) || '): ' || reason"
						" FROM pg_temp.coupon_import_problem ORDER BY line_no LIMIT 10", false, 0);
			for (i = 0; i < SPI_processed; i++)
				appendStringInfo(&detail, "%s%s", i ? "; " : "", spi_text(i, 1));
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_IMPORT_PROBLEMS),
					 errmsg("%lld of the %lld lines cannot be imported, so none was",
							(long long) problems, (long long) im.lines),
					 errdetail("%s%s.", detail.data, problems > 10 ? "; ..." : ""),
					 errhint("The lines stay loaded: SELECT coupon.import_finish(dry_run => true) lists every problem in pg_temp.coupon_import_problem.")));
		}
		memset(present, 0, Max(im.nfirst, 1) * sizeof(bool));
		imported = import_codes(&im, false, present, keys, props, campaign_id, campaign_null);
		import_write_problems(&im, present, false);
	}
	if (dry)
		imported = im.nfirst - im.existing;
	else
		SPI_execute("TRUNCATE pg_temp.coupon_import", false, 0);
	{
		Oid			types[7] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID};
		Datum		values[7] = {Int64GetDatum(im.lines), Int64GetDatum(imported), Int64GetDatum(im.blank),
			Int64GetDatum(im.invalid), Int64GetDatum(im.repeated), Int64GetDatum(im.existing), BoolGetDatum(dry)};
		bool		isnull;

		SPI_execute_with_args("SELECT jsonb_build_object('lines', $1, CASE WHEN $7 THEN 'would_import' ELSE 'imported' END, $2,"
							  " 'blank', $3, 'invalid', $4, 'repeated', $5, 'existing', $6,"
							  " 'problems', coalesce((SELECT jsonb_agg(jsonb_build_object('line', line_no, 'code', coalesce(code, raw), 'reason', reason)"
							  "                        ORDER BY line_no) FROM (SELECT * FROM pg_temp.coupon_import_problem"
							  "                        ORDER BY line_no LIMIT 20) x), '[]'))",
							  7, types, values, NULL, false, 1);
		MemoryContextSwitchTo(outer);
		result = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}
