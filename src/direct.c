/*
 * direct.c
 *		Reading and writing the extension's own tables from C (direct.h).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/makefuncs.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "direct.h"

bool		coupon_direct_writes = true;

/* ---------------------------------------------------------------------
 * Which relations are the extension's: a generation for callers' caches
 * --------------------------------------------------------------------- */

#define MAX_TRACKED 64

static uint64 generation = 1;
static Oid	tracked[MAX_TRACKED];
static int	ntracked;
static bool callback_registered;

static void
forget_all(void)
{
	generation++;
	ntracked = 0;
}

static void
relcache_changed(Datum arg, Oid relid)
{
	int			i;

	if (!OidIsValid(relid))
	{
		forget_all();
		return;
	}
	for (i = 0; i < ntracked; i++)
		if (tracked[i] == relid)
		{
			forget_all();
			return;
		}
}

/* a label of an enum renamed or added: labels are read again */
static void
enum_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	forget_all();
}

uint64
direct_generation(void)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
		CacheRegisterSyscacheCallback(ENUMOID, enum_changed, (Datum) 0);
		callback_registered = true;
	}
	return generation;
}

Oid
direct_relid(const char *relname)
{
	Oid			nsp = get_namespace_oid("coupon", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	(void) direct_generation();
	if (OidIsValid(relid))
	{
		/* too many to watch: nothing stays cached */
		if (ntracked == MAX_TRACKED)
			forget_all();
		else
			tracked[ntracked++] = relid;
	}
	return relid;
}

Oid
direct_enum_label(Oid enumtypid, const char *label)
{
	return GetSysCacheOid2(ENUMTYPOIDNAME, Anum_pg_enum_oid,
						   ObjectIdGetDatum(enumtypid), CStringGetDatum(label));
}

/* ---------------------------------------------------------------------
 * Opening a table for a direct change
 * --------------------------------------------------------------------- */

/*
 * Does a trigger have to fire for cmd?  The internal foreign-key triggers
 * of an UPDATE fire only when a key column changes, which a direct writer
 * never does; those of an INSERT always check.
 */
static bool
needs_trigger(Relation rel, CmdType cmd)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	if (td == NULL)
		return false;
	for (i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (cmd == CMD_UPDATE && TRIGGER_FOR_UPDATE(t->tgtype))
		{
			/*
			 * a deferred foreign-key check of a row inserted earlier in the
			 * transaction must see its later versions: only SQL queues that
			 */
			if (RI_FKey_trigger_type(t->tgfoid) == RI_TRIGGER_NONE || t->tgdeferrable)
				return true;
		}
		else if (cmd == CMD_INSERT && TRIGGER_FOR_INSERT(t->tgtype))
			return true;
	}
	return false;
}

Relation
direct_open(Oid relid, CmdType cmd)
{
	bool		writes = cmd != CMD_SELECT;
	Relation	rel;
	TupleConstr *constr;

	/*
	 * A read-only transaction or a parallel worker: SQL says why not.  A
	 * permission hook (sepgsql, pgaudit's object audit) must see the access.
	 */
	if ((writes && (XactReadOnly || IsInParallelMode())) || ExecutorCheckPerms_hook != NULL)
		return NULL;
	/* dropped since its OID was read: the caller reads the names again */
	rel = try_table_open(relid, writes ? RowExclusiveLock : AccessShareLock);
	if (rel == NULL)
		return NULL;
	constr = RelationGetDescr(rel)->constr;
	if (rel->rd_rel->relkind != RELKIND_RELATION
		|| rel->rd_rel->relispartition
		|| rel->rd_rel->relforcerowsecurity
		|| (writes && (rel->rd_rules != NULL	/* relhasrules may outlive them */
					   || needs_trigger(rel, cmd)
					   || (constr != NULL && (constr->num_check > 0
											  || constr->has_generated_stored)))))
	{
		table_close(rel, NoLock);
		return NULL;
	}
	/* published without a replica identity: the same error as SQL */
	if (writes)
		CheckCmdReplicaIdentity(rel, cmd);
	return rel;
}

