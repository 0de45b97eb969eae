/*
 * voucher.c
 *		The deal-voucher state machine: sale, lookup, activation with the
 *		secret inside the time window, refund, block, unblock, unlock and
 *		expiry.
 *
 *		sold --activate--> used
 *		sold | expired | blocked --refund--> returned
 *		sold --block--> blocked --unblock--> sold
 *		sold --expire (window closed)--> expired
 *
 * Every change locks the voucher row, updates it, its counter slot and the
 * audit log in one statement, in the caller's transaction.  Failed
 * attempts are counted by attempts.c in a transaction of their own.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "attempts.h"
#include "check_symbol.h"
#include "caller.h"
#include "code_type.h"
#include "compat.h"
#include "coupon_errors.h"
#include "direct.h"
#include "gen_core.h"
#include "generate.h"
#include "spi_util.h"
#include "voucher.h"

typedef enum VState
{
	VS_SOLD,
	VS_USED,
	VS_RETURNED,
	VS_EXPIRED,
	VS_BLOCKED
} VState;

static const char *const vstate_names[] = {"sold", "used", "returned", "expired", "blocked"};

static VState
vstate_from_name(const char *s)
{
	int			i;

	for (i = 0; i <= VS_BLOCKED; i++)
		if (strcmp(s, vstate_names[i]) == 0)
			return (VState) i;
	elog(ERROR, "unknown voucher state \"%s\"", s);
	pg_unreachable();
}

/* counter slot of a code: VOUCHER_SLOTS rows per variant share the updates */
int
voucher_slot(const struct varlena *code)
{
	return (int) (DatumGetUInt32(hash_any((const unsigned char *) VARDATA_ANY(code),
										  (int) VARSIZE_ANY_EXHDR(code))) & (VOUCHER_SLOTS - 1));
}

/* "2013-07-15 14:03" in the time zone of the offer */
static char *
local_time(TimestampTz t, const char *tzname)
{
	pg_tz	   *tz = pg_tzset(tzname);
	struct pg_tm tm;
	fsec_t		fsec;
	int			offset;

	if (tz == NULL || timestamp2tm(t, &offset, &tm, &fsec, NULL, tz) != 0)
		return pstrdup(timestamptz_to_str(t));
	return psprintf("%04d-%02d-%02d %02d:%02d %s", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tzname);
}

/*
 * coupon.is_time_zone(tz): does the server know this time zone?  pg_tzset
 * keeps loaded zones in a cache, so this is cheap enough for a CHECK
 * constraint that every update of an offer re-evaluates.
 */
PG_FUNCTION_INFO_V1(is_time_zone);
Datum
is_time_zone(PG_FUNCTION_ARGS)
{
	char	   *tz = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pg_tz	   *zone = (tz[0] == '\0' || strlen(tz) >= TZ_STRLEN_MAX) ? NULL : pg_tzset(tz);

	PG_RETURN_BOOL(zone != NULL && pg_tz_acceptable(zone));
}

/* ---------------------------------------------------------------------
 * Loading a voucher
 * --------------------------------------------------------------------- */

typedef struct Voucher
{
	bool		found;
	char	   *code;			/* canonical */
	int			slot;
	int64		number;
	int32		ordinal;
	int64		offer_id;
	int64		variant_id;
	int64		partner_id;
	char	   *secret;
	VState		state;
	bool		too_early;
	bool		closed;
	char	   *time_zone;
	TimestampTz used_at;
	TimestampTz returned_at;
	TimestampTz expired_at;
	TimestampTz blocked_at;
	TimestampTz sold_at;
	TimestampTz window_start;
	TimestampTz window_end;
	bool		counter_missing;	/* activated directly, its counter slot not there */
} Voucher;

#define VOUCHER_COLUMNS \
	"SELECT v.number, v.ordinal, v.offer_id, v.variant_id, v.partner_id, v.secret," \
	" v.state::text, now() < v.window_start, now() >= v.window_end, o.time_zone," \
	" v.used_at, v.returned_at, v.expired_at, v.blocked_at, v.sold_at, v.window_start, v.window_end" \
	" FROM coupon.voucher v JOIN coupon.offer o ON o.offer_id = v.offer_id" \
	" WHERE v.code = $1::coupon.code"

/* $2: the caller's partner, NULL for an administrator (who sees all) */
static Stmt load_locked = STMT(VOUCHER_COLUMNS " AND ($2::bigint IS NULL OR v.partner_id = $2)"
	" FOR NO KEY UPDATE OF v",
	2, TEXTOID, INT8OID);
static Stmt load_plain = STMT(VOUCHER_COLUMNS " AND ($2::bigint IS NULL OR v.partner_id = $2)",
	2, TEXTOID, INT8OID);

/*
 * Load (and lock) the voucher, if the caller may see it: another partner's
 * voucher is neither read nor locked, so that probing it cannot even delay
 * its partner.
 */
static void
load_voucher(Voucher *v, struct varlena *code, bool lock, bool admin, int64 partner_id)
{
	Datum		args[2];
	char		nulls[3] = "  ";

	memset(v, 0, sizeof(*v));
	v->code = code_to_cstring(code);
	v->slot = voucher_slot(code);
	args[0] = CStringGetTextDatum(v->code);
	args[1] = Int64GetDatum(partner_id);
	if (admin)
		nulls[1] = 'n';
	if (stmt_exec(lock ? &load_locked : &load_plain, args, nulls, false, 1) == 0)
		return;
	v->found = true;
	v->number = spi_int8(0, 1);
	v->ordinal = spi_int4(0, 2);
	v->offer_id = spi_int8(0, 3);
	v->variant_id = spi_int8(0, 4);
	v->partner_id = spi_int8(0, 5);
	v->secret = spi_text(0, 6);
	v->state = vstate_from_name(spi_text(0, 7));
	v->too_early = spi_bool(0, 8);
	v->closed = spi_bool(0, 9);
	v->time_zone = spi_text(0, 10);
	v->used_at = spi_timestamptz(0, 11);
	v->returned_at = spi_timestamptz(0, 12);
	v->expired_at = spi_timestamptz(0, 13);
	v->blocked_at = spi_timestamptz(0, 14);
	v->sold_at = spi_timestamptz(0, 15);
	v->window_start = spi_timestamptz(0, 16);
	v->window_end = spi_timestamptz(0, 17);
}

static TimestampTz
state_since(const Voucher *v)
{
	switch (v->state)
	{
		case VS_USED:
			return v->used_at;
		case VS_RETURNED:
			return v->returned_at;
		case VS_EXPIRED:
			return v->expired_at;
		case VS_BLOCKED:
			return v->blocked_at;
		case VS_SOLD:
			break;
	}
	return v->sold_at;
}

/*
 * What the partner's session knows before the voucher is read, with the
 * latest snapshot (so that failures committed by the recorder since this
 * transaction began are seen): its partner, its failures in the last hour,
 * and whether this code is locked.
 */
typedef struct Context
{
	Caller		caller;
	bool		has_partner;
	int64		partner_id;
	int64		recent_failures;
	bool		locked;
} Context;

static Stmt context_stmt = STMT("SELECT m.partner_id,"
	" (SELECT count(*) FROM coupon.partner_failure f"
	"   WHERE f.partner_id = m.partner_id AND f.at > now() - interval '1 hour'),"
	" s.locked_at IS NOT NULL"
	" FROM (SELECT 1) AS one"
	" LEFT JOIN coupon.partner_member m ON m.role_name = $1"
	" LEFT JOIN coupon.secret_failure s ON s.code = $2::coupon.code",
	2, NAMEOID, TEXTOID);

static void
load_context(Context *cx, struct varlena *code)
{
	Datum		args[2];
	Name		role = palloc0(NAMEDATALEN);

	caller_identify(&cx->caller);
	namestrcpy(role, cx->caller.role_name);
	args[0] = NameGetDatum(role);
	args[1] = CStringGetTextDatum(code_to_cstring(code));
	stmt_exec(&context_stmt, args, NULL, true, 1);
	cx->has_partner = !spi_isnull(0, 1);
	cx->partner_id = spi_int8(0, 1);
	cx->recent_failures = spi_int8(0, 2);
	cx->locked = spi_bool(0, 3);
}

