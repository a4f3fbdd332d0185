/*
 * vcheckpassword - a checkpassword program for vdmail's virtual POP users
 * and the system's users.
 *
 * Usage:  vcheckpassword PROG [ARG...]
 * fd 3:   "user\0password\0timestamp\0" (at most 512 bytes).
 * On success it sets USER, HOME and MAILDIR, becomes the user (when run
 * as root: a virtual user becomes the master user of its domain), goes
 * to HOME and execs PROG.
 * Exit:   1 wrong user or password (the same way, and after the same
 *         work, for both); 2 bad usage; 111 temporary trouble.
 *
 * A user name with '@' is virtual, looked up in ROOT/users/passwd; one
 * without is a system user (the shadow database needs root).  uid 0
 * never logs in.
 */
#include <crypt.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "die.h"
#include "fmt.h"
#include "route.h"
#include "vpasswd.h"
#include "xio.h"

enum {
	INPUT_BYTES_MAX = 512,
	EXIT_BAD = 1,
	EXIT_USAGE = 2
};

static char input[INPUT_BYTES_MAX + 2];	/* one more: too long? */

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static _Noreturn void
bad(void)
{
	wipe(input, sizeof input);
	_exit(EXIT_BAD);
}

/* Constant-time: the time depends on the lengths only. */
static int
same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
	unsigned char d = la != lb;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
	return d == 0;
}

static int
check(const char *password, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	const char *h;
	int ok;

	if (cd == NULL)
		die(QEXIT_TEMP, "out of memory");
	/* an unknown user costs the same hashing, with a fresh setting of
	 * the default method (yescrypt) */
	const char *setting = hash[0] != '\0' ? hash :
	    crypt_gensalt(NULL, 0, NULL, 0);

	h = setting != NULL ? crypt_r(password, setting, cd) : NULL;
	ok = h != NULL && h[0] != '*' && hash[0] != '\0' && same(h, hash);
	wipe(cd, sizeof *cd);
	free(cd);
	return ok;
}

static void
become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return;		/* sandbox mode: we are the user already */
	if (uid == 0)
		bad();
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1)
		die_sys(QEXIT_TEMP, "drop privileges");
	if (setuid(0) == 0)
		die(QEXIT_TEMP, "privileges not dropped");
}

static void
set(const char *k, const char *v)
{
	if (setenv(k, v, 1) == -1)
		die_sys(QEXIT_TEMP, "setenv %s", k);
}

int
main(int argc, char **argv)
{
	char hash[HASH_BYTES_MAX + 1], maildir[PATH_BYTES_MAX];
	char home[PATH_BYTES_MAX];
	const char *user, *password;
	size_t n = 0, ul;
	uid_t uid;
	gid_t gid;

	progname = "vcheckpassword";
	if (argc < 2) {
		warn("usage: vcheckpassword PROG [ARG...]");
		_exit(EXIT_USAGE);
	}
	for (;;) {
		ssize_t r = xread(3, input + n, INPUT_BYTES_MAX + 1 - n);

		if (r < 0) {
			warn_sys("read fd 3");
			_exit(EXIT_USAGE);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > INPUT_BYTES_MAX)
			bad();		/* too long to be a login */
	}
	close(3);
	input[n] = '\0';
	user = input;
	ul = strlen(user);
	if (ul + 1 >= n)
		bad();
	password = user + ul + 1;
	if (ul == 0 || ul > ADDR_BYTES_MAX || !is_clean(user, ul))
		bad();

	hash[0] = '\0';
	if (strchr(user, '@') != NULL) {
		struct route r;
		char lower[ADDR_BYTES_MAX + 1];
		int k;

		for (size_t i = 0; i <= ul; i++)
			lower[i] = (char)(user[i] >= 'A' && user[i] <= 'Z' ?
			    user[i] - 'A' + 'a' : user[i]);
		k = vuser_address_ok(lower) ? vpasswd_find(lower, hash,
		    sizeof hash) : 0;
		if (k < 0)
			die_sys(QEXIT_TEMP, "users/passwd");
		if (!check(password, k > 0 ? hash : ""))
			bad();
		k = route_lookup(lower, &r);
		if (k == ROUTE_CONFIG)
			die(QEXIT_TEMP, "%s", route_error);
		if (k != ROUTE_OK || r.kind != ROUTE_LOCAL ||
		    vpasswd_maildir(lower, &r, maildir, sizeof maildir) == -1)
			bad();
		uid = (uid_t)r.uid;
		gid = (gid_t)r.gid;
		if (fmt(home, sizeof home, "%s", r.home))
			bad();
		user = lower;
	} else {
		struct passwd *pw = getpwnam(user);
		struct spwd *sp = pw != NULL && geteuid() == 0 ?
		    getspnam(user) : NULL;
		const char *h = sp != NULL ? sp->sp_pwdp : pw != NULL ?
		    pw->pw_passwd : "";

		if (fmt(hash, sizeof hash, "%s", h))
			hash[0] = '\0';
		if (!check(password, pw != NULL ? hash : "") || pw == NULL ||
		    pw->pw_uid == 0)
			bad();
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (fmt(home, sizeof home, "%s", pw->pw_dir) ||
		    fmt(maildir, sizeof maildir, "%s/Maildir/", pw->pw_dir))
			bad();
	}
	wipe(input + ul, n - ul);
	become(uid, gid);
	set("USER", user);
	set("HOME", home);
	set("MAILDIR", maildir);
	if (chdir(home) == -1)
		die_sys(QEXIT_TEMP, "chdir %s", home);
	execvp(argv[1], argv + 1);
	die_sys(QEXIT_TEMP, "exec %s", argv[1]);
}
