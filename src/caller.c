/*
 * caller.c
 *		Who is calling (caller.h), and coupon.calling_role().
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "caller.h"

void
caller_identify(Caller *c)
{
	Oid			admin = get_role_oid("coupon_admin", true);

	c->roleid = GetOuterUserId();
	c->role_name = GetUserNameFromId(c->roleid, false);
	c->is_admin = OidIsValid(admin) && has_privs_of_role(c->roleid, admin);
}

PG_FUNCTION_INFO_V1(calling_role);
Datum
calling_role(PG_FUNCTION_ARGS)
{
	Name		result = palloc0(NAMEDATALEN);

	namestrcpy(result, GetUserNameFromId(GetOuterUserId(), false));
	PG_RETURN_NAME(result);
}