/* Partners must be bound; a throttled partner is stopped before anything. */
static void
require_partner_or_admin(const Context *cx)
{
	if (!cx->has_partner && !cx->caller.is_admin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" does not act for a partner", cx->caller.role_name),
				 errhint("An administrator binds a login role to its partner with coupon.bind_partner_role().")));
	if (cx->has_partner && cx->recent_failures >= coupon_partner_failures_per_hour)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_PARTNER_THROTTLED),
				 errmsg("too many failed attempts from your account in the last hour"),
				 errdetail("%lld failed attempts in the last hour; the limit is %d.",
						   (long long) cx->recent_failures, coupon_partner_failures_per_hour),
				 errhint("Wait and try again later, or ask an administrator.")));
}

/*
 * The voucher is not there, or belongs to another partner: one answer for
 * both, so that a partner cannot probe other partners' codes; the attempt
 * is counted.
 */
static void
refuse_not_found(const Context *cx, const char *code)
{
	record_failure(FAILURE_NOT_FOUND, code, cx->has_partner ? cx->partner_id : 0,
				   cx->caller.role_name, 0);
	ereport(ERROR,
			(errcode(ERRCODE_COUPON_VOUCHER_NOT_FOUND),
			 errmsg("voucher %s not found", code),
			 errdetail("None of your vouchers has this code."),
			 errhint("Check the code for typing mistakes; if it is right, do not serve the customer: the voucher may be counterfeit.")));
}

/* load, locking, what this caller may see; -1 as partner matches nothing */
static void
load_visible(const Context *cx, Voucher *v, struct varlena *code, bool lock)
{
	load_voucher(v, code, lock, cx->caller.is_admin, cx->has_partner ? cx->partner_id : -1);
}

/* ---------------------------------------------------------------------
 * Changing state
 * --------------------------------------------------------------------- */

static Stmt transition_stmt = STMT("WITH u AS ("
	"  UPDATE coupon.voucher v SET state = $2::coupon.voucher_state,"
	"    used_at = CASE WHEN $2 = 'used' THEN now() ELSE v.used_at END,"
	"    used_by = CASE WHEN $2 = 'used' THEN $4 ELSE v.used_by END,"
	"    returned_at = CASE WHEN $2 = 'returned' THEN now() ELSE v.returned_at END,"
	"    expired_at = CASE WHEN $2 = 'expired' THEN now() ELSE v.expired_at END,"
	"    blocked_at = CASE WHEN $2 = 'blocked' THEN now() END"
	"  WHERE v.code = $1::coupon.code RETURNING v.variant_id),"
	" c AS ("
	"  INSERT INTO coupon.voucher_counter AS k (variant_id, slot, used, returned, expired, blocked)"
	"  SELECT variant_id, $5, $6, $7, $8, $9 FROM u"
	"  ON CONFLICT (variant_id, slot) DO UPDATE SET used = k.used + EXCLUDED.used,"
	"    returned = k.returned + EXCLUDED.returned, expired = k.expired + EXCLUDED.expired,"
	"    blocked = k.blocked + EXCLUDED.blocked),"
	" e AS ("
	"  INSERT INTO coupon.voucher_event (code, action, from_state, to_state, role_name, partner_id, detail)"
	"  SELECT $1::coupon.code, $10, $3::coupon.voucher_state, $2::coupon.voucher_state, $4, $11, $12 FROM u)"
	" SELECT now() FROM u",
	12, TEXTOID, TEXTOID, TEXTOID, NAMEOID, INT2OID, INT8OID, INT8OID, INT8OID, INT8OID,
		TEXTOID, INT8OID, TEXTOID);

static TimestampTz
transition(const Context *cx, Voucher *v, VState to, const char *action, const char *detail)
{
	Datum		args[12];
	char		nulls[13] = "          nn";
	int64		delta[5] = {0, 0, 0, 0, 0};
	Name		role = palloc0(NAMEDATALEN);
	TimestampTz at;

	delta[v->state]--;
	delta[to]++;
	namestrcpy(role, cx->caller.role_name);
	args[0] = CStringGetTextDatum(v->code);
	args[1] = CStringGetTextDatum(vstate_names[to]);
	args[2] = CStringGetTextDatum(vstate_names[v->state]);
	args[3] = NameGetDatum(role);
	args[4] = Int16GetDatum(v->slot);
	args[5] = Int64GetDatum(delta[VS_USED]);
	args[6] = Int64GetDatum(delta[VS_RETURNED]);
	args[7] = Int64GetDatum(delta[VS_EXPIRED]);
	args[8] = Int64GetDatum(delta[VS_BLOCKED]);
	args[9] = CStringGetTextDatum(action);
	args[10] = Int64GetDatum(v->partner_id);	/* the log names the voucher's partner */
	nulls[10] = ' ';
	args[11] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	if (detail)
		nulls[11] = ' ';
	if (stmt_exec(&transition_stmt, args, nulls, false, 0) != 1)
		elog(ERROR, "voucher %s vanished while locked", v->code);
	at = spi_timestamptz(0, 1);
	switch (to)
	{
		case VS_USED:
			v->used_at = at;
			break;
		case VS_RETURNED:
			v->returned_at = at;
			break;
		case VS_EXPIRED:
			v->expired_at = at;
			break;
		case VS_BLOCKED:
			v->blocked_at = at;
			break;
		case VS_SOLD:
			break;
	}
	v->state = to;
	return at;
}

/* ---------------------------------------------------------------------
 * The answer: coupon.voucher_status
 * --------------------------------------------------------------------- */

/* the row type and the enum values of the answer, looked up once per call site */
typedef struct StatusCache
{
	TupleDesc	tupdesc;
	Datum		states[VS_BLOCKED + 1];
} StatusCache;

static StatusCache *
status_cache(FunctionCallInfo fcinfo)
{
	StatusCache *c = (StatusCache *) fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	tupdesc;
		Oid			state_type;
		int			i;

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		c = palloc(sizeof(StatusCache));
		c->tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		state_type = TupleDescAttr(c->tupdesc, 5)->atttypid;
		for (i = 0; i <= VS_BLOCKED; i++)
			c->states[i] = DirectFunctionCall2(enum_in, CStringGetDatum(vstate_names[i]),
											   ObjectIdGetDatum(state_type));
		fcinfo->flinfo->fn_extra = c;
		MemoryContextSwitchTo(old);
	}
	return c;
}

static Datum
status_datum(FunctionCallInfo fcinfo, MemoryContext outer, const Voucher *v,
			 bool changed, const char *message)
{
	StatusCache *cache = status_cache(fcinfo);
	Datum		values[9];
	bool		nulls[9] = {false};
	MemoryContext old = MemoryContextSwitchTo(outer);
	HeapTuple	tuple;

	values[0] = Int64GetDatum(v->number);
	values[1] = Int32GetDatum(v->ordinal);
	values[2] = PointerGetDatum(code_from_text(v->code, strlen(v->code), NULL));
	values[3] = Int64GetDatum(v->offer_id);
	values[4] = Int64GetDatum(v->variant_id);
	values[5] = cache->states[v->state];
	values[6] = TimestampTzGetDatum(state_since(v));
	values[7] = BoolGetDatum(changed);
	values[8] = CStringGetTextDatum(message);
	tuple = heap_form_tuple(cache->tupdesc, values, nulls);
	MemoryContextSwitchTo(old);
	return HeapTupleGetDatum(tuple);
}

/* The refusals of a voucher that cannot be activated now, in this order. */
static void
refuse_unusable(const Voucher *v, bool locked)
{
	long long	n = (long long) v->number;

	switch (v->state)
	{
		case VS_USED:
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_VOUCHER_USED),
					 errmsg("voucher #%lld was already used on %s", n, local_time(v->used_at, v->time_zone)),
					 errhint("Do not serve the customer again.")));
			break;
		case VS_RETURNED:
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_VOUCHER_REFUNDED),
					 errmsg("voucher #%lld was refunded to the customer on %s", n,
							local_time(v->returned_at, v->time_zone)),
					 errhint("Do not serve the customer: the money was returned.")));
			break;
		default:
			break;
	}
	if (locked)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_VOUCHER_LOCKED),
				 errmsg("voucher #%lld is locked after too many wrong secrets", n),
				 errhint("An administrator must unlock it before it can be used.")));
	if (v->state == VS_BLOCKED)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_VOUCHER_BLOCKED),
				 errmsg("voucher #%lld is blocked", n),
				 errhint("Do not serve the customer; an administrator blocked this voucher.")));
	if (v->state == VS_EXPIRED || v->closed)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_VOUCHER_EXPIRED),
				 errmsg("voucher #%lld is no longer active", n),
				 errdetail("Activation closed on %s.", local_time(v->window_end, v->time_zone)),
				 errhint("Do not serve the customer.")));
	if (v->too_early)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_VOUCHER_NOT_YET_VALID),
				 errmsg("voucher #%lld is not valid yet", n),
				 errdetail("It can be used from %s.", local_time(v->window_start, v->time_zone))));
}

