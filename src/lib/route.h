/*
 * route - where a recipient goes, by qmail's rules.
 *
 *   domain in control/locals           -> local part as is
 *   domain in control/virtualdomains   -> PREPEND-local  (exact, then
 *                                         .suffix lines, then ":prepend")
 *   otherwise                          -> remote
 *
 * A local address L is then looked up in users/assign (=L exact lines,
 * then the longest +prefix line), then (installed mode only) in the
 * system user database (the longest "user" or "user-" prefix of L whose
 * account owns its home), then falls to the alias user (ROOT/alias) with
 * L as the extension ("alias-EXT" gives EXT).
 */
#ifndef VDMAIL_ROUTE_H
#define VDMAIL_ROUTE_H

#include "addr.h"
#include "control.h"

enum {
	USER_BYTES_MAX = 64,
	ASSIGN_LINES_MAX = 1000000
};

enum route_kind {
	ROUTE_LOCAL = 0,
	ROUTE_REMOTE = 1
};

enum route_source {
	SRC_ASSIGN,		/* users/assign */
	SRC_PASSWD,		/* the system user database */
	SRC_ALIAS		/* the alias user */
};

struct route {
	enum route_kind kind;
	enum route_source source;
	char domain[DOMAIN_BYTES_MAX + 1];	/* lowercased */
	char local[ADDR_BYTES_MAX + 1];		/* after virtualdomains */
	char user[USER_BYTES_MAX + 1];
	unsigned long uid, gid;
	char home[PATH_BYTES_MAX];
	char dash[2];				/* "-" or "" */
	char ext[ADDR_BYTES_MAX + 1];
};

enum route_status {
	ROUTE_OK = 0,
	ROUTE_BADADDR = -1,	/* not an address we can route: permanent */
	ROUTE_CONFIG = -2	/* a control file or users/assign is unreadable
				 * or malformed: temporary (errno, route_error) */
};

/* Why the last ROUTE_CONFIG happened: "users/assign:3: malformed line". */
extern char route_error[256];

/* Installed mode: the instance root belongs to root.  Else sandbox mode. */
int installed_mode(void);
int route_lookup(const char *addr, struct route *r);

#endif
