/*
 * shop.c
 *		Shop discount coupons: the rules of a coupon applied to an order
 *		(quote), a use held for a checkout in progress (hold), recorded
 *		(redeem), and given back when the order is cancelled (release); and
 *		the trigger that keeps a sent or used coupon's rules unchanged.
 *
 * An order is jsonb:
 *	 {"lines": [{"sku": "A1", "name": "...", "category": "swimwear",
 *	             "price": 189.99, "quantity": 1,
 *	             "bundle": false, "negotiated": false}, ...],
 *	  "delivery_fee": 12.00, "payment_fee": 2.00, "currency": "PLN"}
 *
 * Money is counted in integer minor units of the coupon's currency.  Lines
 * of a promotional bundle or with an individually negotiated price, and
 * lines outside the coupon's categories, are not eligible: they get no
 * share and do not count toward the minimum order.  The discount is spread
 * over the eligible lines by alloc_core (largest remainder, capped at each
 * line's amount), and the eligible lines keep at least the coupon's floor.
 *
 * Limits hold under concurrency: every coupon counts its uses and holds on
 * its row, changed only by a guarded UPDATE (... WHERE used + held < limit
 * when it has a limit), so a limit set later is checked against exact
 * counts under the same row lock; a once-per-customer coupon records the
 * customer's use under a primary key.  Each use also takes a shared
 * advisory lock on the coupon, which coupon.set_usage_limit() of version
 * 0.3.0 (it recounted) waits for.
 * Everything one order does is serialized by an advisory lock on the order
 * reference.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "alloc_core.h"
#include "allocate.h"
#include "caller.h"
#include "code_type.h"
#include "coupon_errors.h"
#include "numeric_units.h"
#include "spi_util.h"

#define LOCK_CLASS_COUPON	1129271888	/* shared by unlimited redemptions */
#define LOCK_CLASS_ORDER	1129271889	/* one order at a time */

typedef enum Kind
{
	KIND_PERCENT,
	KIND_FIXED,
	KIND_FREE_DELIVERY
} Kind;

typedef enum Audience
{
	AUD_EVERYONE,
	AUD_LOGGED_IN,
	AUD_NEW_SUBSCRIBERS,
	AUD_SELECTED_SUBSCRIBERS,
	AUD_SELECTED_CUSTOMERS
} Audience;

typedef struct Coupon
{
	bool		found;
	char	   *code;
	Kind		kind;
	Datum		value;
	bool		has_max;
	Datum		max_discount;
	bool		free_payment;
	char	   *currency;
	Datum		minor_unit;
	int64		per_unit;		/* minor units in one currency unit */
	int			scale;			/* decimals of the minor unit */
	Audience	audience;
	bool		limited;
	int32		usage_limit;
	int32		used_count;
	int32		live_holds;
	bool		once;
	bool		too_early;
	bool		too_late;
	char	   *valid_from;
	char	   *valid_until;
	char	   *time_zone;
	Datum		min_order;
	int			ncategories;
	char	  **categories;
	Datum		order_floor;
	bool		has_floor;		/* else one minor unit */
	bool		blocked;
	bool		first_used;
} Coupon;

typedef struct Who
{
	bool		logged_in;		/* a customer id was given */
	bool		known;			/* and is in coupon.customer */
	int64		customer_id;
	char	   *external_id;
	bool		subscribed;
	bool		targeted;
	bool		received;
	char	   *used_by_order;	/* order of this customer's use, once-per-customer */
} Who;

typedef struct Line
{
	char	   *sku;
	char	   *name;
	char	   *category;
	int64		price;			/* units */
	int32		quantity;
	int64		amount;			/* price * quantity */
	bool		eligible;
	const char *excluded;		/* why not eligible */
	int64		share;
} Line;

typedef struct Order
{
	int			nlines;
	Line	   *lines;
	int64		subtotal;
	int64		eligible;
	int64		delivery_fee;
	int64		payment_fee;
	char	   *currency;
} Order;

typedef struct Outcome
{
	bool		applies;
	const char *sqlstate;
	int			errcode;
	const char *reason;
	char	   *message;
	char	   *detail;
	int64		discount;
	int64		delivery_discount;
	int64		payment_discount;
	int64		total;
} Outcome;

/* ---------------------------------------------------------------------
 * Money
 * --------------------------------------------------------------------- */