/* Secrets are read like codes: case, spaces and hyphens, O as 0, I and L as 1. */
static char *
normalize_secret(text *typed)
{
	const char *in = VARDATA_ANY(typed);
	size_t		len = VARSIZE_ANY_EXHDR(typed);
	char	   *out = palloc(len + 1);
	size_t		i, j = 0;

	for (i = 0; i < len; i++)
	{
		char		c = in[i];

		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		out[j++] = c;
	}
	out[j] = '\0';
	return out;
}

/* compares in time independent of where the strings differ */
static bool
secret_matches(const char *stored, const char *typed)
{
	size_t		n = strlen(stored);
	size_t		typed_len = strlen(typed);
	unsigned	diff = (unsigned) (n ^ typed_len);
	size_t		i;

	for (i = 0; i < n; i++)
		diff |= (unsigned) (stored[i] ^ (i < typed_len ? typed[i] : 0));
	return diff == 0;
}

/* ---------------------------------------------------------------------
 * coupon.activate(code, secret)
 * --------------------------------------------------------------------- */

/*
 * The usual case in one statement: a voucher of the caller's partner,
 * unused, inside its window, the right secret, not locked, the partner not
 * throttled: it becomes used, its counter slot and the log follow.  Any
 * other case updates nothing and goes the slow way, which finds the exact
 * refusal.  A concurrent activation of the same voucher waits for the row
 * and then no longer matches (it is used), so it goes the slow way too.
 */
#define ACTIVATE_SQL(partner_checks) \
	"WITH u AS (" \
	"  UPDATE coupon.voucher v SET state = 'used', used_at = now(), used_by = $2" \
	"  WHERE v.code = $1::coupon.code AND v.state = 'sold' AND v.secret = $3" \
	"    AND now() >= v.window_start AND now() < v.window_end" \
	"    AND NOT EXISTS (SELECT 1 FROM coupon.secret_failure s WHERE s.code = v.code AND s.locked_at IS NOT NULL)" \
	partner_checks \
	"  RETURNING v.number, v.ordinal, v.offer_id, v.variant_id, v.partner_id, v.used_at)," \
	" c AS (" \
	"  INSERT INTO coupon.voucher_counter AS k (variant_id, slot, used)" \
	"  SELECT variant_id, $4, 1 FROM u" \
	"  ON CONFLICT (variant_id, slot) DO UPDATE SET used = k.used + 1)," \
	" e AS (" \
	"  INSERT INTO coupon.voucher_event (code, action, from_state, to_state, role_name, partner_id)" \
	"  SELECT $1::coupon.code, 'activate', 'sold', 'used', $2, u.partner_id FROM u)" \
	" SELECT * FROM u"

/* an administrator may activate any voucher */
static Stmt activate_admin_stmt = STMT(ACTIVATE_SQL(""), 4, TEXTOID, NAMEOID, TEXTOID, INT2OID);

/* a partner its own, unless paused by too many failures in the last hour */
static Stmt activate_partner_stmt = STMT(ACTIVATE_SQL(
	"    AND v.partner_id = (SELECT m.partner_id FROM coupon.partner_member m WHERE m.role_name = $2)"
	"    AND (SELECT count(*) FROM coupon.partner_failure f"
	"         WHERE f.partner_id = v.partner_id AND f.at > now() - interval '1 hour') < $5"),
	5, TEXTOID, NAMEOID, TEXTOID, INT2OID, INT8OID);

static bool
activate_fast(const Caller *caller, struct varlena *code, const char *secret, Voucher *v)
{
	Datum		args[5];
	Name		role = palloc0(NAMEDATALEN);

	namestrcpy(role, caller->role_name);
	args[0] = CStringGetTextDatum(v->code);
	args[1] = NameGetDatum(role);
	args[2] = CStringGetTextDatum(secret);
	args[3] = Int16GetDatum(v->slot);
	args[4] = Int64GetDatum(coupon_partner_failures_per_hour);
	if (stmt_exec(caller->is_admin ? &activate_admin_stmt : &activate_partner_stmt,
				  args, NULL, false, 0) != 1)
		return false;
	v->found = true;
	v->number = spi_int8(0, 1);
	v->ordinal = spi_int4(0, 2);
	v->offer_id = spi_int8(0, 3);
	v->variant_id = spi_int8(0, 4);
	v->partner_id = spi_int8(0, 5);
	v->used_at = spi_timestamptz(0, 6);
	v->state = VS_USED;
	return true;
}

/* the counter slot of a voucher activated directly, when it was not there */
static Stmt count_activation_stmt = STMT(
	"INSERT INTO coupon.voucher_counter AS k (variant_id, slot, used) VALUES ($1, $2, 1)"
	" ON CONFLICT (variant_id, slot) DO UPDATE SET used = k.used + 1",
	2, INT8OID, INT2OID);

static void
count_activation(const Voucher *v)
{
	Datum		args[2];

	args[0] = Int64GetDatum(v->variant_id);
	args[1] = Int16GetDatum((int16) v->slot);
	stmt_exec(&count_activation_stmt, args, NULL, false, 0);
}

/*
 * The same usual case without SQL (direct.h): the voucher found by its
 * primary key and checked here, locked and updated; its counter slot
 * locked and updated; the log row inserted.  The same checks and writes as
 * the statement above, without the executor's set-up of a five-node plan
 * on every call.
 */
typedef enum DirectResult
{
	DIRECT_UNAVAILABLE,			/* cannot be done directly: use SQL */
	DIRECT_NOT_DONE,			/* not the usual case: the slow way decides */
	DIRECT_DONE
} DirectResult;

/* OIDs and column numbers, kept while no table of the extension changes */
typedef struct ActivationCache
{
	uint64		generation;
	bool		usable;
	Oid			voucher, voucher_pk, counter, counter_pk, event, event_seq;
	Oid			failure, failure_pk, member, member_pk, pfail, pfail_idx;
	RegProcedure code_eq;
	Oid			sold, used;
	AttrNumber	v_code, v_number, v_offer, v_variant, v_partner, v_ordinal, v_secret;
	AttrNumber	v_start, v_end, v_state, v_used_at, v_used_by;
	AttrNumber	k_variant, k_slot, k_used, f_code, f_locked, m_role, m_partner, p_partner, p_at;
	AttrNumber	e_code, e_id, e_at, e_action, e_from, e_to, e_role, e_partner;
} ActivationCache;

static ActivationCache ac;

/* is indexid a btree on col1 (and col2, unless 0) first?  Its = for col1 */
static bool
btree_on(Oid indexid, AttrNumber col1, AttrNumber col2, RegProcedure *eq)
{
	Relation	index;
	bool		ok;

	if (!OidIsValid(indexid) || col1 == InvalidAttrNumber)
		return false;
	index = index_open(indexid, AccessShareLock);
	/* valid, complete, checked at once, whole-table, on plain columns */
	ok = index->rd_rel->relam == BTREE_AM_OID
		&& index->rd_index->indisvalid && index->rd_index->indisready
		&& index->rd_index->indimmediate
		&& heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL)
		&& heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL)
		&& index->rd_index->indnkeyatts >= (col2 ? 2 : 1)
		&& index->rd_index->indkey.values[0] == col1
		&& (col2 == 0 || index->rd_index->indkey.values[1] == col2);
	if (ok && eq != NULL)
	{
		Oid			op = get_opfamily_member(index->rd_opfamily[0], index->rd_opcintype[0],
											 index->rd_opcintype[0], BTEqualStrategyNumber);

		*eq = OidIsValid(op) ? get_opcode(op) : InvalidOid;
		ok = OidIsValid(*eq);
	}
	index_close(index, AccessShareLock);
	return ok;
}

/* the relations activation uses, by name in schema coupon */
#define AC_FIELD(f) offsetof(ActivationCache, f)
static const struct
{
	size_t		field;
	const char *name;
}			activation_relations[] = {
	{AC_FIELD(voucher), "voucher"}, {AC_FIELD(voucher_pk), "voucher_pkey"},
	{AC_FIELD(counter), "voucher_counter"}, {AC_FIELD(counter_pk), "voucher_counter_pkey"},
	{AC_FIELD(event), "voucher_event"}, {AC_FIELD(event_seq), "voucher_event_id_seq"},
	{AC_FIELD(failure), "secret_failure"}, {AC_FIELD(failure_pk), "secret_failure_pkey"},
	{AC_FIELD(member), "partner_member"}, {AC_FIELD(member_pk), "partner_member_pkey"},
	{AC_FIELD(pfail), "partner_failure"}, {AC_FIELD(pfail_idx), "partner_failure_idx"},
};

