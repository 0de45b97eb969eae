/*
 * caller.h
 *		Who is calling: the role the coupon functions act for, and whether it
 *		is an administrator.  Inside SECURITY DEFINER functions the current
 *		user is the extension's owner; the role that called is the session's
 *		outer role (the login role, or the one chosen with SET ROLE).
 */
#ifndef COUPON_CALLER_H
#define COUPON_CALLER_H

#include "postgres.h"

typedef struct Caller
{
	Oid			roleid;
	char	   *role_name;
	bool		is_admin;		/* member of coupon_admin (or superuser) */
} Caller;

extern void caller_identify(Caller *c);

#endif							/* COUPON_CALLER_H */