static Datum
num(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

/*
 * A numeric amount in minor units; amounts with more decimals than the
 * minor unit are refused, never rounded.
 */
static int64
units_of(const Coupon *c, Datum amount, const char *what)
{
	int64		u = 0;

	switch (numeric_to_units(DatumGetNumeric(amount), c->scale, false, &u))
	{
		case NUMUNITS_OK:
			return u;
		case NUMUNITS_NOT_EXACT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has more decimals than the minor unit of %s allows", what, c->currency)));
			break;
		case NUMUNITS_OUT_OF_RANGE:
		case NUMUNITS_SPECIAL:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s is too large", what)));
			break;
	}
	pg_unreachable();
}

/* "369.96" */
static char *
money(const Coupon *c, int64 units)
{
	if (c->scale == 0)
		return psprintf(INT64_FORMAT, units);
	return psprintf("%s" INT64_FORMAT ".%0*lld", units < 0 ? "-" : "",
					(units < 0 ? -units : units) / c->per_unit, c->scale,
					(long long) ((units < 0 ? -units : units) % c->per_unit));
}

/* ---------------------------------------------------------------------
 * Loading the coupon, the customer, the order
 * --------------------------------------------------------------------- */

static Stmt coupon_stmt = STMT(
	"SELECT s.kind::text, s.value, s.max_discount, s.free_payment, s.currency::text, s.minor_unit,"
	" s.audience::text, s.usage_limit, s.used_count,"
	" (SELECT count(*)::int FROM coupon.coupon_hold h WHERE h.code = s.code AND h.expires_at > now()"
	"   AND h.order_ref IS DISTINCT FROM $2),"
	" s.once_per_customer,"
	" s.valid_from IS NOT NULL AND now() < (s.valid_from::timestamp AT TIME ZONE s.time_zone),"
	" s.valid_until IS NOT NULL AND now() >= ((s.valid_until + 1)::timestamp AT TIME ZONE s.time_zone),"
	" to_char(s.valid_from, 'YYYY-MM-DD'), to_char(s.valid_until, 'YYYY-MM-DD'), s.time_zone,"
	" s.min_order, s.categories, s.order_floor, s.status = 'blocked', s.first_used_at IS NOT NULL,"
	" round(1 / s.minor_unit)::bigint"
	" FROM coupon.shop_coupon s WHERE s.code = $1::coupon.code",
	2, TEXTOID, TEXTOID);

static void
load_coupon(Coupon *c, struct varlena *code, const char *order_ref)
{
	Datum		args[2];
	char		nulls[3] = "  ";
	bool		isnull;
	char	   *s;

	memset(c, 0, sizeof(*c));
	c->code = code_to_cstring(code);
	/* an unknown code reads the order like a coupon in cents would */
	c->per_unit = 100;
	c->scale = 2;
	c->currency = "PLN";
	c->minor_unit = DirectFunctionCall3(numeric_in, CStringGetDatum("0.01"),
										ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	args[0] = CStringGetTextDatum(c->code);
	args[1] = order_ref ? CStringGetTextDatum(order_ref) : (Datum) 0;
	if (!order_ref)
		nulls[1] = 'n';
	if (stmt_exec(&coupon_stmt, args, nulls, false, 1) == 0)
		return;
	c->found = true;
	s = spi_text(0, 1);
	c->kind = strcmp(s, "percent") == 0 ? KIND_PERCENT : strcmp(s, "fixed") == 0 ? KIND_FIXED : KIND_FREE_DELIVERY;
	c->value = spi_datum_copy(0, 2, &isnull);
	c->max_discount = spi_datum_copy(0, 3, &isnull);
	c->has_max = !isnull;
	c->free_payment = spi_bool(0, 4);
	c->currency = spi_text(0, 5);
	c->minor_unit = spi_datum_copy(0, 6, &isnull);
	s = spi_text(0, 7);
	c->audience = strcmp(s, "everyone") == 0 ? AUD_EVERYONE
		: strcmp(s, "logged_in") == 0 ? AUD_LOGGED_IN
		: strcmp(s, "new_subscribers") == 0 ? AUD_NEW_SUBSCRIBERS
		: strcmp(s, "selected_subscribers") == 0 ? AUD_SELECTED_SUBSCRIBERS
		: AUD_SELECTED_CUSTOMERS;
	c->limited = !spi_isnull(0, 8);
	c->usage_limit = spi_int4(0, 8);
	c->used_count = spi_int4(0, 9);
	c->live_holds = spi_int4(0, 10);
	c->once = spi_bool(0, 11);
	c->too_early = spi_bool(0, 12);
	c->too_late = spi_bool(0, 13);
	c->valid_from = spi_text(0, 14);
	c->valid_until = spi_text(0, 15);
	c->time_zone = spi_text(0, 16);
	c->min_order = spi_datum_copy(0, 17, &isnull);
	{
		Datum		cats = spi_datum_copy(0, 18, &isnull);

		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			i, n;

			deconstruct_array(DatumGetArrayTypeP(cats), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &enulls, &n);
			c->categories = palloc(sizeof(char *) * Max(n, 1));
			for (i = 0; i < n; i++)
				if (!enulls[i])
					c->categories[c->ncategories++] = TextDatumGetCString(elems[i]);
			if (c->ncategories == 0)
				c->ncategories = -1;	/* restricted to no category at all */
		}
	}
	c->order_floor = spi_datum_copy(0, 19, &isnull);
	c->has_floor = !isnull;
	c->blocked = spi_bool(0, 20);
	c->first_used = spi_bool(0, 21);
	c->per_unit = spi_int8(0, 22);
	c->scale = c->per_unit >= 1000 ? 3 : c->per_unit >= 100 ? 2 : c->per_unit >= 10 ? 1 : 0;
}

static Stmt who_stmt = STMT(
	"SELECT c.customer_id,"
	" EXISTS (SELECT 1 FROM coupon.subscriber b WHERE b.customer_id = c.customer_id AND b.unsubscribed_at IS NULL),"
	" EXISTS (SELECT 1 FROM coupon.coupon_target t WHERE t.code = $1::coupon.code AND t.customer_id = c.customer_id),"
	" EXISTS (SELECT 1 FROM coupon.sending_recipient r WHERE r.code = $1::coupon.code AND r.customer_id = c.customer_id),"
	" (SELECT u.order_ref FROM coupon.customer_use u WHERE u.code = $1::coupon.code AND u.customer_id = c.customer_id)"
	" FROM coupon.customer c WHERE c.external_id = $2",
	2, TEXTOID, TEXTOID);

static Stmt upsert_customer_stmt = STMT(
	"WITH i AS (INSERT INTO coupon.customer (external_id) VALUES ($1)"
	"           ON CONFLICT (external_id) DO NOTHING RETURNING customer_id)"
	" SELECT customer_id FROM i UNION ALL"
	" SELECT customer_id FROM coupon.customer WHERE external_id = $1",
	1, TEXTOID);

static void
load_who(Who *w, const Coupon *c, text *customer, bool create)
{
	Datum		args[2];

	memset(w, 0, sizeof(*w));
	if (customer == NULL)
		return;
	w->logged_in = true;
	w->external_id = text_to_cstring(customer);
	if (w->external_id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a customer id must not be empty"),
				 errhint("Pass NULL for a guest.")));
	if (create)
	{
		args[0] = CStringGetTextDatum(w->external_id);
		stmt_exec(&upsert_customer_stmt, args, NULL, false, 1);
	}
	args[0] = CStringGetTextDatum(c->code);
	args[1] = CStringGetTextDatum(w->external_id);
	if (stmt_exec(&who_stmt, args, NULL, false, 1) == 0)
		return;
	w->known = true;
	w->customer_id = spi_int8(0, 1);
	w->subscribed = spi_bool(0, 2);
	w->targeted = spi_bool(0, 3);
	w->received = spi_bool(0, 4);
	w->used_by_order = spi_text(0, 5);
}

static Stmt lines_stmt = STMT(
	"SELECT e.ord::int, l.sku, l.name, l.category, l.price, l.quantity,"
	" coalesce(l.bundle, false), coalesce(l.negotiated, false),"
	" jsonb_typeof(e.line)"
	" FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1->'lines') = 'array' THEN $1->'lines' END)"
	"      WITH ORDINALITY AS e(line, ord),"
	"      LATERAL jsonb_to_record(CASE WHEN jsonb_typeof(e.line) = 'object' THEN e.line END)"
	"        AS l(sku text, name text, category text, price numeric, quantity numeric,"
	"             bundle boolean, negotiated boolean)"
	" ORDER BY e.ord",
	1, JSONBOID);

static Stmt fees_stmt = STMT(
	"SELECT jsonb_typeof($1), jsonb_typeof($1->'lines'), ($1->>'delivery_fee')::numeric,"
	" ($1->>'payment_fee')::numeric, $1->>'currency'",
	1, JSONBOID);