/*
 * the columns it reads or writes: table, column number, name, and type
 * (InvalidOid: the type of coupon.voucher.code or of .state, as same_as says)
 */
#define SAME_AS_CODE 'c'
#define SAME_AS_STATE 's'
static const struct
{
	size_t		table;
	size_t		field;
	const char *name;
	Oid			type;
	char		same_as;
}			activation_columns[] = {
	{AC_FIELD(voucher), AC_FIELD(v_code), "code", InvalidOid, SAME_AS_CODE},
	{AC_FIELD(voucher), AC_FIELD(v_number), "number", INT8OID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_offer), "offer_id", INT8OID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_variant), "variant_id", INT8OID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_partner), "partner_id", INT8OID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_ordinal), "ordinal", INT4OID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_secret), "secret", TEXTOID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_start), "window_start", TIMESTAMPTZOID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_end), "window_end", TIMESTAMPTZOID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_state), "state", InvalidOid, SAME_AS_STATE},
	{AC_FIELD(voucher), AC_FIELD(v_used_at), "used_at", TIMESTAMPTZOID, 0},
	{AC_FIELD(voucher), AC_FIELD(v_used_by), "used_by", NAMEOID, 0},
	{AC_FIELD(counter), AC_FIELD(k_variant), "variant_id", INT8OID, 0},
	{AC_FIELD(counter), AC_FIELD(k_slot), "slot", INT2OID, 0},
	{AC_FIELD(counter), AC_FIELD(k_used), "used", INT8OID, 0},
	{AC_FIELD(failure), AC_FIELD(f_code), "code", InvalidOid, SAME_AS_CODE},
	{AC_FIELD(failure), AC_FIELD(f_locked), "locked_at", TIMESTAMPTZOID, 0},
	{AC_FIELD(member), AC_FIELD(m_role), "role_name", NAMEOID, 0},
	{AC_FIELD(member), AC_FIELD(m_partner), "partner_id", INT8OID, 0},
	{AC_FIELD(pfail), AC_FIELD(p_partner), "partner_id", INT8OID, 0},
	{AC_FIELD(pfail), AC_FIELD(p_at), "at", TIMESTAMPTZOID, 0},
	{AC_FIELD(event), AC_FIELD(e_code), "code", InvalidOid, SAME_AS_CODE},
	{AC_FIELD(event), AC_FIELD(e_id), "event_id", INT8OID, 0},
	{AC_FIELD(event), AC_FIELD(e_at), "at", TIMESTAMPTZOID, 0},
	{AC_FIELD(event), AC_FIELD(e_action), "action", TEXTOID, 0},
	{AC_FIELD(event), AC_FIELD(e_from), "from_state", InvalidOid, SAME_AS_STATE},
	{AC_FIELD(event), AC_FIELD(e_to), "to_state", InvalidOid, SAME_AS_STATE},
	{AC_FIELD(event), AC_FIELD(e_role), "role_name", NAMEOID, 0},
	{AC_FIELD(event), AC_FIELD(e_partner), "partner_id", INT8OID, 0},
};

/*
 * The log row is built whole here: every column activation does not write
 * must take NULL as SQL would (no default, no NOT NULL, not generated), and
 * event_id is not an identity column (it is numbered from its sequence).
 */
