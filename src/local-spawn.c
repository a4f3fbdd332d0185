/*
 * local-spawn - the privileged step of local delivery in installed mode:
 * become the recipient's user, then run dotqmail-exec.
 *
 * Usage:  local-spawn RECIPIENT SENDER     (queue-run runs it)
 *         local-spawn -m FD SENDER RECIPIENT [FD SENDER RECIPIENT]...
 *         (recipients of one user, their messages on descriptors FD:
 *         dotqmail-exec -m delivers them all)
 * fd 0:   the message; fd 2: dotqmail-exec's report (and fd 1 its
 *         result lines, with -m).
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
#include <fcntl.h>
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

enum { RCPTS_MAX = 100 };

static void
check_addr(const char *a)
{
	if (strlen(a) > ADDR_BYTES_MAX || !is_clean(a, strlen(a)))
		die(QEXIT_PERM, "malformed address");
}

/* Where recipient a goes: a local route of a user other than root. */
static void
lookup(const char *a, struct route *r)
{
	int k = route_lookup(a, r);

	if (k == ROUTE_CONFIG)
		die(QEXIT_TEMP, "%s", route_error);
	if (k == ROUTE_BADADDR)
		die(QEXIT_PERM, "Sorry, I cannot route this address. (#5.1.3)");
	if (r->kind != ROUTE_LOCAL)
		/* queue-run found it local a moment ago: the control files
		 * are changing; try again rather than bounce */
		die(QEXIT_TEMP, "%s is not a local address now; will try again "
		    "(#4.3.0)", a);
	if (r->uid == 0)
		die(QEXIT_TEMP, "refusing to deliver as uid 0 (#4.3.0)");
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		die(QEXIT_TEMP, "out of memory");
	return d;
}

int
main(int argc, char **argv)
{
	char prog[PATH_BYTES_MAX], rootvar[PATH_BYTES_MAX + 16];
	char libvar[PATH_BYTES_MAX + 16];
	char *env[4], *args[4 + 6 * RCPTS_MAX + 1];
	struct route r, o;
	gid_t gid;
	int many = argc > 1 && strcmp(argv[1], "-m") == 0, n;
	char **t;			/* FD SENDER RECIPIENT, each */
	char *plain[3];

	progname = "local-spawn";
	if (many ? argc < 5 || (argc - 2) % 3 != 0 ||
	    (argc - 2) / 3 > RCPTS_MAX : argc != 3)
		usage("RECIPIENT SENDER | -m FD SENDER RECIPIENT...");
	if (many) {
		t = argv + 2;
		n = (argc - 2) / 3;
	} else {
		plain[0] = "0";
		plain[1] = argv[2];
		plain[2] = argv[1];
		t = plain;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		char *end;
		long fd = strtol(t[3 * i], &end, 10);

		if (t[3 * i][0] == '\0' || *end != '\0' || fd < 0 ||
		    fd > 65535 || fd == 1 || fd == 2)
			die(QEXIT_PERM, "malformed descriptor");
		/* the caller's own, open before we open anything */
		if (fcntl((int)fd, F_GETFD) == -1)
			die(QEXIT_TEMP, "descriptor %ld is not open", fd);
		check_addr(t[3 * i + 1]);
		check_addr(t[3 * i + 2]);
	}
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
	lookup(t[2], &r);
	args[0] = prog;
	args[1] = "-m";
	args[2] = r.user;
	args[3] = r.home;
	for (int i = 0; i < n; i++) {
		const struct route *x = &r;

		if (i > 0) {
			lookup(t[3 * i + 2], &o);
			if (o.uid != r.uid || o.gid != r.gid ||
			    strcmp(o.user, r.user) != 0 ||
			    strcmp(o.home, r.home) != 0)
				die(QEXIT_TEMP, "%s is not %s's address now; "
				    "will try again (#4.3.0)", t[3 * i + 2],
				    r.user);
			x = &o;
		}
		args[4 + 6 * i] = t[3 * i];
		args[5 + 6 * i] = t[3 * i + 1];
		args[6 + 6 * i] = xstrdup(x->local);
		args[7 + 6 * i] = xstrdup(x->dash);
		args[8 + 6 * i] = xstrdup(x->ext);
		args[9 + 6 * i] = xstrdup(x->domain);
	}
	args[4 + 6 * n] = NULL;
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
	execve(prog, args, env);
	die_sys(QEXIT_TEMP, "run %s", prog);
}