static bool
in_categories(const Coupon *c, const char *category)
{
	int			i;

	if (c->ncategories == 0)
		return true;
	if (category == NULL)
		return false;
	for (i = 0; i < c->ncategories; i++)
		if (strcmp(c->categories[i], category) == 0)
			return true;
	return false;
}

static void
load_order(Order *o, const Coupon *c, Jsonb *order)
{
	Datum		arg = JsonbPGetDatum(order);
	bool		isnull;
	uint64		n, i;

	memset(o, 0, sizeof(*o));
	stmt_exec(&fees_stmt, &arg, NULL, false, 1);
	if (spi_isnull(0, 1) || strcmp(spi_text(0, 1), "object") != 0 || spi_isnull(0, 2) ||
		strcmp(spi_text(0, 2), "array") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an order is a JSON object with an array of \"lines\""),
				 errhint("{\"lines\": [{\"sku\": \"A1\", \"price\": 189.99, \"quantity\": 1}], \"delivery_fee\": 12.00}")));
	{
		Datum		d = spi_datum_copy(0, 3, &isnull);

		o->delivery_fee = isnull ? 0 : units_of(c, d, "delivery_fee");
		d = spi_datum_copy(0, 4, &isnull);
		o->payment_fee = isnull ? 0 : units_of(c, d, "payment_fee");
		if (o->delivery_fee < 0 || o->payment_fee < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("fees must not be negative")));
		o->currency = spi_text(0, 5);
	}

	n = stmt_exec(&lines_stmt, &arg, NULL, false, 0);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an order needs at least one line")));
	o->nlines = (int) n;
	o->lines = palloc0(sizeof(Line) * n);
	for (i = 0; i < n; i++)
	{
		Line	   *l = &o->lines[i];
		char	   *what = psprintf("the price of line %d", (int) i + 1);
		Datum		price;

		if (strcmp(spi_text(i, 9), "object") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("line %d of the order is not a JSON object", (int) i + 1)));
		l->sku = spi_text(i, 2);
		l->name = spi_text(i, 3);
		l->category = spi_text(i, 4);
		price = spi_datum_copy(i, 5, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("line %d of the order has no price", (int) i + 1)));
		l->price = units_of(c, price, what);
		if (l->price < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("line %d of the order has a negative price", (int) i + 1)));
		if (spi_isnull(i, 6))
			l->quantity = 1;
		else
		{
			Datum		q = spi_datum_copy(i, 6, &isnull);
			Datum		whole = DirectFunctionCall1(numeric_floor, q);
			char	   *shown = DatumGetCString(DirectFunctionCall1(numeric_out, q));

			if (!DatumGetBool(DirectFunctionCall2(numeric_eq, q, whole)) ||
				DatumGetBool(DirectFunctionCall2(numeric_lt, q, num(1))) ||
				DatumGetBool(DirectFunctionCall2(numeric_gt, q, num(1000000))))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("line %d of the order needs a whole quantity from 1 to 1000000, not %s",
								(int) i + 1, shown)));
			l->quantity = DatumGetInt32(DirectFunctionCall1(numeric_int4, q));
		}
		if (pg_mul_s64_overflow(l->price, l->quantity, &l->amount) || l->amount > ALLOC_MAX_VALUE)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("line %d of the order is too large", (int) i + 1)));
		if (spi_bool(i, 7))
			l->excluded = "bundle";
		else if (spi_bool(i, 8))
			l->excluded = "negotiated price";
		else if (!in_categories(c, l->category))
			l->excluded = "category";
		l->eligible = l->excluded == NULL;
		o->subtotal += l->amount;
		if (l->eligible)
			o->eligible += l->amount;
	}
	if (o->subtotal > ALLOC_MAX_VALUE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the order is too large")));
}

/* ---------------------------------------------------------------------
 * The rules
 * --------------------------------------------------------------------- */

static bool
refuse(Outcome *out, int errcode, const char *sqlstate, const char *reason, char *message, char *detail)
{
	out->applies = false;
	out->errcode = errcode;
	out->sqlstate = sqlstate;
	out->reason = reason;
	out->message = message;
	out->detail = detail;
	return false;
}

static bool
refuse_blocked(Outcome *out, const Coupon *c)
{
	return refuse(out, ERRCODE_COUPON_CODE_BLOCKED, "CP202", "blocked",
				  psprintf("code %s is blocked", c->code), NULL);
}

/*
 * Everything but the counting limits (once per customer, usage limit),
 * in the order a customer needs to hear it.  Unknown codes and codes not
 * meant for this customer get the same answer, so that the answer does
 * not tell whether a code exists.
 */
static bool
check_rules(Outcome *out, const Coupon *c, const Who *w, const Order *o)
{
	bool		meant = c->found;

	if (meant)
		switch (c->audience)
		{
			case AUD_EVERYONE:
			case AUD_LOGGED_IN:
				break;
			case AUD_NEW_SUBSCRIBERS:
				meant = w->received;
				break;
			case AUD_SELECTED_SUBSCRIBERS:
				meant = w->targeted && w->subscribed;
				break;
			case AUD_SELECTED_CUSTOMERS:
				meant = w->targeted;
				break;
		}
	if (!meant)
		return refuse(out, ERRCODE_COUPON_CODE_NOT_VALID, "CP201", "not_valid",
					  psprintf("code %s is not valid", c->code),
					  pstrdup("Check the code for typing mistakes."));
	if (c->blocked)
		return refuse_blocked(out, c);
	if (c->too_early)
		return refuse(out, ERRCODE_COUPON_CODE_NOT_YET_VALID, "CP203", "not_yet_valid",
					  psprintf("code %s is valid from %s", c->code, c->valid_from),
					  psprintf("Dates are in %s.", c->time_zone));
	if (c->too_late)
		return refuse(out, ERRCODE_COUPON_CODE_EXPIRED, "CP204", "expired",
					  psprintf("code %s expired after %s", c->code, c->valid_until),
					  psprintf("Dates are in %s.", c->time_zone));
	if (!w->logged_in && (c->audience == AUD_LOGGED_IN || c->once))
		return refuse(out, ERRCODE_COUPON_LOGIN_REQUIRED, "CP208", "login_required",
					  psprintf("log in to use code %s", c->code), NULL);
	if (o->currency != NULL && strcmp(o->currency, c->currency) != 0)
		return refuse(out, ERRCODE_COUPON_WRONG_CURRENCY, "CP216", "currency",
					  psprintf("code %s is for orders in %s, not %s", c->code, c->currency, o->currency),
					  NULL);
	if (c->kind != KIND_FREE_DELIVERY && o->eligible == 0)
		return refuse(out, ERRCODE_COUPON_NOTHING_ELIGIBLE, "CP209", "nothing_eligible",
					  psprintf("code %s does not apply to any product in this order", c->code),
					  pstrdup("Promotional bundles, individually negotiated prices and products outside the code's categories get no discount."));
	{
		int64		min_order = units_of(c, c->min_order, "the minimum order");

		if (o->eligible < min_order)
			return refuse(out, ERRCODE_COUPON_MIN_ORDER, "CP207", "min_order",
						  psprintf("code %s needs an order of at least %s %s", c->code,
								   money(c, min_order), c->currency),
						  psprintf("The products it applies to come to %s %s.", money(c, o->eligible),
								   c->currency));
	}
	return true;
}