static bool
event_columns_writable(const ActivationCache *c)
{
	Relation	rel = table_open(c->event, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	written[] = {c->e_code, c->e_id, c->e_at, c->e_action, c->e_from,
	c->e_to, c->e_role, c->e_partner};
	bool		ok = true;
	int			i;
	size_t		j;

	for (i = 0; ok && i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		is_written = false;

		if (att->attisdropped)
			continue;
		for (j = 0; j < lengthof(written); j++)
			is_written |= written[j] == att->attnum;
		if (att->attnum == c->e_id)
			ok = att->attidentity == '\0';
		else if (!is_written)
			ok = !att->attnotnull && !att->atthasdef && att->attidentity == '\0'
				&& att->attgenerated == '\0';
	}
	table_close(rel, AccessShareLock);
	return ok;
}

#define AC_OID(c, off)		(*(Oid *) ((char *) (c) + (off)))
#define AC_ATTNUM(c, off)	(*(AttrNumber *) ((char *) (c) + (off)))

static bool
activation_cache_ready(void)
{
	uint64		gen = direct_generation();
	ActivationCache c = {0};
	Oid			code_type = InvalidOid, state_type = InvalidOid;
	size_t		i;

	if (ac.generation == gen)
		return ac.usable;
	c.usable = true;
	for (i = 0; i < lengthof(activation_relations); i++)
	{
		AC_OID(&c, activation_relations[i].field) = direct_relid(activation_relations[i].name);
		c.usable &= OidIsValid(AC_OID(&c, activation_relations[i].field));
	}
	if (c.usable)
	{
		code_type = get_atttype(c.voucher, get_attnum(c.voucher, "code"));
		state_type = get_atttype(c.voucher, get_attnum(c.voucher, "state"));
	}
	for (i = 0; c.usable && i < lengthof(activation_columns); i++)
	{
		Oid			relid = AC_OID(&c, activation_columns[i].table);
		AttrNumber	att = get_attnum(relid, activation_columns[i].name);
		Oid			type = activation_columns[i].same_as == SAME_AS_CODE ? code_type
			: activation_columns[i].same_as == SAME_AS_STATE ? state_type
			: activation_columns[i].type;

		AC_ATTNUM(&c, activation_columns[i].field) = att;
		c.usable = att != InvalidAttrNumber && OidIsValid(type)
			&& get_atttype(relid, att) == type;
	}
	if (c.usable)
	{
		c.sold = direct_enum_label(state_type, "sold");
		c.used = direct_enum_label(state_type, "used");
		c.usable = OidIsValid(c.sold) && OidIsValid(c.used)
			&& event_columns_writable(&c)
			&& btree_on(c.voucher_pk, c.v_code, 0, &c.code_eq)
			&& btree_on(c.counter_pk, c.k_variant, c.k_slot, NULL)
			&& btree_on(c.failure_pk, c.f_code, 0, NULL)
			&& btree_on(c.member_pk, c.m_role, 0, NULL)
			&& btree_on(c.pfail_idx, c.p_partner, c.p_at, NULL);
	}
	/* a change seen while reading: read again on the next call */
	c.generation = gen;
	ac = c;
	return c.usable && direct_generation() == gen;
}

#define SLOT_VALUE(s, att)	((s)->tts_values[(att) - 1])
#define SLOT_SET(s, att, d) \
	do { (s)->tts_values[(att) - 1] = (d); (s)->tts_isnull[(att) - 1] = false; } while (0)

static DirectResult
activate_direct(const Caller *caller, struct varlena *code, const char *secret, Voucher *v)
{
	DirectResult result = DIRECT_NOT_DONE;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Relation	vrel = NULL, krel = NULL, erel = NULL, frel = NULL, mrel = NULL, prel = NULL;
	TupleTableSlot *vslot = NULL, *vnew = NULL, *kslot = NULL, *knew = NULL, *eslot = NULL;
	Snapshot	snap;
	ScanKeyData key[2];
	NameData	role;
	int64		partner = 0;

	if (!coupon_direct_writes || !activation_cache_ready())
		return DIRECT_UNAVAILABLE;
	vrel = direct_open(ac.voucher, CMD_UPDATE);
	krel = vrel ? direct_open(ac.counter, CMD_UPDATE) : NULL;
	erel = krel ? direct_open(ac.event, CMD_INSERT) : NULL;
	frel = erel ? direct_open(ac.failure, CMD_SELECT) : NULL;
	/* a partner's binding and failures: an administrator has neither */
	if (frel != NULL && !caller->is_admin)
	{
		mrel = direct_open(ac.member, CMD_SELECT);
		prel = mrel ? direct_open(ac.pfail, CMD_SELECT) : NULL;
	}
	/* the locks may have brought news of a change to the tables: SQL this time */
	if (frel == NULL || (!caller->is_admin && prel == NULL)
		|| direct_generation() != ac.generation)
	{
		result = DIRECT_UNAVAILABLE;
		goto close;
	}

	/* like every statement of a function: see what came before it */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	snap = GetActiveSnapshot();
	namestrcpy(&role, caller->role_name);

	/* a partner its own vouchers, unless paused by failures in the last hour */
	if (!caller->is_admin)
	{
		TupleTableSlot *s = table_slot_create(mrel, NULL);
		bool		member, isnull, paused;

		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_NAMEEQ, NameGetDatum(&role));
		member = direct_fetch(mrel, ac.member_pk, key, 1, snap, s);
		if (member)
			partner = DatumGetInt64(slot_getattr(s, ac.m_partner, &isnull));
		ExecDropSingleTupleTableSlot(s);
		if (!member)
			goto done;
		s = table_slot_create(prel, NULL);
		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(partner));
		ScanKeyInit(&key[1], 2, BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT,
					TimestampTzGetDatum(now - USECS_PER_HOUR));
		paused = direct_count(prel, ac.pfail_idx, key, 2, snap, s,
							  coupon_partner_failures_per_hour) >= coupon_partner_failures_per_hour;
		ExecDropSingleTupleTableSlot(s);
		if (paused)
			goto done;
	}

	/* the voucher: sold, inside its window, the caller's, the right secret */
	vslot = table_slot_create(vrel, NULL);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, ac.code_eq, PointerGetDatum(code));
	if (!direct_fetch(vrel, ac.voucher_pk, key, 1, snap, vslot))
		goto done;
	slot_getallattrs(vslot);
	if (DatumGetObjectId(SLOT_VALUE(vslot, ac.v_state)) != ac.sold
		|| now < DatumGetTimestampTz(SLOT_VALUE(vslot, ac.v_start))
		|| now >= DatumGetTimestampTz(SLOT_VALUE(vslot, ac.v_end))
		|| (!caller->is_admin && DatumGetInt64(SLOT_VALUE(vslot, ac.v_partner)) != partner)
		|| !secret_matches(TextDatumGetCString(SLOT_VALUE(vslot, ac.v_secret)), secret))
		goto done;

	/* not locked by wrong secrets */
	{
		TupleTableSlot *s = table_slot_create(frel, NULL);
		bool		isnull = true;

		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, ac.code_eq, PointerGetDatum(code));
		if (direct_fetch(frel, ac.failure_pk, key, 1, snap, s))
			(void) slot_getattr(s, ac.f_locked, &isnull);
		ExecDropSingleTupleTableSlot(s);
		if (!isnull)			/* locked_at is set */
			goto done;
	}

	/*
	 * Lock it; a concurrent change of it (an activation, a refund) leaves it
	 * for the slow way, which reads it again and says what happened.
	 */
	if (direct_lock(vrel, vslot, snap, false) != TM_Ok)
		goto done;
	vnew = table_slot_create(vrel, NULL);
	direct_new_row(vnew, vslot);
	v->found = true;
	v->state = VS_USED;
	v->used_at = now;
	v->number = DatumGetInt64(SLOT_VALUE(vnew, ac.v_number));
	v->ordinal = DatumGetInt32(SLOT_VALUE(vnew, ac.v_ordinal));
	v->offer_id = DatumGetInt64(SLOT_VALUE(vnew, ac.v_offer));
	v->variant_id = DatumGetInt64(SLOT_VALUE(vnew, ac.v_variant));
	v->partner_id = DatumGetInt64(SLOT_VALUE(vnew, ac.v_partner));
	SLOT_SET(vnew, ac.v_state, ObjectIdGetDatum(ac.used));
	SLOT_SET(vnew, ac.v_used_at, TimestampTzGetDatum(now));
	SLOT_SET(vnew, ac.v_used_by, NameGetDatum(&role));
	direct_update(vrel, vslot, vnew, snap);

	/*
	 * Its counter slot, in its latest version: other activations update it
	 * too.  In REPEATABLE READ a concurrent update is a serialization
	 * failure, as it is for the UPDATE in SQL.  A missing slot is made by
	 * SQL after this (see voucher_activate).
	 */
	kslot = table_slot_create(krel, NULL);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(v->variant_id));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT2EQ, Int16GetDatum((int16) v->slot));
	if (direct_fetch(krel, ac.counter_pk, key, 2, snap, kslot))
	{
		TM_Result	locked_slot = direct_lock(krel, kslot, snap, !IsolationUsesXactSnapshot());

		if (locked_slot == TM_Ok)
		{
			knew = table_slot_create(krel, NULL);
			direct_new_row(knew, kslot);
			SLOT_SET(knew, ac.k_used, Int64GetDatum(DatumGetInt64(SLOT_VALUE(knew, ac.k_used)) + 1));
			direct_update(krel, kslot, knew, snap);
		}
		else if (locked_slot == TM_Deleted && !IsolationUsesXactSnapshot())
			v->counter_missing = true;	/* deleted meanwhile: made again */
		else
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
	}
	else
		v->counter_missing = true;

	/* the log */
	eslot = table_slot_create(erel, NULL);
	direct_new_row(eslot, NULL);
	SLOT_SET(eslot, ac.e_code, PointerGetDatum(code));
	SLOT_SET(eslot, ac.e_id, Int64GetDatum(nextval_internal(ac.event_seq, false)));
	SLOT_SET(eslot, ac.e_at, TimestampTzGetDatum(now));
	SLOT_SET(eslot, ac.e_action, CStringGetTextDatum("activate"));
	SLOT_SET(eslot, ac.e_from, ObjectIdGetDatum(ac.sold));
	SLOT_SET(eslot, ac.e_to, ObjectIdGetDatum(ac.used));
	SLOT_SET(eslot, ac.e_role, NameGetDatum(&role));
	SLOT_SET(eslot, ac.e_partner, Int64GetDatum(v->partner_id));
	direct_insert(erel, eslot);
	result = DIRECT_DONE;

done:
	PopActiveSnapshot();
close:
	{
		TupleTableSlot *slots[] = {eslot, knew, kslot, vnew, vslot};
		Relation	rels[] = {prel, mrel, frel, erel, krel, vrel};
		size_t		i;

		for (i = 0; i < lengthof(slots); i++)
			if (slots[i] != NULL)
				ExecDropSingleTupleTableSlot(slots[i]);
		/* the locks are kept until the end of the transaction */
		for (i = 0; i < lengthof(rels); i++)
			if (rels[i] != NULL)
				table_close(rels[i], NoLock);
	}
	return result;
}

static void
refuse_null_args(FunctionCallInfo fcinfo, int nargs, const char *what)
{
	int			i;

	for (i = 0; i < nargs; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", what)));
}

PG_FUNCTION_INFO_V1(voucher_activate);
Datum
voucher_activate(PG_FUNCTION_ARGS)
{
	struct varlena *code;
	char	   *secret;
	MemoryContext outer = CurrentMemoryContext;
	Context		cx;
	Voucher		v;
	Datum		result;
	bool		done = false;

	refuse_null_args(fcinfo, 2, "the code and the secret");
	/* before anything is read: the same answer however it would be written */
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot activate a voucher in a read-only transaction"),
				 errhint("Activate on the primary server, in a read-write transaction.")));
	code = PG_GETARG_CODE_P(0);
	secret = normalize_secret(PG_GETARG_TEXT_PP(1));
	SPI_connect();
	caller_identify(&cx.caller);
	memset(&v, 0, sizeof(v));
	v.code = code_to_cstring(code);
	v.slot = voucher_slot(code);
	switch (activate_direct(&cx.caller, code, secret, &v))
	{
		case DIRECT_DONE:
			done = true;
			break;
		case DIRECT_NOT_DONE:
			done = false;
			break;
		case DIRECT_UNAVAILABLE:
			done = activate_fast(&cx.caller, code, secret, &v);
			break;
	}
	if (v.counter_missing)
		count_activation(&v);
	if (!done)
	{
		/* the slow way: find out why, and count what must be counted */
		load_context(&cx, code);
		require_partner_or_admin(&cx);
		load_visible(&cx, &v, code, true);
		if (!v.found)
			refuse_not_found(&cx, v.code);
		/* trying a locked voucher is a failure too (but not a used or refunded one) */
		if (cx.locked && v.state != VS_USED && v.state != VS_RETURNED)
			record_failure(FAILURE_LOCKED, v.code, cx.has_partner ? cx.partner_id : 0,
						   cx.caller.role_name, v.partner_id);
		refuse_unusable(&v, cx.locked);
		if (!secret_matches(v.secret, secret))
		{
			FailureResult f = record_failure(FAILURE_WRONG_SECRET, v.code,
											 cx.has_partner ? cx.partner_id : 0,
											 cx.caller.role_name, v.partner_id);

			if (f.locked)
				ereport(ERROR,
						(errcode(ERRCODE_COUPON_WRONG_SECRET),
						 errmsg("wrong secret for voucher #%lld", (long long) v.number),
						 errdetail("That was wrong secret number %d: the voucher is now locked.", f.failures),
						 errhint("An administrator must unlock it before it can be used.")));
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_WRONG_SECRET),
					 errmsg("wrong secret for voucher #%lld", (long long) v.number),
					 errdetail_plural("%d more wrong secret locks the voucher.",
									  "%d more wrong secrets lock the voucher.",
									  coupon_max_secret_failures - f.failures,
									  coupon_max_secret_failures - f.failures),
					 errhint("Ask the customer for the secret printed on the voucher.")));
		}
		/* everything is in order after all (it changed since the fast try) */
		transition(&cx, &v, VS_USED, "activate", NULL);
	}
	result = status_datum(fcinfo, outer, &v, true,
						  psprintf("the status of voucher #%lld was changed: used",
								   (long long) v.number));
	SPI_finish();
	return result;
}

