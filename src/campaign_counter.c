/*
 * campaign_counter.c
 *		Statement triggers keeping coupon.campaign_counter exact: per
 *		campaign and slot (coupon.code_hash(code) & 63), the coupons not
 *		archived, archived, sent, used, the redemptions not released and the
 *		discount they gave.
 *
 * The triggers read the transition tables of the statement, add up what
 * each row brings (a new row) or takes away (an old row) per campaign and
 * slot in a small hash table, and write one upsert per campaign and slot
 * that changed, in key order.  An update that changes nothing counted (the
 * uses and holds of a checkout) writes nothing, so checkouts do not pay for
 * the figures; a generation of 50,000 coupons writes at most 64 rows.
 *
 * A statement of more than BULK_ROWS rows (a generation, an import, a bulk
 * operation) writes its figures to one extra row per campaign, slot
 * BULK_SLOT, instead of the 64 hashed ones: it then holds no lock that a
 * checkout of the same campaign needs until it commits, and checkouts go on
 * while it runs.  The reports add up all the slots of a campaign.
 *
 * Redemptions count in the campaign of their coupon.  A used coupon that
 * arrives or leaves (pg_restore loads the tables in any order, a coupon
 * moves to another campaign) brings or takes its redemptions along.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "code_type.h"
#include "spi_util.h"
#include "voucher.h"

#define BULK_ROWS	64
#define BULK_SLOT	VOUCHER_SLOTS	/* 64: after the hashed slots 0..63 */

typedef struct CounterKey
{
	int64		campaign_id;
	int64		slot;			/* int64: no padding inside the key */
} CounterKey;

typedef struct Delta
{
	CounterKey	key;
	int64		coupons;
	int64		archived;
	int64		sent;
	int64		used;
	int64		redemptions;
	Datum		discount;		/* numeric, or 0 for none */
} Delta;

static Stmt upsert_stmt = STMT(
	"INSERT INTO coupon.campaign_counter AS k (campaign_id, slot, coupons, archived, sent, used, redemptions, discount)"
	" VALUES ($1, $2::smallint, $3, $4, $5, $6, $7, $8)"
	" ON CONFLICT (campaign_id, slot) DO UPDATE"
	" SET coupons = k.coupons + EXCLUDED.coupons, archived = k.archived + EXCLUDED.archived,"
	"     sent = k.sent + EXCLUDED.sent, used = k.used + EXCLUDED.used,"
	"     redemptions = k.redemptions + EXCLUDED.redemptions, discount = k.discount + EXCLUDED.discount",
	8, INT8OID, INT4OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, NUMERICOID);

static Stmt redemptions_stmt = STMT(
	"SELECT count(*), coalesce(sum(discount + delivery_discount + payment_discount), 0)"
	" FROM coupon.redemption WHERE code = $1::coupon.code AND released_at IS NULL",
	1, TEXTOID);

static Stmt campaign_stmt = STMT(
	"SELECT campaign_id FROM coupon.shop_coupon WHERE code = $1::coupon.code", 1, TEXTOID);

