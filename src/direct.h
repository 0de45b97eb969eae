/*
 * direct.h
 *		Reading and writing the extension's own tables from C, through the
 *		table and index access methods, without planning SQL: for the hot
 *		path of a state change (one index lookup, one row lock, one update,
 *		one insert), where the executor's set-up per statement costs more
 *		than the work itself.
 *
 * A table is written directly only when nothing but the row change has to
 * happen: an ordinary table, not a partition, without rules, without row
 * or statement triggers for that command (the internal foreign-key
 * triggers of an UPDATE excepted unless deferrable: the direct writers
 * never change a key column), without CHECK constraints, stored generated
 * columns or forced row-level security, and no permission hook (sepgsql,
 * pgaudit) loaded.  Otherwise, and whenever
 * coupon.direct_writes is off (tables distributed with Citus: only SQL is
 * routed to their shards), the caller goes through SQL instead.
 */
#ifndef COUPON_DIRECT_H
#define COUPON_DIRECT_H

#include "postgres.h"

#include "access/skey.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "nodes/nodes.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

extern bool coupon_direct_writes;

/*
 * Bumped whenever a table of the extension (or the whole relation cache)
 * is invalidated: callers keep OIDs and column numbers together with the
 * generation they were read in, and read them again when it has moved.
 */
extern uint64 direct_generation(void);

/* a relation of schema coupon by name (InvalidOid if there is none) */
extern Oid	direct_relid(const char *relname);

/* a label of an enum type, as its OID (InvalidOid if there is none) */
extern Oid	direct_enum_label(Oid enumtypid, const char *label);

/*
 * Open a table for cmd (CMD_SELECT, CMD_UPDATE or CMD_INSERT) with the
 * lock that command takes; NULL when cmd cannot be done directly (see
 * above) or the table is gone.  Taking the lock may process invalidations:
 * callers check direct_generation() again after opening.  Closed with
 * table_close(rel, NoLock): the lock is kept.
 */
extern Relation direct_open(Oid relid, CmdType cmd);

/*
 * The row of rel that index indexid finds with the keys (btree equality
 * or range keys on its leading columns), visible to snap, into slot.
 * False when there is none.
 */
extern bool direct_fetch(Relation rel, Oid indexid, ScanKey keys, int nkeys,
						 Snapshot snap, TupleTableSlot *slot);

/* how many rows the index finds with the keys, counting up to limit; the
 * last one counted is left in slot */
extern int64 direct_count(Relation rel, Oid indexid, ScanKey keys, int nkeys,
						  Snapshot snap, TupleTableSlot *slot, int64 limit);

/*
 * Lock the row in slot for update, waiting for a concurrent writer.
 * latest: follow a concurrent update to the row's latest version (in READ
 * COMMITTED), which is then in slot.  Anything but TM_Ok means the row is
 * not locked.
 */
extern TM_Result direct_lock(Relation rel, TupleTableSlot *slot,
							 Snapshot snap, bool latest);

/* Replace the locked row of old by the values of new; indexes follow. */
extern void direct_update(Relation rel, TupleTableSlot *old,
						  TupleTableSlot *new, Snapshot snap);

/* Insert the values of slot; indexes follow. */
extern void direct_insert(Relation rel, TupleTableSlot *slot);

/*
 * A new virtual tuple in slot: every column null (the caller sets values
 * and clears isnull), or a copy of the row in from.
 */
extern void direct_new_row(TupleTableSlot *slot, TupleTableSlot *from);

#endif							/* COUPON_DIRECT_H */