/* ---------------------------------------------------------------------
 * coupon.voucher_status(code): what the partner sees before the secret
 * --------------------------------------------------------------------- */

static const char *
describe(const Voucher *v, bool locked)
{
	long long	n = (long long) v->number;

	switch (v->state)
	{
		case VS_USED:
			return psprintf("voucher #%lld was used on %s", n, local_time(v->used_at, v->time_zone));
		case VS_RETURNED:
			return psprintf("voucher #%lld was refunded on %s: do not serve", n,
							local_time(v->returned_at, v->time_zone));
		case VS_EXPIRED:
			return psprintf("voucher #%lld is no longer active (activation closed on %s)", n,
							local_time(v->window_end, v->time_zone));
		case VS_BLOCKED:
			return psprintf("voucher #%lld is blocked: do not serve", n);
		case VS_SOLD:
			break;
	}
	if (locked)
		return psprintf("voucher #%lld is locked after too many wrong secrets", n);
	if (v->closed)
		return psprintf("voucher #%lld is no longer active (activation closed on %s)", n,
						local_time(v->window_end, v->time_zone));
	if (v->too_early)
		return psprintf("voucher #%lld is not valid yet (from %s)", n,
						local_time(v->window_start, v->time_zone));
	return psprintf("voucher #%lld is not used: ask for the secret", n);
}

PG_FUNCTION_INFO_V1(voucher_lookup);
Datum
voucher_lookup(PG_FUNCTION_ARGS)
{
	struct varlena *code;
	MemoryContext outer = CurrentMemoryContext;
	Context		cx;
	Voucher		v;
	Datum		result;

	refuse_null_args(fcinfo, 1, "the code");
	code = PG_GETARG_CODE_P(0);
	SPI_connect();
	load_context(&cx, code);
	require_partner_or_admin(&cx);
	load_visible(&cx, &v, code, false);
	if (!v.found)
		refuse_not_found(&cx, v.code);
	result = status_datum(fcinfo, outer, &v, false, describe(&v, cx.locked));
	SPI_finish();
	return result;
}

/* ---------------------------------------------------------------------
 * Administration: refund, block, unblock, unlock
 * --------------------------------------------------------------------- */

static text *
opt_text(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n);
}

/* lock the voucher for an administrator's change; unknown codes refused */
static void
admin_load(Context *cx, Voucher *v, struct varlena *code)
{
	load_context(cx, code);
	require_partner_or_admin(cx);
	load_visible(cx, v, code, true);
	if (!v->found)
		refuse_not_found(cx, v->code);
	if (!cx->caller.is_admin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only an administrator can change voucher #%lld", (long long) v->number)));
}

PG_FUNCTION_INFO_V1(voucher_refund);
Datum
voucher_refund(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	text	   *note;
	Context		cx;
	Voucher		v;
	Datum		result;
	char	   *msg;
	bool		changed = false;

	refuse_null_args(fcinfo, 1, "the code");
	note = opt_text(fcinfo, 1);
	SPI_connect();
	admin_load(&cx, &v, PG_GETARG_CODE_P(0));
	if (v.state == VS_USED)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_REFUND_USED),
				 errmsg("voucher #%lld was used on %s and cannot be refunded", (long long) v.number,
						local_time(v.used_at, v.time_zone)),
				 errhint("A used voucher was served; settle a complaint outside the voucher.")));
	if (v.state == VS_RETURNED)
		msg = psprintf("voucher #%lld was already refunded on %s; nothing changed",
					   (long long) v.number, local_time(v.returned_at, v.time_zone));
	else
	{
		transition(&cx, &v, VS_RETURNED, "refund", note ? text_to_cstring(note) : NULL);
		changed = true;
		msg = psprintf("the status of voucher #%lld was changed: returned", (long long) v.number);
	}
	result = status_datum(fcinfo, outer, &v, changed, msg);
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(voucher_block);
Datum
voucher_block(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	text	   *note;
	Context		cx;
	Voucher		v;
	Datum		result;
	char	   *msg;
	bool		changed = false;

	refuse_null_args(fcinfo, 1, "the code");
	note = opt_text(fcinfo, 1);
	SPI_connect();
	admin_load(&cx, &v, PG_GETARG_CODE_P(0));
	if (v.state == VS_BLOCKED)
		msg = psprintf("voucher #%lld was already blocked; nothing changed", (long long) v.number);
	else if (v.state != VS_SOLD)
	{
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_VOUCHER_NOT_BLOCKABLE),
				 errmsg("voucher #%lld is %s and cannot be blocked", (long long) v.number,
						v.state == VS_USED ? "used" : v.state == VS_RETURNED ? "refunded" : "no longer active"),
				 errdetail("Only an unused voucher can be blocked.")));
		msg = NULL;
	}
	else
	{
		transition(&cx, &v, VS_BLOCKED, "block", note ? text_to_cstring(note) : NULL);
		changed = true;
		msg = psprintf("the status of voucher #%lld was changed: blocked", (long long) v.number);
	}
	result = status_datum(fcinfo, outer, &v, changed, msg);
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(voucher_unblock);
Datum
voucher_unblock(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	text	   *note;
	Context		cx;
	Voucher		v;
	Datum		result;
	char	   *msg;
	bool		changed = false;

	refuse_null_args(fcinfo, 1, "the code");
	note = opt_text(fcinfo, 1);
	SPI_connect();
	admin_load(&cx, &v, PG_GETARG_CODE_P(0));
	if (v.state != VS_BLOCKED)
		msg = psprintf("voucher #%lld is not blocked; nothing changed", (long long) v.number);
	else if (v.closed)
	{
		/* its window closed while it was blocked: it is no longer active */
		transition(&cx, &v, VS_EXPIRED, "unblock", note ? text_to_cstring(note) : NULL);
		changed = true;
		msg = psprintf("the status of voucher #%lld was changed: no longer active", (long long) v.number);
	}
	else
	{
		transition(&cx, &v, VS_SOLD, "unblock", note ? text_to_cstring(note) : NULL);
		changed = true;
		msg = psprintf("the status of voucher #%lld was changed: not used", (long long) v.number);
	}
	result = status_datum(fcinfo, outer, &v, changed, msg);
	SPI_finish();
	return result;
}

static Stmt unlock_stmt = STMT("WITH d AS (DELETE FROM coupon.secret_failure WHERE code = $1::coupon.code"
	"           RETURNING locked_at IS NOT NULL AS was_locked),"
	" e AS (INSERT INTO coupon.voucher_event (code, action, role_name, partner_id, detail)"
	"       SELECT $1::coupon.code, 'unlock', $2, $4, $3 FROM d WHERE was_locked)"
	" SELECT was_locked FROM d",
	4, TEXTOID, NAMEOID, TEXTOID, INT8OID);

