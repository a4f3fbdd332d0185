/*
 * vuser - manage vdmail's virtual POP users.
 *
 * Usage:  vuser add ADDRESS      password from stdin (one line) or asked
 *         vuser passwd ADDRESS   twice on the terminal
 *         vuser del ADDRESS
 *         vuser list DOMAIN
 * Exit:   0 done; 100 bad usage or refused input (the reason on stderr);
 *         111 trouble.
 *
 * add makes HOME/vpop/LOCAL/Maildir/ and HOME/.qmail-EXT ("./vpop/LOCAL/
 * Maildir/") under the home of the user that delivery routes ADDRESS to
 * (the domain's master user), then adds "ADDRESS:HASH" to ROOT/users/
 * passwd.  Every change of the password file is a whole new file
 * renamed into place, under a lock, so readers see the old or the new.
 * del removes the line and the .qmail file, and keeps the Maildir.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "atomic.h"
#include "control.h"
#include "die.h"
#include "dotqmail.h"
#include "fmt.h"
#include "maildir.h"
#include "route.h"
#include "vpasswd.h"
#include "xio.h"

enum {
	PASSWORD_MIN = 8,
	PASSWD_FILE_MAX = 64 * 1024 * 1024
};

static const char synopsis[] = "add|passwd|del ADDRESS | list DOMAIN";

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* One line from fd 0, without echo on a terminal. */
static void
read_line(const char *prompt, char *buf, size_t size)
{
	struct termios t, quiet;
	int tty = isatty(0);
	size_t n = 0;

	if (tty) {
		if (write_all(2, prompt, strlen(prompt)) == -1 ||
		    tcgetattr(0, &t) == -1)
			die_sys(QEXIT_TEMP, "terminal");
		quiet = t;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	for (;;) {
		char c;
		ssize_t r = xread(0, &c, 1);

		if (r < 0)
			die_sys(QEXIT_TEMP, "read password");
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= size) {
			if (tty)
				tcsetattr(0, TCSAFLUSH, &t);
			die(QEXIT_PERM, "password longer than %zu bytes",
			    size - 1);
		}
		buf[n++] = c;
	}
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &t);
		(void)write_all(2, "\n", 1);
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
}

static void
get_password(const char *addr, char *pw, size_t size)
{
	char again[PASSWORD_BYTES_MAX + 1];
	const char *at = strchr(addr, '@');
	size_t n;
	int same_char = 1;

	read_line("password: ", pw, size);
	if (isatty(0)) {
		read_line("again: ", again, sizeof again);
		if (strcmp(pw, again) != 0) {
			wipe(again, sizeof again);
			die(QEXIT_PERM, "the passwords differ");
		}
		wipe(again, sizeof again);
	}
	n = strlen(pw);
	for (size_t i = 1; i < n; i++)
		same_char &= pw[i] == pw[0];
	if (n < PASSWORD_MIN)
		die(QEXIT_PERM, "password too short: at least %d characters",
		    PASSWORD_MIN);
	if (!is_clean(pw, n))
		die(QEXIT_PERM, "password holds control characters");
	if (same_char || (at != NULL && n == (size_t)(at - addr) &&
	    strncasecmp(pw, addr, n) == 0) || strcasecmp(pw, addr) == 0)
		die(QEXIT_PERM, "password too weak: it repeats one character "
		    "or is the address");
}

static void
make_hash(const char *pw, char *hash, size_t size)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	const char *setting = crypt_gensalt(NULL, 0, NULL, 0);
	const char *h;

	if (cd == NULL)
		die(QEXIT_TEMP, "out of memory");
	if (setting == NULL)
		die_sys(QEXIT_TEMP, "crypt_gensalt");
	h = crypt_r(pw, setting, cd);
	if (h == NULL || h[0] == '*' || fmt(hash, size, "%s", h))
		die(QEXIT_TEMP, "crypt failed");
	wipe(cd, sizeof *cd);
	free(cd);
}

/* The password file and its lock: hold the lock, then read. */
static char path[PATH_BYTES_MAX];

static void
lock_passwd(void)
{
	char lock[PATH_BYTES_MAX];
	struct flock fl;
	int fd;

	if (root_path(path, sizeof path, "users/passwd") == -1 ||
	    root_path(lock, sizeof lock, "users/passwd.lock") == -1)
		die_sys(QEXIT_TEMP, "users/passwd");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		die_sys(QEXIT_TEMP, "open %s", lock);
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLKW, &fl) == -1)
		die_sys(QEXIT_TEMP, "lock %s", lock);
	/* held until exit */
}

