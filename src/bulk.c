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
	ListCell   *lc;
	StringInfoData cols, vals, sql;
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
					 " SELECT c, $1%s FROM coupon.generate_codes($2, $3, '0123456789ABCDEFGHJKMNPQRSTVWXYZ', $4) c,"
					 " jsonb_populate_record(NULL::coupon.shop_coupon, $5) p"
					 " ON CONFLICT (code) DO NOTHING",
					 cols.data, vals.data);

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
		if (run(sql.data, 5, types, values, NULL, false) != SPI_OK_INSERT)
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
	CodeReadResult r = code_read(in, len, chars, &n);

	switch (r.status)
	{
		case CODE_READ_OK:
			PG_RETURN_NULL();
		case CODE_READ_BAD_CHAR:
			{
				int			pos;
				char	   *bad = bad_char_at(in, len, r.bad_offset, &pos);

				PG_RETURN_TEXT_P(cstring_to_text(psprintf("character \"%s\" at position %d is not allowed", bad, pos)));
			}
		case CODE_READ_EMPTY:
			PG_RETURN_TEXT_P(cstring_to_text("no letter or digit"));
		case CODE_READ_TOO_LONG:
			PG_RETURN_TEXT_P(cstring_to_text(psprintf("%zu letters and digits, at most %d allowed",
													  r.significant, CODE_MAX_CHARS)));
	}
	pg_unreachable();
}

/*
 * The one statement of an import.  Every line is looked at once: blank
 * lines are counted, the others checked with coupon.code_problem; the good
 * codes are grouped by their canonical form (so "ab-1" repeats "AB1"), the
 * first line of each is inserted and the others reported as repeats; a
 * first line whose insert found the code there already is reported as
 * existing.  A dry run asks the table instead of inserting.  The sets are
 * compared by grouping, never by a join between two CTEs: the planner
 * cannot estimate their sizes, and a nested loop over them is quadratic.
 */
static const char *const import_sql =
"WITH v AS MATERIALIZED ("
"   SELECT line_no, raw, btrim(coalesce(raw, ''), E' \\t\\r') AS t FROM pg_temp.coupon_import),"
" c AS MATERIALIZED ("
"   SELECT line_no, raw, t, coupon.code_problem(t) AS problem FROM v WHERE t <> ''),"
" ok AS MATERIALIZED ("
"   SELECT line_no, raw, code, min(line_no) OVER (PARTITION BY code) AS first"
"   FROM (SELECT line_no, raw, t::coupon.code AS code FROM c WHERE problem IS NULL) x),"
" ins AS (%s),"
" prob AS (INSERT INTO pg_temp.coupon_import_problem (line_no, raw, code, reason)"
"   SELECT line_no, raw, NULL, problem FROM c WHERE problem IS NOT NULL"
"   UNION ALL SELECT line_no, raw, code::text, 'repeats line ' || first FROM ok WHERE line_no > first"
"   UNION ALL SELECT min(x.line_no), min(x.raw), x.code::text, 'exists already'"
"             FROM (SELECT code, line_no, raw FROM ok WHERE line_no = first"
"                   UNION ALL SELECT code, NULL, NULL FROM ins) x"
"             GROUP BY x.code HAVING count(*) = 1 AND min(x.line_no) IS NOT NULL"
"   RETURNING reason)"
" SELECT (SELECT count(*) FROM v), (SELECT count(*) FROM v WHERE t = ''), (SELECT count(*) FROM ins),"
"        count(*) FILTER (WHERE reason NOT LIKE 'repeats line %%' AND reason <> 'exists already'),"
"        count(*) FILTER (WHERE reason LIKE 'repeats line %%'),"
"        count(*) FILTER (WHERE reason = 'exists already')"
" FROM prob";

static const char *const import_insert =
"INSERT INTO coupon.shop_coupon (code, campaign_id%s)"
" SELECT ok.code, $1%s FROM ok, jsonb_populate_record(NULL::coupon.shop_coupon, $2) p"
" WHERE ok.line_no = ok.first"
" ON CONFLICT (code) DO NOTHING RETURNING code";