PG_FUNCTION_INFO_V1(voucher_unlock);
Datum
voucher_unlock(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	text	   *note;
	Context		cx;
	Voucher		v;
	Datum		result;
	Datum		args[4];
	char		nulls[5] = "    ";
	Name		role = palloc0(NAMEDATALEN);
	bool		was_locked;

	refuse_null_args(fcinfo, 1, "the code");
	note = opt_text(fcinfo, 1);
	SPI_connect();
	admin_load(&cx, &v, PG_GETARG_CODE_P(0));
	namestrcpy(role, cx.caller.role_name);
	args[0] = CStringGetTextDatum(v.code);
	args[1] = NameGetDatum(role);
	args[2] = note ? PointerGetDatum(note) : (Datum) 0;
	if (!note)
		nulls[2] = 'n';
	args[3] = Int64GetDatum(v.partner_id);
	was_locked = stmt_exec(&unlock_stmt, args, nulls, true, 0) == 1 && spi_bool(0, 1);
	result = status_datum(fcinfo, outer, &v, was_locked,
						  was_locked
						  ? psprintf("voucher #%lld is unlocked; its count of wrong secrets starts again",
									 (long long) v.number)
						  : psprintf("voucher #%lld was not locked; its count of wrong secrets starts again",
									 (long long) v.number));
	SPI_finish();
	return result;
}

/* ---------------------------------------------------------------------
 * Sale
 * --------------------------------------------------------------------- */

typedef struct Sale
{
	int64		offer_id;
	int64		partner_id;
	int64		variant_id;
	int32		first_ordinal;
	Datum		coupon_price;
	Datum		pay_on_site;
	char	   *time_zone;
	int32		grace_days;
	DateADT		valid_from;
	DateADT		valid_until;
	int64		customer_id;
	bool		has_customer;
	GenPattern	pattern;
	int64		issued[VOUCHER_SLOTS];	/* vouchers sold, per counter slot */
} Sale;

/* lock the offer, take n ordinals, check it is on sale */
static Stmt sale_stmt = STMT("UPDATE coupon.offer o SET last_ordinal = o.last_ordinal + $2"
	" FROM coupon.variant va WHERE va.variant_id = $1 AND o.offer_id = va.offer_id"
	" RETURNING o.offer_id, o.partner_id, o.state,"
	"  (now() AT TIME ZONE o.time_zone)::date BETWEEN o.sale_from AND o.sale_until,"
	"  to_char(o.sale_from, 'YYYY-MM-DD'), to_char(o.sale_until, 'YYYY-MM-DD'), o.time_zone, o.grace_days, o.valid_from, o.valid_until,"
	"  o.code_pattern, o.code_check, o.last_ordinal, va.coupon_price, va.pay_on_site",
	2, INT8OID, INT4OID);

static Stmt customer_stmt = STMT("WITH i AS (INSERT INTO coupon.customer (external_id) VALUES ($1)"
	"           ON CONFLICT (external_id) DO NOTHING RETURNING customer_id)"
	" SELECT customer_id FROM i UNION ALL"
	" SELECT customer_id FROM coupon.customer WHERE external_id = $1",
	1, TEXTOID);

static Stmt insert_stmt = STMT("WITH v AS ("
	"  INSERT INTO coupon.voucher (code, offer_id, variant_id, partner_id, ordinal, customer_id,"
	"    secret, coupon_price, pay_on_site, valid_from, valid_until, window_start, window_end)"
	"  VALUES ($1::coupon.code, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
	"    $10::timestamp AT TIME ZONE $12, ($11 + 1 + $13)::timestamp AT TIME ZONE $12)"
	"  ON CONFLICT (code) DO NOTHING RETURNING number, window_end),"
	" e AS ("
	"  INSERT INTO coupon.voucher_event (code, action, to_state, role_name, partner_id)"
	"  SELECT $1::coupon.code, 'sell', 'sold', $14, $4 FROM v)"
	" SELECT number, window_end FROM v",
	14, TEXTOID, INT8OID, INT8OID, INT8OID, INT4OID, INT8OID, TEXTOID, NUMERICOID, NUMERICOID,
		DATEOID, DATEOID, TEXTOID, INT4OID, NAMEOID);

/* a sale counts its vouchers per slot and writes each slot once, in order */
static Stmt sale_counter_stmt = STMT(
	"INSERT INTO coupon.voucher_counter AS k (variant_id, slot, issued) VALUES ($1, $2, $3)"
	" ON CONFLICT (variant_id, slot) DO UPDATE SET issued = k.issued + EXCLUDED.issued",
	3, INT8OID, INT2OID, INT8OID);

#define SALE_CODE_TRIES 100

static void
begin_sale(Sale *s, FunctionCallInfo fcinfo, int64 variant_id, int32 n, text *customer,
		   bool from_null, DateADT from, bool until_null, DateADT until)
{
	Datum		args[2];
	char	   *pattern;
	bool		check;
	bool		isnull;

	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of vouchers must be at least 1, not %d", n)));
	args[0] = Int64GetDatum(variant_id);
	args[1] = Int32GetDatum(n);
	if (stmt_exec(&sale_stmt, args, NULL, false, 0) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_OFFER_NOT_FOUND),
				 errmsg("variant %lld does not exist", (long long) variant_id)));
	s->variant_id = variant_id;
	s->offer_id = spi_int8(0, 1);
	s->partner_id = spi_int8(0, 2);
	if (strcmp(spi_text(0, 3), "on_site") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_OFFER_NOT_ON_SALE),
				 errmsg("offer %lld is not on sale", (long long) s->offer_id),
				 errdetail("The offer is %s.", spi_text(0, 3))));
	if (!spi_bool(0, 4))
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_OFFER_NOT_ON_SALE),
				 errmsg("offer %lld is not on sale", (long long) s->offer_id),
				 errdetail("Its sale period is %s to %s (%s).", spi_text(0, 5), spi_text(0, 6),
						   spi_text(0, 7))));
	s->time_zone = spi_text(0, 7);
	s->grace_days = spi_int4(0, 8);
	s->valid_from = from_null ? DatumGetDateADT(spi_datum_copy(0, 9, &isnull)) : from;
	s->valid_until = until_null ? DatumGetDateADT(spi_datum_copy(0, 10, &isnull)) : until;
	if (s->valid_until < s->valid_from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a voucher cannot be valid until a date before it is valid from")));
	pattern = spi_text(0, 11);
	check = spi_bool(0, 12);
	s->first_ordinal = spi_int4(0, 13) - n + 1;
	s->coupon_price = spi_datum_copy(0, 14, &isnull);
	s->pay_on_site = spi_datum_copy(0, 15, &isnull);

	gen_compile_or_error(&s->pattern, cstring_to_text(pattern),
						 cstring_to_text(check_alphabet), check);
	/* the 1/1000 rule, counted per offer: its ordinals are its codes */
	gen_check_count(&s->pattern, spi_int4(0, 13), cstring_to_text(pattern));

	s->has_customer = customer != NULL;
	if (customer != NULL)
	{
		args[0] = PointerGetDatum(customer);
		if (stmt_exec(&customer_stmt, args, NULL, false, 1) != 1)
			elog(ERROR, "customer could not be created");
		s->customer_id = spi_int8(0, 1);
	}
}

static void
finish_sale(Sale *s)
{
	int			slot;

	for (slot = 0; slot < VOUCHER_SLOTS; slot++)
	{
		Datum		args[3];

		if (s->issued[slot] == 0)
			continue;
		args[0] = Int64GetDatum(s->variant_id);
		args[1] = Int16GetDatum(slot);
		args[2] = Int64GetDatum(s->issued[slot]);
		stmt_exec(&sale_counter_stmt, args, NULL, false, 0);
	}
}

