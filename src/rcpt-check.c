/*
 * rcpt-check - for smtp-accept in installed mode: would delivery
 * certainly bounce this address?  smtp-accept runs as a user that may
 * not read the homes of the mail users; this helper may.
 *
 * Usage:  rcpt-check      (one address on stdin)
 * Exit:   0 deliverable or not sure; 1 certainly not (no user, no .qmail
 *         file, no -default, not in the forwarding table); 111 trouble.
 *
 * Installed setuid root, executable only by the SMTP server's group.
 * The address from the network is read and looked up with the caller's
 * ids (the route lookup reads only the world-readable control files,
 * users/assign and the user database); root is taken back, from the
 * saved set-user-ID, only to become the user the home belongs to, which
 * it is read as.  It answers with its exit status and nothing else.
 */
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "die.h"
#include "line.h"
#include "rcptcheck.h"
#include "route.h"

int
main(int argc, char **argv)
{
	char line[ADDR_BYTES_MAX + 2];
	struct rbuf in;
	struct route r;
	size_t len;
	int k, dropped;

	progname = "rcpt-check";
	(void)argv;
	if (argc > 1)
		usage("<address");
	/* the built-in instance, whatever the caller's environment says,
	 * and the network's text not parsed as root */
	if (privileged())
		pin_builtin_paths();
	dropped = geteuid() == 0 && getuid() != 0;
	if (dropped && seteuid(getuid()) == -1)
		die_sys(QEXIT_TEMP, "give up root for the lookup");
	rbuf_init(&in, 0, 10000);
	k = rbuf_getline(&in, line, sizeof line, &len);
	if ((k != LINE_OK && k != LINE_PARTIAL) || len == 0 ||
	    !is_clean(line, len))
		return QEXIT_OK;	/* not ours to judge: not sure */
	k = route_lookup(line, &r);
	if (k == ROUTE_CONFIG)
		die(QEXIT_TEMP, "%s", route_error);
	if (k != ROUTE_OK || r.kind == ROUTE_REMOTE || r.ext[0] == '\0' ||
	    r.uid == 0)
		return QEXIT_OK;
	if (dropped && seteuid(0) == -1)
		die_sys(QEXIT_TEMP, "take root back");
	if (geteuid() == 0) {
		gid_t gid = (gid_t)r.gid;

		if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
		    setuid((uid_t)r.uid) == -1)
			die_sys(QEXIT_TEMP, "become uid %lu", r.uid);
		if (setuid(0) == 0)
			die(QEXIT_TEMP, "privileges not dropped");
	}
	return rcpt_deliverable_route(&r) == 0 ? RCPT_CHECK_NO : QEXIT_OK;
}