static const char *const import_dry =
"SELECT ok.code FROM ok LEFT JOIN coupon.shop_coupon s ON s.code = ok.code"
" WHERE ok.line_no = ok.first AND s.code IS NULL";

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
	ListCell   *lc;
	StringInfoData cols, vals, ins, sql;
	int64		lines, blank, imported, invalid, repeated, existing;
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
	initStringInfo(&cols);
	initStringInfo(&vals);
	foreach(lc, keys)
	{
		appendStringInfo(&cols, ", %s", (char *) lfirst(lc));
		appendStringInfo(&vals, ", p.%s", (char *) lfirst(lc));
	}
	initStringInfo(&ins);
	if (dry || fail)
		appendStringInfoString(&ins, import_dry);
	else
		appendStringInfo(&ins, import_insert, cols.data, vals.data);
	initStringInfo(&sql);
	appendStringInfo(&sql, import_sql, ins.data);

	SPI_execute("TRUNCATE pg_temp.coupon_import_problem", false, 0);
	{
		Oid			types[2] = {INT8OID, JSONBOID};
		Datum		values[2] = {Int64GetDatum(campaign_id), JsonbPGetDatum(props)};
		char		nulls[3] = {campaign_null ? 'n' : ' ', ' ', '\0'};

		if (run(sql.data, 2, types, values, nulls, false) != SPI_OK_SELECT)
			elog(ERROR, "coupon.import_finish: import failed");
		lines = spi_int8(0, 1);
		blank = spi_int8(0, 2);
		imported = spi_int8(0, 3);
		invalid = spi_int8(0, 4);
		repeated = spi_int8(0, 5);
		existing = spi_int8(0, 6);
	}

	/*
	 * With fail_on_error the lines were only checked: any problem imports
	 * nothing (and says which), otherwise the import is done for real.
	 */
	if (fail && !dry)
	{
		if (invalid + repeated + existing > 0)
		{
			StringInfoData detail;
			uint64		i;

			initStringInfo(&detail);
			SPI_execute("SELECT 'line ' || line_no || ' (' || left(coalesce(code, raw), 40) || '): ' || reason"
						" FROM pg_temp.coupon_import_problem ORDER BY line_no LIMIT 10", false, 0);
			for (i = 0; i < SPI_processed; i++)
				appendStringInfo(&detail, "%s%s", i ? "; " : "", spi_text(i, 1));
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_IMPORT_PROBLEMS),
					 errmsg("%lld of the %lld lines cannot be imported, so none was",
							(long long) (invalid + repeated + existing), (long long) lines),
					 errdetail("%s%s.", detail.data, invalid + repeated + existing > 10 ? "; ..." : ""),
					 errhint("The lines stay loaded: SELECT coupon.import_finish(dry_run => true) lists every problem in pg_temp.coupon_import_problem.")));
		}
		resetStringInfo(&ins);
		appendStringInfo(&ins, import_insert, cols.data, vals.data);
		resetStringInfo(&sql);
		appendStringInfo(&sql, import_sql, ins.data);
		SPI_execute("TRUNCATE pg_temp.coupon_import_problem", false, 0);
		{
			Oid			types[2] = {INT8OID, JSONBOID};
			Datum		values[2] = {Int64GetDatum(campaign_id), JsonbPGetDatum(props)};
			char		nulls[3] = {campaign_null ? 'n' : ' ', ' ', '\0'};

			run(sql.data, 2, types, values, nulls, false);
			imported = spi_int8(0, 3);
			existing = spi_int8(0, 6);
		}
	}
	if (!dry)
		SPI_execute("TRUNCATE pg_temp.coupon_import", false, 0);
	{
		Oid			types[7] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID};
		Datum		values[7] = {Int64GetDatum(lines), Int64GetDatum(imported), Int64GetDatum(blank),
			Int64GetDatum(invalid), Int64GetDatum(repeated), Int64GetDatum(existing), BoolGetDatum(dry)};
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