static bool
refuse_already_used(Outcome *out, const Coupon *c)
{
	return refuse(out, ERRCODE_COUPON_ALREADY_USED_BY_CUSTOMER, "CP206", "already_used",
				  psprintf("you have already used code %s", c->code),
				  pstrdup("This code can be used once per customer."));
}

static bool
refuse_used_up(Outcome *out, const Coupon *c)
{
	return refuse(out, ERRCODE_COUPON_USED_UP, "CP205", "used_up",
				  psprintf("code %s has been used up", c->code), NULL);
}

/* the counting limits as they stand, for a quote (of order_ref, if given) */
static bool
check_counts(Outcome *out, const Coupon *c, const Who *w, const char *order_ref)
{
	if (c->once && w->used_by_order != NULL &&
		(order_ref == NULL || strcmp(w->used_by_order, order_ref) != 0))
		return refuse_already_used(out, c);
	if (c->limited && c->used_count + c->live_holds >= c->usage_limit)
		return refuse_used_up(out, c);
	return true;
}

/* the discount and its shares; the eligible lines keep at least the floor */
static void
compute(Outcome *out, const Coupon *c, Order *o)
{
	int64		d = 0;
	int			i;

	out->applies = true;
	if (c->kind == KIND_PERCENT)
	{
		/* value has at most 2 decimals in practice; use hundredths of a percent */
		int64		hundredths = DatumGetInt64(DirectFunctionCall1(numeric_int8,
																   DirectFunctionCall2(numeric_round,
																					   DirectFunctionCall2(numeric_mul, c->value, num(100)),
																					   Int32GetDatum(0))));
		__int128	q = (__int128) o->eligible * hundredths;

		d = (int64) ((q + 5000) / 10000);	/* half up */
		if (c->has_max)
			d = Min(d, units_of(c, c->max_discount, "the maximum discount"));
	}
	else if (c->kind == KIND_FIXED)
		d = units_of(c, c->value, "the coupon's value");
	if (c->kind != KIND_FREE_DELIVERY)
	{
		int64		floor_units = c->has_floor ? units_of(c, c->order_floor, "the order floor") : 1;

		d = Min(d, Max(o->eligible - floor_units, 0));
	}
	out->discount = d;
	if (d > 0)
	{
		int64	   *w = palloc(sizeof(int64) * o->nlines);
		int64	   *shares = palloc(sizeof(int64) * o->nlines);
		AllocResult r;

		for (i = 0; i < o->nlines; i++)
			w[i] = o->lines[i].eligible ? o->lines[i].amount : 0;
		r = alloc_largest_remainder(d, w, w, o->nlines, shares, alloc_scratch(o->nlines));
		alloc_report(r, "discount");
		if (r.allocated != d)
			elog(ERROR, "discount %lld allocated as %lld", (long long) d, (long long) r.allocated);
		for (i = 0; i < o->nlines; i++)
			o->lines[i].share = shares[i];
	}
	if (c->kind == KIND_FREE_DELIVERY)
	{
		out->delivery_discount = o->delivery_fee;
		if (c->free_payment)
			out->payment_discount = o->payment_fee;
	}
	out->total = o->subtotal - d + (o->delivery_fee - out->delivery_discount) +
		(o->payment_fee - out->payment_discount);
}

/* ---------------------------------------------------------------------
 * The answer as jsonb
 * --------------------------------------------------------------------- */

static void
json_str(StringInfo s, const char *key, const char *value)
{
	appendStringInfo(s, "\"%s\": ", key);
	if (value == NULL)
		appendStringInfoString(s, "null");
	else
		escape_json(s, value);
}

static Datum
answer(const Coupon *c, const Order *o, const Outcome *out, const char *extra)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	json_str(&s, "code", c->code);
	appendStringInfo(&s, ", \"applies\": %s", out->applies ? "true" : "false");
	if (!out->applies)
	{
		appendStringInfoString(&s, ", ");
		json_str(&s, "sqlstate", out->sqlstate);
		appendStringInfoString(&s, ", ");
		json_str(&s, "reason", out->reason);
		appendStringInfoString(&s, ", ");
		json_str(&s, "message", out->message);
		if (out->detail)
		{
			appendStringInfoString(&s, ", ");
			json_str(&s, "detail", out->detail);
		}
		appendStringInfoChar(&s, '}');
		return DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
	}
	appendStringInfo(&s, ", \"kind\": \"%s\", ",
					 c->kind == KIND_PERCENT ? "percent" : c->kind == KIND_FIXED ? "fixed" : "free_delivery");
	json_str(&s, "currency", c->currency);
	appendStringInfoString(&s, ", \"lines\": [");
	for (i = 0; i < o->nlines; i++)
	{
		const Line *l = &o->lines[i];

		appendStringInfo(&s, "%s{\"line\": %d, ", i ? ", " : "", i + 1);
		json_str(&s, "sku", l->sku);
		appendStringInfoString(&s, ", ");
		json_str(&s, "name", l->name);
		appendStringInfoString(&s, ", ");
		json_str(&s, "category", l->category);
		appendStringInfo(&s, ", \"price\": %s, \"quantity\": %d, \"amount\": %s, \"eligible\": %s, ",
						 money(c, l->price), l->quantity, money(c, l->amount), l->eligible ? "true" : "false");
		json_str(&s, "excluded", l->excluded);
		appendStringInfo(&s, ", \"share\": %s, \"net\": %s}", money(c, l->share),
						 money(c, l->amount - l->share));
	}
	appendStringInfo(&s, "], \"subtotal\": %s, \"eligible_subtotal\": %s, \"discount\": %s",
					 money(c, o->subtotal), money(c, o->eligible), money(c, out->discount));
	appendStringInfo(&s, ", \"delivery_fee\": %s, \"delivery_discount\": %s",
					 money(c, o->delivery_fee), money(c, out->delivery_discount));
	appendStringInfo(&s, ", \"payment_fee\": %s, \"payment_discount\": %s, \"total\": %s",
					 money(c, o->payment_fee), money(c, out->payment_discount), money(c, out->total));
	if (extra)
		appendStringInfo(&s, ", %s", extra);
	appendStringInfoChar(&s, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
}