/* one voucher: a fresh code (drawn again on a clash) and secret */
static void
sell_one(Sale *s, int32 ordinal, const char *role_name, Datum *values, bool *nulls)
{
	GenRandom	r;
	char		chars[CODE_MAX_CHARS + 1];
	char	   *secret = gen_secret(2);
	Datum		args[14];
	char		argnulls[15] = "              ";
	Name		role = palloc0(NAMEDATALEN);
	int			tries;

	namestrcpy(role, role_name);
	gen_random_init(&r, gen_fill_strong, NULL, 2 * s->pattern.nslots);
	for (tries = 0;; tries++)
	{
		struct varlena *code;

		if (tries == SALE_CODE_TRIES)
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_NO_FREE_CODE),
					 errmsg("no free code found for offer %lld after %d tries", (long long) s->offer_id,
							SALE_CODE_TRIES),
					 errhint("Give the offer a longer code pattern.")));
		gen_draw(&s->pattern, &r, chars);
		chars[gen_code_len(&s->pattern)] = '\0';
		code = code_from_canonical(chars, gen_code_len(&s->pattern));
		args[0] = CStringGetTextDatum(chars);
		args[1] = Int64GetDatum(s->offer_id);
		args[2] = Int64GetDatum(s->variant_id);
		args[3] = Int64GetDatum(s->partner_id);
		args[4] = Int32GetDatum(ordinal);
		args[5] = Int64GetDatum(s->customer_id);
		argnulls[5] = s->has_customer ? ' ' : 'n';
		args[6] = CStringGetTextDatum(secret);
		args[7] = s->coupon_price;
		args[8] = s->pay_on_site;
		args[9] = DateADTGetDatum(s->valid_from);
		args[10] = DateADTGetDatum(s->valid_until);
		args[11] = CStringGetTextDatum(s->time_zone);
		args[12] = Int32GetDatum(s->grace_days);
		args[13] = NameGetDatum(role);
		if (stmt_exec(&insert_stmt, args, argnulls, false, 0) == 1)
		{
			s->issued[voucher_slot(code)]++;
			break;
		}
	}
	values[0] = Int64GetDatum(spi_int8(0, 1));
	values[1] = Int32GetDatum(ordinal);
	values[2] = PointerGetDatum(code_from_text(chars, strlen(chars), NULL));
	values[3] = CStringGetTextDatum(secret);
	values[4] = Int64GetDatum(s->offer_id);
	values[5] = Int64GetDatum(s->variant_id);
	values[6] = s->coupon_price;
	values[7] = s->pay_on_site;
	values[8] = DateADTGetDatum(s->valid_from);
	values[9] = DateADTGetDatum(s->valid_until);
	values[10] = TimestampTzGetDatum(spi_timestamptz(0, 2));
	memset(nulls, 0, 11 * sizeof(bool));
}

PG_FUNCTION_INFO_V1(voucher_sell);
Datum
voucher_sell(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	Caller		caller;
	Sale		s;
	Datum		values[11];
	bool		nulls[11];
	TupleDesc	tupdesc;
	HeapTuple	tuple;

	memset(&s, 0, sizeof(s));

	refuse_null_args(fcinfo, 1, "the variant");
	caller_identify(&caller);
	SPI_connect();
	begin_sale(&s, fcinfo, PG_GETARG_INT64(0), 1, opt_text(fcinfo, 1),
			   PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_DATEADT(2),
			   PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_DATEADT(3));
	sell_one(&s, s.first_ordinal, caller.role_name, values, nulls);
	finish_sale(&s);
	MemoryContextSwitchTo(outer);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[2] = PointerGetDatum(PG_DETOAST_DATUM_COPY(values[2]));
	values[3] = PointerGetDatum(PG_DETOAST_DATUM_COPY(values[3]));
	values[6] = PointerGetDatum(PG_DETOAST_DATUM_COPY(values[6]));
	values[7] = PointerGetDatum(PG_DETOAST_DATUM_COPY(values[7]));
	tuple = heap_form_tuple(tupdesc, values, nulls);
	SPI_finish();
	return HeapTupleGetDatum(tuple);
}

PG_FUNCTION_INFO_V1(voucher_sell_many);
Datum
voucher_sell_many(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext outer = CurrentMemoryContext;
	Caller		caller;
	Sale		s;
	int32		n;
	int32		i;
	Tuplestorestate *store;
	TupleDesc	tupdesc;

	memset(&s, 0, sizeof(s));
	refuse_null_args(fcinfo, 2, "the variant and the number of vouchers");
	n = PG_GETARG_INT32(1);
	srf_materialize(fcinfo, &store, &tupdesc);
	caller_identify(&caller);
	SPI_connect();
	begin_sale(&s, fcinfo, PG_GETARG_INT64(0), n, opt_text(fcinfo, 2), true, 0, true, 0);
	for (i = 0; i < n; i++)
	{
		Datum		values[11];
		bool		nulls[11];
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		sell_one(&s, s.first_ordinal + i, caller.role_name, values, nulls);
		old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		tuplestore_putvalues(store, tupdesc, values, nulls);
		MemoryContextSwitchTo(old);
	}
	finish_sale(&s);
	SPI_finish();
	MemoryContextSwitchTo(outer);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * Expiry
 * --------------------------------------------------------------------- */

static Stmt expire_stmt = STMT(
	"WITH due AS ("
	"  SELECT code, state FROM coupon.voucher"
	"  WHERE window_closed_at IS NULL AND window_end <= now()"
	"  ORDER BY window_end LIMIT $1 FOR NO KEY UPDATE SKIP LOCKED),"
	" u AS ("
	"  UPDATE coupon.voucher v SET window_closed_at = now(),"
	"    state = CASE WHEN due.state = 'sold' THEN 'expired' ELSE v.state END,"
	"    expired_at = CASE WHEN due.state = 'sold' THEN now() ELSE v.expired_at END"
	"  FROM due WHERE v.code = due.code"
	"  RETURNING v.code, v.variant_id, v.partner_id, due.state = 'sold' AS expired),"
	" c AS ("
	"  INSERT INTO coupon.voucher_counter AS k (variant_id, slot, expired)"
	"  SELECT variant_id, (coupon.code_hash(code) & 63)::smallint, count(*) FROM u WHERE expired"
	"  GROUP BY 1, 2 ORDER BY 1, 2"
	"  ON CONFLICT (variant_id, slot) DO UPDATE SET expired = k.expired + EXCLUDED.expired),"
	" e AS ("
	"  INSERT INTO coupon.voucher_event (code, action, from_state, to_state, role_name, partner_id)"
	"  SELECT code, 'expire', 'sold', 'expired', $2, partner_id FROM u WHERE expired)"
	" SELECT count(*), count(*) FILTER (WHERE expired) FROM u",
	2, INT4OID, NAMEOID);

PG_FUNCTION_INFO_V1(voucher_expire_batch);
Datum
voucher_expire_batch(PG_FUNCTION_ARGS)
{
	int32		batch = PG_GETARG_INT32(0);
	Caller		caller;
	Datum		args[2];
	Name		role = palloc0(NAMEDATALEN);
	Datum		values[2];
	bool		nulls[2] = {false, false};
	TupleDesc	tupdesc;
	MemoryContext outer = CurrentMemoryContext;
	HeapTuple	tuple;

	if (batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch size must be at least 1, not %d", batch)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	caller_identify(&caller);
	namestrcpy(role, caller.role_name);
	SPI_connect();
	args[0] = Int32GetDatum(batch);
	args[1] = NameGetDatum(role);
	stmt_exec(&expire_stmt, args, NULL, false, 0);
	values[0] = Int64GetDatum(spi_int8(0, 1));
	values[1] = Int64GetDatum(spi_int8(0, 2));
	MemoryContextSwitchTo(outer);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	SPI_finish();
	return HeapTupleGetDatum(tuple);
}

/*
 * CALL coupon.expire_due(batch_size): batches until none is left,
 * committing after each one when the CALL allows transaction control.
 * SECURITY INVOKER (a procedure that commits cannot be SECURITY DEFINER);
 * the privileged work is coupon.expire_batch.
 */
PG_FUNCTION_INFO_V1(voucher_expire_due);
Datum
voucher_expire_due(PG_FUNCTION_ARGS)
{
	int32		batch = PG_ARGISNULL(0) ? 10000 : PG_GETARG_INT32(0);
	bool		nonatomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	int64		total = 0;
	Datum		arg = Int32GetDatum(batch);
	Oid			argtype = INT4OID;
	TupleDesc	tupdesc;
	Datum		value;
	bool		isnull = false;
	HeapTuple	tuple;
	MemoryContext outer = CurrentMemoryContext;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));

	SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0);
	for (;;)
	{
		int64		n;

		CHECK_FOR_INTERRUPTS();
		if (SPI_execute_with_args("SELECT closed, expired FROM coupon.expire_batch($1)", 1, &argtype,
								  &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "coupon.expire_batch failed");
		n = spi_int8(0, 1);
		total += spi_int8(0, 2);
		if (nonatomic)
		{
			SPI_commit();
#if PG_VERSION_NUM < 150000
			SPI_start_transaction();
#endif
		}
		if (n < batch)
			break;
	}
	SPI_execute("SELECT coupon.prune_failures()", false, 0);
	/* from 0.3.0 on, holds of shop coupons expire with the same run */
	if (SPI_execute("SELECT to_regprocedure('coupon.expire_holds()') IS NOT NULL", true, 1) == SPI_OK_SELECT &&
		spi_bool(0, 1))
		SPI_execute("SELECT coupon.expire_holds()", false, 0);
	SPI_finish();

	MemoryContextSwitchTo(outer);
	value = Int64GetDatum(total);
	tuple = heap_form_tuple(tupdesc, &value, &isnull);
	return HeapTupleGetDatum(tuple);
}
