/*
 * local-spawn - the privileged step of local delivery in installed mode:
 * become the recipient's user, then run dotqmail-exec.
 *
 * Usage:  local-spawn RECIPIENT SENDER     (queue-run runs it)
 * fd 0:   the message; fd 2: dotqmail-exec's report.
 * Exit:   that of dotqmail-exec (0, 100, 111), or 111 when it cannot
 *         start it.
 *
 * Installed setuid root, executable only by the queue manager's group.
 * It trusts nothing it is given but the recipient's address: the user,
 * uid, gid and home come from its own route lookup (users/assign and
 * the system user database of the built-in instance), uid 0 is refused,
 * the paths are the built-in ones, and the environment is built from
 * scratch.  Only the queue manager's user (or root) may run it.  It keeps
 * root only until it has looked the user up.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "die.h"
#include "fmt.h"
#include "route.h"

int
main(int argc, char **argv)
{
	char prog[PATH_BYTES_MAX], rootvar[PATH_BYTES_MAX + 16];
	char libvar[PATH_BYTES_MAX + 16];
	char *env[4];
	struct route r;
	gid_t gid;
	int k;

	progname = "local-spawn";
	if (argc != 3)
		usage("RECIPIENT SENDER");
	if (strlen(argv[1]) > ADDR_BYTES_MAX ||
	    !is_clean(argv[1], strlen(argv[1])) ||
	    strlen(argv[2]) > ADDR_BYTES_MAX ||
	    !is_clean(argv[2], strlen(argv[2])))
		die(QEXIT_PERM, "malformed address");
	/* the paths now, while privileged() still ignores the environment */
	if (libexec_path(prog, sizeof prog, "dotqmail-exec") == -1 ||
	    fmt(rootvar, sizeof rootvar, "VDMAIL_ROOT=%s", vdmail_root()) ||
	    fmt(libvar, sizeof libvar, "VDMAIL_LIBEXEC=%s", vdmail_libexec()))
		die(QEXIT_TEMP, "path too long");
	if (geteuid() == 0 && getuid() != 0) {
		/* only the queue manager (or root) may ask */
		struct passwd *qm = getpwnam("vdmails");

		if (qm == NULL || getuid() != qm->pw_uid)
			die(QEXIT_TEMP, "only the queue manager may run me");
	}
	k = route_lookup(argv[1], &r);
	if (k == ROUTE_CONFIG)
		die(QEXIT_TEMP, "%s", route_error);
	if (k == ROUTE_BADADDR)
		die(QEXIT_PERM, "Sorry, I cannot route this address. (#5.1.3)");
	if (r.kind != ROUTE_LOCAL)
		/* queue-run found it local a moment ago: the control files
		 * are changing; try again rather than bounce */
		die(QEXIT_TEMP, "%s is not a local address now; will try again "
		    "(#4.3.0)", argv[1]);
	if (r.uid == 0)
		die(QEXIT_TEMP, "refusing to deliver as uid 0 (#4.3.0)");
	gid = (gid_t)r.gid;
	if (geteuid() == 0) {
		if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
		    setuid((uid_t)r.uid) == -1)
			die_sys(QEXIT_TEMP, "become uid %lu", r.uid);
		if (setuid(0) == 0)
			die(QEXIT_TEMP, "privileges not dropped");
	}
	env[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	env[1] = rootvar;
	env[2] = libvar;
	env[3] = NULL;
	execve(prog, (char *[]){ prog, r.user, r.home, r.local, r.dash, r.ext,
	    r.domain, argv[2], NULL }, env);
	die_sys(QEXIT_TEMP, "run %s", prog);
}