/* "order_ref": "...", key: raw_json */
static char *
order_extra(const char *order_ref, const char *key, const char *raw_json)
{
	StringInfoData s;

	initStringInfo(&s);
	json_str(&s, "order_ref", order_ref);
	appendStringInfo(&s, ", \"%s\": %s", key, raw_json);
	return s.data;
}

static void
raise_refusal(const Outcome *out)
{
	ereport(ERROR,
			(errcode(out->errcode),
			 errmsg("%s", out->message),
			 out->detail ? errdetail("%s", out->detail) : 0));
}

static text *
opt_text(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n);
}

static void
require(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* ---------------------------------------------------------------------
 * coupon.quote(code, customer, order)
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(shop_quote);
Datum
shop_quote(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	Coupon		c;
	Who			w;
	Order		o;
	Outcome		out;
	Datum		result;
	char	   *order_ref;

	require(fcinfo, 0, "code");
	require(fcinfo, 2, "order");
	memset(&out, 0, sizeof(out));
	memset(&o, 0, sizeof(o));
	order_ref = PG_NARGS() > 3 && !PG_ARGISNULL(3) ? text_to_cstring(PG_GETARG_TEXT_PP(3)) : NULL;
	SPI_connect();
	load_coupon(&c, PG_GETARG_CODE_P(0), order_ref);
	load_who(&w, &c, opt_text(fcinfo, 1), false);
	load_order(&o, &c, PG_GETARG_JSONB_P(2));
	if (c.found && check_rules(&out, &c, &w, &o) && check_counts(&out, &c, &w, order_ref))
		compute(&out, &c, &o);
	else if (!c.found)
		check_rules(&out, &c, &w, &o);
	MemoryContextSwitchTo(outer);
	result = answer(&c, &o, &out, NULL);
	SPI_finish();
	return result;
}

/* ---------------------------------------------------------------------
 * Counting a use: hold or redeem
 * --------------------------------------------------------------------- */

static Stmt lock_order_stmt = STMT(
	"SELECT pg_advisory_xact_lock(1129271889, hashtext($1))", 1, TEXTOID);

static Stmt own_hold_stmt = STMT(
	"SELECT expires_at > now() FROM coupon.coupon_hold WHERE code = $1::coupon.code AND order_ref = $2"
	" FOR UPDATE", 2, TEXTOID, TEXTOID);

static Stmt redeemed_stmt = STMT(
	"SELECT released_at IS NOT NULL FROM coupon.redemption WHERE code = $1::coupon.code AND order_ref = $2",
	2, TEXTOID, TEXTOID);

static Stmt customer_use_stmt = STMT(
	"INSERT INTO coupon.customer_use (code, customer_id, order_ref) VALUES ($1::coupon.code, $2, $3)"
	" ON CONFLICT (code, customer_id) DO NOTHING RETURNING 1", 3, TEXTOID, INT8OID, TEXTOID);

static Stmt customer_use_order_stmt = STMT(
	"SELECT order_ref FROM coupon.customer_use WHERE code = $1::coupon.code AND customer_id = $2",
	2, TEXTOID, INT8OID);

static Stmt shared_lock_stmt = STMT(
	"SELECT pg_advisory_xact_lock_shared(1129271888, coupon.code_hash($1::coupon.code))", 1, TEXTOID);

/*
 * $2: uses to add, $3: holds to add; the limit, if any, is checked unless
 * $4.  Every coupon counts its uses and holds, limited or not, so that a
 * limit set later (coupon.set_usage_limit, coupon.bulk_modify) is a guarded
 * UPDATE of the row like any other.
 */
static Stmt count_stmt = STMT(
	"UPDATE coupon.shop_coupon SET used_count = used_count + $2, held_count = held_count + $3,"
	"  first_used_at = CASE WHEN $2 > 0 THEN coalesce(first_used_at, now()) ELSE first_used_at END"
	" WHERE code = $1::coupon.code AND status = 'active'"
	"   AND ($4 OR usage_limit IS NULL OR used_count + held_count < usage_limit)"
	" RETURNING used_count",
	4, TEXTOID, INT4OID, INT4OID, BOOLOID);

static Stmt blocked_stmt = STMT(
	"SELECT status <> 'active' FROM coupon.shop_coupon WHERE code = $1::coupon.code", 1, TEXTOID);

/* drops the expired holds of one coupon, giving their uses back */
static Stmt purge_stmt = STMT(
	"WITH h AS (DELETE FROM coupon.coupon_hold WHERE code = $1::coupon.code AND expires_at <= now()"
	"           RETURNING order_ref),"
	" u AS (DELETE FROM coupon.customer_use x USING h WHERE x.code = $1::coupon.code AND x.order_ref = h.order_ref),"
	" c AS (UPDATE coupon.shop_coupon s SET held_count = greatest(s.held_count - (SELECT count(*) FROM h), 0)"
	"       WHERE s.code = $1::coupon.code AND (SELECT count(*) FROM h) > 0)"
	" SELECT count(*) FROM h",
	1, TEXTOID);

typedef enum UseKind
{
	USE_HOLD,
	USE_REDEEM
} UseKind;

/*
 * Takes one use (or hold) of the coupon for the order, or raises the
 * refusal.  Returns whether the order had its own live hold.
 */
static bool
take_use(const Coupon *c, const Who *w, const char *order_ref, UseKind kind)
{
	Datum		args[4];
	bool		own_hold = false;
	Outcome		out;

	memset(&out, 0, sizeof(out));
	args[0] = CStringGetTextDatum(c->code);
	args[1] = CStringGetTextDatum(order_ref);

	if (stmt_exec(&redeemed_stmt, args, NULL, false, 1) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_ORDER_ALREADY_REDEEMED),
				 errmsg("order %s already used code %s", order_ref, c->code),
				 spi_bool(0, 1) ? errdetail("The order gave the use back; an order reference is used once.")
				 : errdetail("Each order uses a code once.")));
	if (stmt_exec(&own_hold_stmt, args, NULL, false, 1) == 1)
	{
		own_hold = spi_bool(0, 1);
		if (!own_hold)
			stmt_exec(&purge_stmt, args, NULL, false, 0);	/* its own hold ran out */
	}

	/* once per customer: the primary key makes a concurrent second use wait and fail */
	if (c->once)
	{
		Datum		uargs[3] = {args[0], Int64GetDatum(w->customer_id), args[1]};

		if (stmt_exec(&customer_use_stmt, uargs, NULL, false, 0) == 0)
		{
			char	   *other = NULL;

			/* the use may be an expired hold of another order: drop it, try again */
			if (stmt_exec(&purge_stmt, args, NULL, false, 0) > 0 && spi_int8(0, 1) > 0 &&
				stmt_exec(&customer_use_stmt, uargs, NULL, false, 0) == 1)
				goto counted;

			if (stmt_exec(&customer_use_order_stmt, uargs, NULL, false, 1) == 1)
				other = spi_text(0, 1);
			if (other == NULL || strcmp(other, order_ref) != 0)
			{
				refuse_already_used(&out, c);
				raise_refusal(&out);
			}
		}
	}