static char *
read_passwd(size_t *len)
{
	struct stat st;
	char *data;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd == -1) {
		if (errno != ENOENT)
			die_sys(QEXIT_TEMP, "open %s", path);
		data = strdup("");
		if (data == NULL)
			die(QEXIT_TEMP, "out of memory");
		return data;
	}
	if (fstat(fd, &st) == -1 || st.st_size > PASSWD_FILE_MAX)
		die(QEXIT_TEMP, "%s: unreadable or too large", path);
	data = malloc((size_t)st.st_size + 2);
	if (data == NULL)
		die(QEXIT_TEMP, "out of memory");
	while (n < (size_t)st.st_size) {
		ssize_t r = xread(fd, data + n, (size_t)st.st_size - n);

		if (r < 0)
			die_sys(QEXIT_TEMP, "read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > 0 && data[n - 1] != '\n')
		data[n++] = '\n';
	data[n] = '\0';
	*len = n;
	return data;
}

/*
 * Write the file again with addr's line replaced by newline (NULL:
 * removed; when addr has no line, newline is added).  Returns whether
 * addr had a line.
 */
static int
rewrite(const char *addr, const char *newline)
{
	size_t len, al = strlen(addr), outn = 0;
	char *data = read_passwd(&len), *outb, *p;
	int found = 0;

	outb = malloc(len + (newline ? strlen(newline) : 0) + 2);
	if (outb == NULL)
		die(QEXIT_TEMP, "out of memory");
	for (p = data; *p != '\0';) {
		char *nl = strchr(p, '\n');
		size_t ll = (size_t)(nl - p) + 1;

		if (ll > al && p[al] == ':' && strncasecmp(p, addr, al) == 0) {
			found = 1;
			if (newline != NULL) {
				memcpy(outb + outn, newline, strlen(newline));
				outn += strlen(newline);
			}
		} else {
			memcpy(outb + outn, p, ll);
			outn += ll;
		}
		p = nl + 1;
	}
	if (!found && newline != NULL) {
		memcpy(outb + outn, newline, strlen(newline));
		outn += strlen(newline);
	}
	if (write_file_atomic(path, outb, outn, 0600) == -1)
		die_sys(QEXIT_TEMP, "write %s", path);
	wipe(outb, outn);
	free(outb);
	free(data);
	return found;
}

static void
route_of(const char *addr, struct route *r)
{
	int k = route_lookup(addr, r);

	if (k == ROUTE_CONFIG)
		die(QEXIT_TEMP, "%s", route_error);
	if (k != ROUTE_OK || r->kind != ROUTE_LOCAL)
		die(QEXIT_PERM, "%s: not a domain of this host (control/"
		    "virtualdomains or control/locals)", addr);
	if (r->uid == 0)
		die(QEXIT_PERM, "%s: its domain belongs to uid 0", addr);
}

static void
dotqmail_path(const struct route *r, char *buf, size_t size)
{
	char folded[ADDR_BYTES_MAX + 1];

	dotqmail_fold(folded, sizeof folded, r->ext);
	if (fmt(buf, size, "%s/.qmail%s%s", r->home, folded[0] ? r->dash : "",
	    folded))
		die(QEXIT_PERM, "name too long");
}

static void
owned(const char *p, const struct route *r)
{
	if (geteuid() == 0 && chown(p, (uid_t)r->uid, (gid_t)r->gid) == -1)
		die_sys(QEXIT_TEMP, "chown %s", p);
}

static void
add(const char *addr)
{
	char pw[PASSWORD_BYTES_MAX + 1], hash[HASH_BYTES_MAX + 1];
	char maildir[PATH_BYTES_MAX], dir[PATH_BYTES_MAX];
	char dq[PATH_BYTES_MAX], text[PATH_BYTES_MAX + 8], line[2048];
	const char *at = strrchr(addr, '@');
	struct route r;
	struct stat st;

	route_of(addr, &r);
	lock_passwd();
	if (vpasswd_find(addr, hash, sizeof hash) != 0)
		die(QEXIT_PERM, "%s: already a user", addr);
	dotqmail_path(&r, dq, sizeof dq);
	if (fmt(text, sizeof text, "./vpop/%.*s/Maildir/\n", (int)(at - addr),
	    addr))
		die(QEXIT_PERM, "name too long");
	if (lstat(dq, &st) == 0) {
		char old[PATH_BYTES_MAX + 8];
		int fd = open(dq, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd == -1 ? -1 : xread(fd, old, sizeof old - 1);

		if (fd != -1)
			close(fd);
		if (n < 0 || (size_t)n != strlen(text) ||
		    memcmp(old, text, (size_t)n) != 0)
			die(QEXIT_PERM, "%s already exists and delivers "
			    "elsewhere: remove it first", dq);
	}
	get_password(addr, pw, sizeof pw);
	make_hash(pw, hash, sizeof hash);
	wipe(pw, sizeof pw);

	if (vpasswd_maildir(addr, &r, maildir, sizeof maildir) == -1 ||
	    fmt(dir, sizeof dir, "%s/vpop", r.home))
		die(QEXIT_PERM, "name too long");
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		die_sys(QEXIT_TEMP, "mkdir %s", dir);
	owned(dir, &r);
	if (fmt(dir, sizeof dir, "%s/vpop/%.*s", r.home, (int)(at - addr),
	    addr))
		die(QEXIT_PERM, "name too long");
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		die_sys(QEXIT_TEMP, "mkdir %s", dir);
	owned(dir, &r);
	if (maildir_make(maildir) == -1)
		die_sys(QEXIT_TEMP, "maildirmake %s", maildir);
	owned(maildir, &r);
	for (int i = 0; i < 3; i++) {
		char sub[PATH_BYTES_MAX + 8];

		(void)fmt(sub, sizeof sub, "%s%s", maildir,
		    i == 0 ? "tmp" : i == 1 ? "new" : "cur");
		owned(sub, &r);
	}
	if (write_file_atomic(dq, text, strlen(text), 0644) == -1)
		die_sys(QEXIT_TEMP, "write %s", dq);
	owned(dq, &r);
	if (fmt(line, sizeof line, "%s:%s\n", addr, hash))
		die(QEXIT_PERM, "line too long");
	rewrite(addr, line);
	printf("vuser: added %s; mail goes to %s\n", addr, maildir);
}

int
main(int argc, char **argv)
{
	char hash[HASH_BYTES_MAX + 1], line[2048];

	progname = "vuser";
	if (argc != 3)
		usage(synopsis);
	umask(077);
	if (strcmp(argv[1], "list") == 0) {
		size_t len, dl = strlen(argv[2]);
		char *data, *p;

		if (!domain_valid(argv[2]))
			die(QEXIT_PERM, "%s: not a domain", argv[2]);
		if (root_path(path, sizeof path, "users/passwd") == -1)
			die_sys(QEXIT_TEMP, "users/passwd");
		data = read_passwd(&len);
		for (p = data; *p != '\0';) {
			char *nl = strchr(p, '\n'), *colon;

			*nl = '\0';
			colon = strchr(p, ':');
			if (p[0] != '#' && colon != NULL &&
			    (size_t)(colon - p) > dl + 1 &&
			    colon[-(long)dl - 1] == '@' &&
			    strncasecmp(colon - dl, argv[2], dl) == 0)
				printf("%.*s\n", (int)(colon - p), p);
			p = nl + 1;
		}
		free(data);
	} else if (!vuser_address_ok(argv[2])) {
		die(QEXIT_PERM, "%s: not an address vuser takes (lowercase "
		    "local@domain; letters, digits and . _ + - before @)",
		    argv[2]);
	} else if (strcmp(argv[1], "add") == 0) {
		add(argv[2]);
	} else if (strcmp(argv[1], "passwd") == 0) {
		char pw[PASSWORD_BYTES_MAX + 1];

		lock_passwd();
		if (vpasswd_find(argv[2], hash, sizeof hash) <= 0)
			die(QEXIT_PERM, "%s: no such user", argv[2]);
		get_password(argv[2], pw, sizeof pw);
		make_hash(pw, hash, sizeof hash);
		wipe(pw, sizeof pw);
		if (fmt(line, sizeof line, "%s:%s\n", argv[2], hash))
			die(QEXIT_PERM, "line too long");
		rewrite(argv[2], line);
	} else if (strcmp(argv[1], "del") == 0) {
		struct route r;
		char dq[PATH_BYTES_MAX], maildir[PATH_BYTES_MAX];

		lock_passwd();
		if (vpasswd_find(argv[2], hash, sizeof hash) <= 0)
			die(QEXIT_PERM, "%s: no such user", argv[2]);
		rewrite(argv[2], NULL);
		route_of(argv[2], &r);
		dotqmail_path(&r, dq, sizeof dq);
		if (unlink(dq) == -1 && errno != ENOENT)
			die_sys(QEXIT_TEMP, "remove %s", dq);
		if (vpasswd_maildir(argv[2], &r, maildir, sizeof maildir) == 0)
			printf("vuser: removed %s; its mail is kept in %s\n",
			    argv[2], maildir);
	} else {
		usage(synopsis);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die_sys(QEXIT_TEMP, "write stdout");
	return QEXIT_OK;
}