/* ---------------------------------------------------------------------
 * Reading, locking, writing
 * --------------------------------------------------------------------- */

int64
direct_count(Relation rel, Oid indexid, ScanKey keys, int nkeys,
			 Snapshot snap, TupleTableSlot *slot, int64 limit)
{
	Relation	index = index_open(indexid, AccessShareLock);
	IndexScanDesc scan = index_beginscan(rel, index, snap, nkeys, 0);
	int64		n = 0;

	index_rescan(scan, keys, nkeys, NULL, 0);
	while (n < limit && index_getnext_slot(scan, ForwardScanDirection, slot))
		n++;
	index_endscan(scan);
	index_close(index, NoLock);
	return n;
}

bool
direct_fetch(Relation rel, Oid indexid, ScanKey keys, int nkeys,
			 Snapshot snap, TupleTableSlot *slot)
{
	return direct_count(rel, indexid, keys, nkeys, snap, slot, 1) == 1;
}

TM_Result
direct_lock(Relation rel, TupleTableSlot *slot, Snapshot snap, bool latest)
{
	TM_FailureData tmfd;
	ItemPointerData tid = slot->tts_tid;

	return table_tuple_lock(rel, &tid, snap, slot, GetCurrentCommandId(false),
							LockTupleNoKeyExclusive, LockWaitBlock,
							latest ? TUPLE_LOCK_FLAG_FIND_LAST_VERSION : 0, &tmfd);
}

/*
 * New index entries for the row in slot (just inserted, or updated where
 * the update could not stay on its page), through the executor's own
 * routine: partial and expression indexes, uniqueness and exclusion are
 * all handled there.
 */
static void
insert_index_entries(Relation rel, TupleTableSlot *slot, bool update,
					 bool only_summarizing)
{
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	List	   *recheck;

	InitResultRelInfo(rri, rel, 0, NULL, 0);
	ExecOpenIndices(rri, false);
#if PG_VERSION_NUM >= 160000
	recheck = ExecInsertIndexTuples(rri, slot, estate, update, false, NULL, NIL,
									only_summarizing);
#elif PG_VERSION_NUM >= 140000
	recheck = ExecInsertIndexTuples(rri, slot, estate, update, false, NULL, NIL);
#else
	estate->es_result_relation_info = rri;
	recheck = ExecInsertIndexTuples(slot, estate, false, NULL, NIL);
#endif
	/* deferred uniqueness would need the executor's after-trigger queue */
	if (recheck != NIL)
		elog(ERROR, "coupon: deferrable constraint on \"%s\" cannot be checked directly",
			 RelationGetRelationName(rel));
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
}

void
direct_update(Relation rel, TupleTableSlot *old, TupleTableSlot *new, Snapshot snap)
{
#if PG_VERSION_NUM >= 160000
	TU_UpdateIndexes update_indexes;

	simple_table_tuple_update(rel, &old->tts_tid, new, snap, &update_indexes);
	if (update_indexes != TU_None)
		insert_index_entries(rel, new, true, update_indexes == TU_Summarizing);
#else
	bool		update_indexes;

	simple_table_tuple_update(rel, &old->tts_tid, new, snap, &update_indexes);
	if (update_indexes)
		insert_index_entries(rel, new, true, false);
#endif
}

void
direct_insert(Relation rel, TupleTableSlot *slot)
{
	simple_table_tuple_insert(rel, slot);
	insert_index_entries(rel, slot, false, false);
}

void
direct_new_row(TupleTableSlot *slot, TupleTableSlot *from)
{
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	if (from != NULL)
	{
		slot_getallattrs(from);
		memcpy(slot->tts_values, from->tts_values, natts * sizeof(Datum));
		memcpy(slot->tts_isnull, from->tts_isnull, natts * sizeof(bool));
	}
	else
		memset(slot->tts_isnull, true, natts * sizeof(bool));
	ExecStoreVirtualTuple(slot);
}