static HTAB *
deltas_create(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CounterKey);
	ctl.entrysize = sizeof(Delta);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("coupon campaign deltas", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static Delta *
delta(HTAB *h, int64 campaign_id, int slot)
{
	CounterKey	key;
	bool		found;
	Delta	   *d;

	memset(&key, 0, sizeof(key));
	key.campaign_id = campaign_id;
	key.slot = slot;
	d = hash_search(h, &key, HASH_ENTER, &found);
	if (!found)
	{
		memset(((char *) d) + sizeof(CounterKey), 0, sizeof(Delta) - sizeof(CounterKey));
		d->discount = (Datum) 0;
	}
	return d;
}

/* the context the deltas live in, for the length of one trigger call */
static MemoryContext delta_cxt = NULL;

static void
add_discount(Delta *d, Datum amount, int sign)
{
	MemoryContext old = MemoryContextSwitchTo(delta_cxt);

	amount = sign < 0 ? DirectFunctionCall1(numeric_uminus, amount) : datumCopy(amount, false, -1);
	d->discount = d->discount == (Datum) 0 ? amount
		: DirectFunctionCall2(numeric_add, d->discount, amount);
	MemoryContextSwitchTo(old);
}

static int
key_cmp(const void *a, const void *b)
{
	const Delta *x = *(Delta *const *) a;
	const Delta *y = *(Delta *const *) b;

	if (x->key.campaign_id != y->key.campaign_id)
		return x->key.campaign_id < y->key.campaign_id ? -1 : 1;
	return x->key.slot < y->key.slot ? -1 : x->key.slot > y->key.slot;
}

/* one upsert per campaign and slot that changed, in key order (no deadlock between two writers) */
static void
deltas_write(HTAB *h)
{
	long		n = hash_get_num_entries(h);
	Delta	  **all;
	HASH_SEQ_STATUS seq;
	Delta	   *d;
	long		i = 0;

	if (n == 0)
		return;
	all = palloc(sizeof(Delta *) * n);
	hash_seq_init(&seq, h);
	while ((d = hash_seq_search(&seq)) != NULL)
		all[i++] = d;
	qsort(all, n, sizeof(Delta *), key_cmp);
	for (i = 0; i < n; i++)
	{
		Datum		args[8];
		Datum		zero = DirectFunctionCall1(int8_numeric, Int64GetDatum(0));

		d = all[i];
		if (d->coupons == 0 && d->archived == 0 && d->sent == 0 && d->used == 0 && d->redemptions == 0 &&
			(d->discount == (Datum) 0 || DatumGetBool(DirectFunctionCall2(numeric_eq, d->discount, zero))))
			continue;
		args[0] = Int64GetDatum(d->key.campaign_id);
		args[1] = Int32GetDatum((int32) d->key.slot);
		args[2] = Int64GetDatum(d->coupons);
		args[3] = Int64GetDatum(d->archived);
		args[4] = Int64GetDatum(d->sent);
		args[5] = Int64GetDatum(d->used);
		args[6] = Int64GetDatum(d->redemptions);
		args[7] = d->discount == (Datum) 0 ? zero : d->discount;
		stmt_exec(&upsert_stmt, args, NULL, false, 0);
	}
}

static int
attnum(TupleDesc desc, const char *name)
{
	int			n = SPI_fnumber(desc, name);

	if (n <= 0)
		elog(ERROR, "coupon: column \"%s\" is missing", name);
	return n;
}

/* ---------------------------------------------------------------------
 * coupon.count_coupons(): on coupon.shop_coupon
 * --------------------------------------------------------------------- */

typedef struct CouponCols
{
	int			code, campaign, archived, sent, used;
} CouponCols;

typedef struct CouponRow
{
	bool		in_campaign;
	int64		campaign_id;
	int			slot;
	bool		archived, sent, used;
	struct varlena *raw;		/* the code as stored, to compare */
} CouponRow;

static void
read_coupon(TupleTableSlot *slot, const CouponCols *c, CouponRow *r, bool bulk)
{
	bool		isnull;
	Datum		d;

	d = slot_getattr(slot, c->campaign, &isnull);
	r->in_campaign = !isnull;
	r->campaign_id = isnull ? 0 : DatumGetInt64(d);
	(void) slot_getattr(slot, c->archived, &isnull);
	r->archived = !isnull;
	(void) slot_getattr(slot, c->sent, &isnull);
	r->sent = !isnull;
	(void) slot_getattr(slot, c->used, &isnull);
	r->used = !isnull;
	d = slot_getattr(slot, c->code, &isnull);
	r->raw = isnull ? NULL : (struct varlena *) PG_DETOAST_DATUM_COPY(d);
	r->slot = bulk ? BULK_SLOT : r->raw ? voucher_slot(r->raw) : 0;
}

/* what a row counts, with sign +1 (it arrives) or -1 (it leaves) */
static void
count_row(HTAB *h, const CouponRow *r, int sign, bool with_redemptions)
{
	Delta	   *d;

	if (!r->in_campaign)
		return;
	d = delta(h, r->campaign_id, r->slot);
	d->coupons += sign * (r->archived ? 0 : 1);
	d->archived += sign * (r->archived ? 1 : 0);
	d->sent += sign * (r->sent ? 1 : 0);
	d->used += sign * (r->used ? 1 : 0);
	/* only a used coupon has redemptions */
	if (with_redemptions && r->used && r->raw != NULL)
	{
		Datum		arg = CStringGetTextDatum(code_to_cstring(r->raw));

		stmt_exec(&redemptions_stmt, &arg, NULL, false, 1);
		if (spi_int8(0, 1) != 0)
		{
			bool		isnull;

			d->redemptions += sign * spi_int8(0, 1);
			add_discount(d, spi_datum_copy(0, 2, &isnull), sign);
		}
		SPI_freetuptable(SPI_tuptable);
	}
}

static bool
same_code(const CouponRow *a, const CouponRow *b)
{
	return a->raw != NULL && b->raw != NULL && VARSIZE_ANY(a->raw) == VARSIZE_ANY(b->raw) &&
		memcmp(a->raw, b->raw, VARSIZE_ANY(a->raw)) == 0;
}

/* ---------------------------------------------------------------------
 * coupon.count_redemptions(): on coupon.redemption
 * --------------------------------------------------------------------- */

typedef struct RedemptionCols
{
	int			code, released, discount, delivery, payment;
} RedemptionCols;

/* adds (sign +1) or takes away (-1) one redemption in its coupon's campaign */
static void
count_redemption(HTAB *h, TupleTableSlot *slot, const RedemptionCols *c, int sign, bool bulk)
{
	bool		isnull, n1, n2, n3;
	Datum		code = slot_getattr(slot, c->code, &isnull);
	struct varlena *raw;
	Datum		arg, amount;
	Delta	   *d;

	if (isnull)
		return;
	raw = (struct varlena *) PG_DETOAST_DATUM(code);
	arg = CStringGetTextDatum(code_to_cstring(raw));
	if (stmt_exec(&campaign_stmt, &arg, NULL, false, 1) == 0 || spi_isnull(0, 1))
	{
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	d = delta(h, spi_int8(0, 1), bulk ? BULK_SLOT : voucher_slot(raw));
	SPI_freetuptable(SPI_tuptable);
	d->redemptions += sign;
	amount = slot_getattr(slot, c->discount, &n1);
	if (!n1)
	{
		Datum		del = slot_getattr(slot, c->delivery, &n2);
		Datum		pay = slot_getattr(slot, c->payment, &n3);

		if (!n2)
			amount = DirectFunctionCall2(numeric_add, amount, del);
		if (!n3)
			amount = DirectFunctionCall2(numeric_add, amount, pay);
		add_discount(d, amount, sign);
	}
}

/* ---------------------------------------------------------------------
 * Reading a statement's transition tables, old and new rows in step
 * --------------------------------------------------------------------- */

typedef struct TransitionScan
{
	TriggerData *td;
	TupleTableSlot *olds;		/* NULL without an old table */
	TupleTableSlot *news;
	bool		have_old;		/* the current pair */
	bool		have_new;
	bool		bulk;			/* more than BULK_ROWS rows: count in BULK_SLOT */
	HTAB	   *deltas;
	MemoryContext caller, work, row;
} TransitionScan;

static void
scan_begin(TransitionScan *sc, FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		elog(ERROR, "%s must be an AFTER ... FOR EACH STATEMENT trigger", name);
	memset(sc, 0, sizeof(*sc));
	sc->td = td;
	sc->bulk = (td->tg_oldtable && tuplestore_tuple_count(td->tg_oldtable) > BULK_ROWS) ||
		(td->tg_newtable && tuplestore_tuple_count(td->tg_newtable) > BULK_ROWS);
	desc = RelationGetDescr(td->tg_relation);
	sc->work = AllocSetContextCreate(CurrentMemoryContext, "coupon campaign counter", ALLOCSET_DEFAULT_SIZES);
	sc->caller = MemoryContextSwitchTo(sc->work);
	SPI_connect();
	MemoryContextSwitchTo(sc->work);
	sc->row = AllocSetContextCreate(sc->work, "row", ALLOCSET_SMALL_SIZES);
	delta_cxt = sc->work;
	sc->deltas = deltas_create();
	if (td->tg_oldtable)
	{
		sc->olds = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
		tuplestore_rescan(td->tg_oldtable);
	}
	if (td->tg_newtable)
	{
		sc->news = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
		tuplestore_rescan(td->tg_newtable);
	}
}

/*
 * The next row (pair of rows, for an UPDATE: they come in the same order);
 * then works in the row context.  The slots own the tuples they read (from
 * disk, past work_mem), so they read outside it.
 */
static bool
scan_next(TransitionScan *sc)
{
	MemoryContextSwitchTo(sc->work);
	MemoryContextReset(sc->row);
	CHECK_FOR_INTERRUPTS();
	sc->have_old = sc->olds && tuplestore_gettupleslot(sc->td->tg_oldtable, true, false, sc->olds);
	sc->have_new = sc->news && tuplestore_gettupleslot(sc->td->tg_newtable, true, false, sc->news);
	if (!sc->have_old && !sc->have_new)
		return false;
	MemoryContextSwitchTo(sc->row);
	return true;
}

/* writes the figures and cleans up */
static void
scan_end(TransitionScan *sc)
{
	MemoryContextSwitchTo(sc->work);
	deltas_write(sc->deltas);
	if (sc->olds)
		ExecDropSingleTupleTableSlot(sc->olds);
	if (sc->news)
		ExecDropSingleTupleTableSlot(sc->news);
	SPI_finish();
	MemoryContextSwitchTo(sc->caller);
	MemoryContextDelete(sc->work);
}

/* ---------------------------------------------------------------------
 * The triggers
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(campaign_count_coupons);
Datum
campaign_count_coupons(PG_FUNCTION_ARGS)
{
	TransitionScan		sc;
	TupleDesc	desc;
	CouponCols	c;

	scan_begin(&sc, fcinfo, "coupon.count_coupons()");
	desc = RelationGetDescr(sc.td->tg_relation);
	c.code = attnum(desc, "code");
	c.campaign = attnum(desc, "campaign_id");
	c.archived = attnum(desc, "archived_at");
	c.sent = attnum(desc, "sent_at");
	c.used = attnum(desc, "first_used_at");

	/*
	 * A row that keeps its code and campaign keeps its redemptions where
	 * they are; otherwise (and for inserts and deletes) they are looked up.
	 */
	while (scan_next(&sc))
	{
		CouponRow	o, n;
		bool		stays;

		if (sc.have_old)
			read_coupon(sc.olds, &c, &o, sc.bulk);
		if (sc.have_new)
			read_coupon(sc.news, &c, &n, sc.bulk);
		stays = sc.have_old && sc.have_new && same_code(&o, &n) && o.in_campaign == n.in_campaign &&
			o.campaign_id == n.campaign_id;
		if (stays && o.archived == n.archived && o.sent == n.sent && o.used == n.used)
			continue;			/* nothing counted changed: the common case of a checkout */
		if (sc.have_old)
			count_row(sc.deltas, &o, -1, !stays);
		if (sc.have_new)
			count_row(sc.deltas, &n, +1, !stays);
	}
	scan_end(&sc);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(campaign_count_redemptions);
Datum
campaign_count_redemptions(PG_FUNCTION_ARGS)
{
	TransitionScan		sc;
	TupleDesc	desc;
	RedemptionCols c;

	scan_begin(&sc, fcinfo, "coupon.count_redemptions()");
	desc = RelationGetDescr(sc.td->tg_relation);
	c.code = attnum(desc, "code");
	c.released = attnum(desc, "released_at");
	c.discount = attnum(desc, "discount");
	c.delivery = attnum(desc, "delivery_discount");
	c.payment = attnum(desc, "payment_discount");

	/* a redemption counts while it is not released */
	while (scan_next(&sc))
	{
		bool		old_counts = false, new_counts = false, isnull;

		if (sc.have_old)
		{
			(void) slot_getattr(sc.olds, c.released, &isnull);
			old_counts = isnull;
		}
		if (sc.have_new)
		{
			(void) slot_getattr(sc.news, c.released, &isnull);
			new_counts = isnull;
		}
		if (old_counts && !new_counts)
			count_redemption(sc.deltas, sc.olds, &c, -1, sc.bulk);
		else if (new_counts && !old_counts)
			count_redemption(sc.deltas, sc.news, &c, +1, sc.bulk);
	}
	scan_end(&sc);
	return PointerGetDatum(NULL);
}