counted:

	{
		Datum		cargs[4] = {args[0],
			Int32GetDatum(kind == USE_REDEEM ? 1 : 0),
			Int32GetDatum(kind == USE_REDEEM ? (own_hold ? -1 : 0) : (own_hold ? 0 : 1)),
		BoolGetDatum(own_hold)};

		if (kind == USE_HOLD && own_hold)
			return true;		/* only the expiry moves */
		if (stmt_exec(&count_stmt, cargs, NULL, false, 0) == 0)
		{
			/* expired holds still counted? give them back and try once more */
			stmt_exec(&purge_stmt, args, NULL, false, 0);
			if (spi_int8(0, 1) == 0 || stmt_exec(&count_stmt, cargs, NULL, false, 0) == 0)
			{
				/* blocked (or archived) while this checkout ran */
				if (stmt_exec(&blocked_stmt, args, NULL, false, 1) == 1 && spi_bool(0, 1))
					refuse_blocked(&out, c);
				else
					refuse_used_up(&out, c);
				raise_refusal(&out);
			}
		}
	}
	return own_hold;
}

/* load and check everything for a hold or a redemption */
static void
prepare_use(FunctionCallInfo fcinfo, Coupon *c, Who *w, Order *o, Outcome *out, char **order_ref)
{
	Datum		arg;

	require(fcinfo, 0, "code");
	require(fcinfo, 2, "order_ref");
	require(fcinfo, 3, "order");
	*order_ref = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if ((*order_ref)[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an order reference must not be empty")));
	arg = CStringGetTextDatum(*order_ref);
	stmt_exec(&lock_order_stmt, &arg, NULL, false, 0);
	/*
	 * The shared lock on the coupon comes before its rules are read: a
	 * change of its usage limit (coupon.set_usage_limit takes the lock
	 * exclusively) either finished before, and this use sees the new limit,
	 * or waits for this use and counts it.
	 */
	arg = CStringGetTextDatum(code_to_cstring(PG_GETARG_CODE_P(0)));
	stmt_exec(&shared_lock_stmt, &arg, NULL, false, 0);
	memset(o, 0, sizeof(*o));
	load_coupon(c, PG_GETARG_CODE_P(0), *order_ref);
	load_who(w, c, opt_text(fcinfo, 1), c->found);
	load_order(o, c, PG_GETARG_JSONB_P(3));
	memset(out, 0, sizeof(*out));
	if (!check_rules(out, c, w, o))
		raise_refusal(out);
}

/* ---------------------------------------------------------------------
 * coupon.hold(code, customer, order_ref, order, minutes)
 * --------------------------------------------------------------------- */

static Stmt hold_stmt = STMT(
	"INSERT INTO coupon.coupon_hold AS h (code, order_ref, customer_id, expires_at)"
	" VALUES ($1::coupon.code, $2, $3, now() + make_interval(mins => $4))"
	" ON CONFLICT (code, order_ref) DO UPDATE SET expires_at = EXCLUDED.expires_at"
	" RETURNING to_json(expires_at)::text",
	4, TEXTOID, TEXTOID, INT8OID, INT4OID);

PG_FUNCTION_INFO_V1(shop_hold);
Datum
shop_hold(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	Coupon		c;
	Who			w;
	Order		o;
	Outcome		out;
	char	   *order_ref;
	int32		minutes = PG_ARGISNULL(4) ? 15 : PG_GETARG_INT32(4);
	Datum		args[4];
	char		nulls[5] = "    ";
	char	   *expires;
	Datum		result;

	if (minutes < 1 || minutes > 7 * 24 * 60)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hold lasts from 1 minute to 7 days, not %d minutes", minutes)));
	SPI_connect();
	prepare_use(fcinfo, &c, &w, &o, &out, &order_ref);
	take_use(&c, &w, order_ref, USE_HOLD);
	compute(&out, &c, &o);
	args[0] = CStringGetTextDatum(c.code);
	args[1] = CStringGetTextDatum(order_ref);
	args[2] = Int64GetDatum(w.customer_id);
	nulls[2] = w.known ? ' ' : 'n';
	args[3] = Int32GetDatum(minutes);
	stmt_exec(&hold_stmt, args, nulls, false, 0);
	expires = spi_text(0, 1);
	MemoryContextSwitchTo(outer);
	result = answer(&c, &o, &out, order_extra(order_ref, "hold_expires_at", expires));
	SPI_finish();
	return result;
}

/* ---------------------------------------------------------------------
 * coupon.redeem(code, customer, order_ref, order)
 * --------------------------------------------------------------------- */

static Stmt redemption_stmt = STMT(
	"INSERT INTO coupon.redemption (code, order_ref, customer_id, currency, subtotal, eligible_subtotal,"
	"  discount, delivery_fee, delivery_discount, payment_fee, payment_discount, total)"
	" VALUES ($1::coupon.code, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
	" RETURNING redemption_id",
	12, TEXTOID, TEXTOID, INT8OID, TEXTOID, NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID,
	NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID);

static Stmt redemption_line_stmt = STMT(
	"INSERT INTO coupon.redemption_line (code, redemption_id, line_no, sku, name, category,"
	"  unit_price, quantity, amount, eligible, excluded, share, net)"
	" VALUES ($1::coupon.code, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
	13, TEXTOID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, NUMERICOID, INT4OID, NUMERICOID,
	BOOLOID, TEXTOID, NUMERICOID, NUMERICOID);

static Stmt drop_hold_stmt = STMT(
	"DELETE FROM coupon.coupon_hold WHERE code = $1::coupon.code AND order_ref = $2",
	2, TEXTOID, TEXTOID);

static Datum
amount_datum(const Coupon *c, int64 units)
{
	return units_to_numeric(units, c->scale);
}

static Datum
opt_cstring(const char *s, char *null_flag)
{
	*null_flag = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

PG_FUNCTION_INFO_V1(shop_redeem);
Datum
shop_redeem(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	Coupon		c;
	Who			w;
	Order		o;
	Outcome		out;
	char	   *order_ref;
	Datum		args[13];
	char		nulls[14];
	int64		redemption_id;
	int			i;
	Datum		result;

	SPI_connect();
	prepare_use(fcinfo, &c, &w, &o, &out, &order_ref);
	take_use(&c, &w, order_ref, USE_REDEEM);
	compute(&out, &c, &o);

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(c.code);
	args[1] = CStringGetTextDatum(order_ref);
	args[2] = Int64GetDatum(w.customer_id);
	nulls[2] = w.known ? ' ' : 'n';
	args[3] = CStringGetTextDatum(c.currency);
	args[4] = amount_datum(&c, o.subtotal);
	args[5] = amount_datum(&c, o.eligible);
	args[6] = amount_datum(&c, out.discount);
	args[7] = amount_datum(&c, o.delivery_fee);
	args[8] = amount_datum(&c, out.delivery_discount);
	args[9] = amount_datum(&c, o.payment_fee);
	args[10] = amount_datum(&c, out.payment_discount);
	args[11] = amount_datum(&c, out.total);
	stmt_exec(&redemption_stmt, args, nulls, false, 0);
	redemption_id = spi_int8(0, 1);
	for (i = 0; i < o.nlines; i++)
	{
		const Line *l = &o.lines[i];

		memset(nulls, ' ', sizeof(nulls));
		args[1] = Int64GetDatum(redemption_id);
		args[2] = Int32GetDatum(i + 1);
		args[3] = opt_cstring(l->sku, &nulls[3]);
		args[4] = opt_cstring(l->name, &nulls[4]);
		args[5] = opt_cstring(l->category, &nulls[5]);
		args[6] = amount_datum(&c, l->price);
		args[7] = Int32GetDatum(l->quantity);
		args[8] = amount_datum(&c, l->amount);
		args[9] = BoolGetDatum(l->eligible);
		args[10] = opt_cstring(l->excluded, &nulls[10]);
		args[11] = amount_datum(&c, l->share);
		args[12] = amount_datum(&c, l->amount - l->share);
		stmt_exec(&redemption_line_stmt, args, nulls, false, 0);
	}
	args[1] = CStringGetTextDatum(order_ref);
	stmt_exec(&drop_hold_stmt, args, NULL, false, 0);

	MemoryContextSwitchTo(outer);
	result = answer(&c, &o, &out, order_extra(order_ref, "redemption_id",
											  psprintf(INT64_FORMAT, redemption_id)));
	SPI_finish();
	return result;
}

/* ---------------------------------------------------------------------
 * coupon.release(order_ref, code): a cancelled order gives its uses back
 * --------------------------------------------------------------------- */

static Stmt release_stmt = STMT(
	"WITH r AS ("
	"  UPDATE coupon.redemption d SET released_at = now(), released_by = $3"
	"  WHERE d.order_ref = $1 AND ($2::text IS NULL OR d.code = $2::coupon.code) AND d.released_at IS NULL"
	"  RETURNING d.code),"
	" h AS ("
	"  DELETE FROM coupon.coupon_hold h"
	"  WHERE h.order_ref = $1 AND ($2::text IS NULL OR h.code = $2::coupon.code)"
	"  RETURNING h.code),"
	" b AS (SELECT code, 1 AS used, 0 AS held FROM r UNION ALL SELECT code, 0, 1 FROM h),"
	" c AS ("
	"  UPDATE coupon.shop_coupon s SET used_count = greatest(s.used_count - t.used, 0),"
	"         held_count = greatest(s.held_count - t.held, 0)"
	"  FROM (SELECT code, sum(used)::int AS used, sum(held)::int AS held FROM b GROUP BY code) t"
	"  WHERE s.code = t.code),"
	" u AS ("
	"  DELETE FROM coupon.customer_use x USING b WHERE x.code = b.code AND x.order_ref = $1)"
	" SELECT count(*)::int FROM b",
	3, TEXTOID, TEXTOID, NAMEOID);

PG_FUNCTION_INFO_V1(shop_release);
Datum
shop_release(PG_FUNCTION_ARGS)
{
	Caller		caller;
	Datum		args[3];
	char		nulls[4] = "   ";
	Name		role = palloc0(NAMEDATALEN);
	int32		n;

	require(fcinfo, 0, "order_ref");
	caller_identify(&caller);
	namestrcpy(role, caller.role_name);
	SPI_connect();
	args[0] = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	stmt_exec(&lock_order_stmt, args, NULL, false, 0);
	if (PG_ARGISNULL(1))
		nulls[1] = 'n';
	else
		args[1] = CStringGetTextDatum(code_to_cstring(PG_GETARG_CODE_P(1)));
	args[2] = NameGetDatum(role);
	stmt_exec(&release_stmt, args, nulls, false, 0);
	n = spi_int4(0, 1);
	SPI_finish();
	PG_RETURN_INT32(n);
}

/* ---------------------------------------------------------------------
 * coupon.expire_holds()
 * --------------------------------------------------------------------- */

static Stmt expire_holds_stmt = STMT(
	"WITH h AS (DELETE FROM coupon.coupon_hold WHERE expires_at <= now() RETURNING code, order_ref),"
	" u AS (DELETE FROM coupon.customer_use x USING h WHERE x.code = h.code AND x.order_ref = h.order_ref),"
	" c AS ("
	"  UPDATE coupon.shop_coupon s SET held_count = greatest(s.held_count - t.n, 0)"
	"  FROM (SELECT code, count(*)::int AS n FROM h GROUP BY code) t"
	"  WHERE s.code = t.code)"
	" SELECT count(*) FROM h",
	0, InvalidOid);

PG_FUNCTION_INFO_V1(shop_expire_holds);
Datum
shop_expire_holds(PG_FUNCTION_ARGS)
{
	int64		n;

	SPI_connect();
	stmt_exec(&expire_holds_stmt, NULL, NULL, false, 0);
	n = spi_int8(0, 1);
	SPI_finish();
	PG_RETURN_INT64(n);
}

/* ---------------------------------------------------------------------
 * The editability guard (trigger on coupon.shop_coupon)
 * --------------------------------------------------------------------- */

/* what may change once a coupon was sent or used */
static const char *const always_editable[] = {
	"usage_limit", "used_count", "held_count", "status", "sent_at", "first_used_at",
	"updated_at", "campaign_id", "archived_at", NULL
};

static bool
is_always_editable(const char *name)
{
	int			i;

	for (i = 0; always_editable[i] != NULL; i++)
		if (strcmp(name, always_editable[i]) == 0)
			return true;
	return false;
}

static Datum
column(HeapTuple t, TupleDesc d, const char *name, bool *isnull)
{
	int			n = SPI_fnumber(d, name);

	if (n <= 0)
		elog(ERROR, "coupon.shop_coupon has no column \"%s\"", name);
	return heap_getattr(t, n, d, isnull);
}

/* x is a whole number of minor units */
static bool
whole_units(Datum x, Datum minor)
{
	Datum		q = DirectFunctionCall2(numeric_div, x, minor);

	return DatumGetBool(DirectFunctionCall2(numeric_eq, q, DirectFunctionCall1(numeric_floor, q)));
}

static Datum
getcol(HeapTuple t, TupleDesc d, const char *name, bool *isnull)
{
	return column(t, d, name, isnull);
}

/*
 * The rules of a coupon must make sense before anyone applies them:
 * amounts in whole minor units, a percentage with at most two decimals,
 * no value or cap that the kind would ignore.
 */
static void
validate_rules(HeapTuple t, TupleDesc d, const char *code)
{
	bool		isnull, no_kind, no_minor, no_value;
	Datum		kind_d = getcol(t, d, "kind", &no_kind);
	Datum		minor = getcol(t, d, "minor_unit", &no_minor);
	Datum		value = getcol(t, d, "value", &no_value);
	bool		no_max;
	Datum		max = getcol(t, d, "max_discount", &no_max);
	const char *amounts[] = {"min_order", "order_floor", "max_discount", NULL};
	char	   *kind;
	int			i;

	/* a missing kind, value or minor unit is refused by NOT NULL after this trigger */
	if (no_kind || no_minor || no_value)
		return;
	kind = DatumGetCString(DirectFunctionCall1(enum_out, kind_d));

	if (strcmp(kind, "percent") == 0)
	{
		if (!whole_units(value, DirectFunctionCall3(numeric_in, CStringGetDatum("0.01"),
													ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("coupon %s: a percentage has at most two decimals", code)));
	}
	else if (strcmp(kind, "fixed") == 0)
	{
		if (!whole_units(value, minor))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("coupon %s: its value has more decimals than its minor unit allows", code)));
		if (!no_max)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("coupon %s: a fixed-value coupon has no maximum discount", code)));
	}
	else
	{
		if (!DatumGetBool(DirectFunctionCall2(numeric_eq, value, num(0))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("coupon %s: a free-delivery coupon has no value", code)));
		if (!no_max)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("coupon %s: a free-delivery coupon has no maximum discount", code)));
	}
	for (i = 0; amounts[i] != NULL; i++)
	{
		Datum		x = getcol(t, d, amounts[i], &isnull);

		if (!isnull && !whole_units(x, minor))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("coupon %s: %s has more decimals than its minor unit allows", code, amounts[i])));
	}
	(void) max;
}

static Stmt live_holds_stmt = STMT(
	"SELECT EXISTS (SELECT 1 FROM coupon.coupon_hold WHERE code = $1::coupon.code AND expires_at > now())",
	1, TEXTOID);

static void
refuse_if_held(const char *code, const char *what)
{
	Datum		arg = CStringGetTextDatum(code);
	bool		held;

	SPI_connect();
	stmt_exec(&live_holds_stmt, &arg, NULL, false, 1);
	held = spi_bool(0, 1);
	SPI_finish();
	if (held)
		ereport(ERROR,
				(errcode(ERRCODE_COUPON_NOT_DELETABLE),
				 errmsg("coupon %s has checkouts in progress and cannot be %s", code, what),
				 errhint("Try again when their holds are redeemed, released or expired.")));
}

PG_FUNCTION_INFO_V1(shop_guard_coupon);
Datum
shop_guard_coupon(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	old, new = NULL;
	bool		sent_null, used_null, isnull;
	char	   *code;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "coupon.guard_coupon() must be a BEFORE ROW trigger");
	desc = td->tg_relation->rd_att;

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		Datum		c;

		new = td->tg_trigtuple;
		c = column(new, desc, "code", &isnull);
		if (!isnull)			/* else NOT NULL refuses the row */
			validate_rules(new, desc, code_to_cstring(DatumGetCodeP(c)));
		return PointerGetDatum(new);
	}

	old = td->tg_trigtuple;
	(void) column(old, desc, "sent_at", &sent_null);
	(void) column(old, desc, "first_used_at", &used_null);
	code = code_to_cstring(DatumGetCodeP(column(old, desc, "code", &isnull)));

	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		if (!sent_null || !used_null)
			ereport(ERROR,
					(errcode(ERRCODE_COUPON_NOT_DELETABLE),
					 errmsg("coupon %s was already %s and cannot be deleted", code,
							!used_null ? "used" : "sent"),
					 errhint("Block it instead; its redemptions stay on record.")));
		refuse_if_held(code, "deleted");
		return PointerGetDatum(old);
	}

	new = td->tg_newtuple;
	(void) column(new, desc, "code", &isnull);
	if (isnull)
		return PointerGetDatum(new);	/* NOT NULL refuses it */
	if (!sent_null || !used_null)
	{
		int			i;

		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			bool		n1, n2;
			Datum		d1, d2;

			if (att->attisdropped || is_always_editable(NameStr(att->attname)))
				continue;
			d1 = heap_getattr(old, i + 1, desc, &n1);
			d2 = heap_getattr(new, i + 1, desc, &n2);
			if (n1 != n2 || (!n1 && !datumIsEqual(d1, d2, att->attbyval, att->attlen)))
				ereport(ERROR,
						(errcode(ERRCODE_COUPON_NOT_EDITABLE),
						 errmsg("coupon %s was already %s: only its usage limit can change", code,
								!used_null ? "used" : "sent"),
						 errdetail("The change to %s is refused.", NameStr(att->attname)),
						 errhint("Create a new coupon for new rules.")));
		}
	}
	else
	{
		bool		n2;
		Datum		newcode = column(new, desc, "code", &n2);

		if (!datumIsEqual(column(old, desc, "code", &isnull), newcode, false, -1))
			refuse_if_held(code, "given another code");
		validate_rules(new, desc, code);
	}
	{
		Datum		limit = column(new, desc, "usage_limit", &isnull);

		if (!isnull)
		{
			bool		n1, n2;
			int32		used = DatumGetInt32(column(new, desc, "used_count", &n1));
			int32		held = DatumGetInt32(column(new, desc, "held_count", &n2));

			if (!n1 && !n2 && DatumGetInt32(limit) < used + held)
				ereport(ERROR,
						(errcode(ERRCODE_COUPON_LIMIT_BELOW_USES),
						 errmsg("the usage limit of coupon %s cannot be %d: it was used %d times so far",
								code, DatumGetInt32(limit), used + held),
						 held > 0 ? errdetail("%d of the uses are held by checkouts in progress.", held) : 0));
		}
	}
	return PointerGetDatum(new);
}
