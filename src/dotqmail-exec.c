/*
 * dotqmail-exec - deliver one message to one local address by its .qmail
 * file, as qmail-local does; or (-m) to several addresses of one user.
 *
 * Usage:  dotqmail-exec USER HOME LOCAL DASH EXT DOMAIN SENDER
 *         dotqmail-exec -m USER HOME FD SENDER LOCAL DASH EXT DOMAIN [...]
 * fd 0:   the message (a regular file is read in place; a pipe is first
 *         copied to an unlinked temporary file); with -m, descriptor FD
 *         holds the message of each address (0, or another regular file).
 * Exit:   0 delivered (every line, or up to a program's exit 99); 100
 *         permanent failure, the reason on stderr; 111 temporary failure.
 *         With -m, that of the last address; each one before it gets a
 *         line "N TAB CODE TAB reason" on stdout (N from 1).
 *
 * Never runs as root.  Address text reaches programs only through their
 * environment and stdin, never through the command text.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "addr.h"
#include "control.h"
#include "die.h"
#include "dotqmail.h"
#include "fmt.h"
#include "inject.h"
#include "maildir.h"
#include "mbox.h"
#include "xio.h"

enum {
	DOTQMAIL_BYTES_MAX = 1024 * 1024,	/* a larger .qmail file is refused */
	HEADER_SCAN_MAX = 4 * 1024 * 1024,	/* header bytes read for loops */
	HOPS_MAX = 100,
	FORWARDS_MAX = 1000,
	REPORT_BYTES = 1000			/* of a program's output */
};	/* the mbox lock limits are src/lib/mbox.h's */

static const char *user, *home, *local, *dash, *ext, *domain, *sender;
static char recipient[2 * ADDR_BYTES_MAX + 2];
static char newsender[2 * ADDR_BYTES_MAX + 16];
static char dtline[2 * ADDR_BYTES_MAX + 32];
static char rpline[ADDR_BYTES_MAX + 32];
static char ufline[ADDR_BYTES_MAX + 64];
static const char *deflt;		/* $DEFAULT, or NULL */
static off_t base;			/* where the message starts on fd 0 */
static char *fwd[FORWARDS_MAX];
static size_t nfwd;


static const char LOOP_OWN[] = "This message is looping: it already has my "
    "Delivered-To line. (#5.4.6)";
static const char LOOP_HOPS[] = "This message is looping: it has too many "
    "Received or Delivered-To lines. (#5.4.6)";

/*
 * Loops: our own Delivered-To line, or too many hops, in the message on
 * msgfd from base.  NULL (none), the reason (permanent), or NULL with
 * *err set when the message cannot be read.
 */
static const char *
loop_reason(int msgfd, int *err)
{
	char buf[65536], line[1024];
	size_t ln = 0, total = 0, want = strlen(recipient);
	off_t off = base;
	unsigned hops = 0;
	int bol = 1, toolong = 0;

	*err = 0;
	for (;;) {
		ssize_t r = pread(msgfd, buf, sizeof buf, off);

		if (r < 0) {
			*err = errno;
			return NULL;
		}
		if (r == 0)
			return NULL;
		off += r;
		for (ssize_t i = 0; i < r; i++) {
			char c = buf[i];

			if (c != '\n') {
				if (ln < sizeof line - 1)
					line[ln++] = c;
				else
					toolong = 1;
				bol = 0;
				continue;
			}
			if (bol)
				return NULL;	/* the blank line ends the header */
			line[ln] = '\0';
			if (strncasecmp(line, "received:", 9) == 0)
				hops++;
			if (strncasecmp(line, "delivered-to:", 13) == 0) {
				const char *v = line + 13;

				hops++;
				while (*v == ' ' || *v == '\t')
					v++;
				if (!toolong && strlen(v) == want &&
				    strcasecmp(v, recipient) == 0)
					return LOOP_OWN;
			}
			if (hops >= HOPS_MAX)
				return LOOP_HOPS;
			ln = 0;
			toolong = 0;
			bol = 1;
		}
		total += (size_t)r;
		if (total > HEADER_SCAN_MAX)
			return NULL;
	}
}

static void
check_loops(void)
{
	int err;
	const char *why = loop_reason(0, &err);

	if (err != 0) {
		errno = err;
		die_sys(QEXIT_TEMP, "read message");
	}
	if (why != NULL)
		die(QEXIT_PERM, "%s", why);
}

static int paternal = -1;	/* control/paternalism, once read */

/* control/paternalism: 1 on, 0 off, -1 when it cannot be read. */
static int
paternal_on(void)
{
	if (paternal == -1) {
		unsigned long on = 1;

		if (control_ulong("paternalism", &on, 1) < 0)
			return -1;
		paternal = on != 0;
	}
	return paternal;
}

static void
paternalism(const char *path, const struct stat *st)
{
	int on = paternal_on();

	if (on < 0)
		die_sys(QEXIT_TEMP, "control/paternalism");
	if (on && (st->st_mode & 022) != 0)
		die(QEXIT_TEMP, "%s is writable by group or others: fix its mode (#4.7.0)", path);
}

/* "HOST2" etc.: s with its last k dot-parts cut off; "" when too few. */
static void
hostpart(char *dst, size_t size, const char *s, int k)
{
	size_t n = strlen(s);

	while (k-- > 0) {
		while (n > 0 && s[n - 1] != '.')
			n--;
		if (n == 0)
			break;
		n--;
	}
	snprintf(dst, size, "%.*s", (int)n, s);
}

/* "EXT2" etc.: s after its first k-1 dashes; "" when too few. */
static const char *
extpart(const char *s, int k)
{
	while (k-- > 1) {
		s = strchr(s, '-');
		if (s == NULL)
			return "";
		s++;
	}
	return s;
}

static char **
program_env(void)
{
	static char *env[40];
	static char vars[24][2 * ADDR_BYTES_MAX + 64];
	const char *inherit[] = { "VDMAIL_ROOT", "VDMAIL_LIBEXEC", "QMAILQUEUE",
	    "TZ" };
	char h[DOMAIN_BYTES_MAX + 1];
	size_t n = 0, v = 0;

#define SETV(...) do { \
	snprintf(vars[v], sizeof vars[v], __VA_ARGS__); \
	env[n++] = vars[v++]; \
} while (0)
	SETV("PATH=/usr/local/bin:/usr/bin:/bin");
	SETV("USER=%s", user);
	SETV("HOME=%s", home);
	SETV("LOCAL=%s", local);
	SETV("HOST=%s", domain);
	hostpart(h, sizeof h, domain, 1);
	SETV("HOST2=%s", h);
	hostpart(h, sizeof h, domain, 2);
	SETV("HOST3=%s", h);
	hostpart(h, sizeof h, domain, 3);
	SETV("HOST4=%s", h);
	SETV("EXT=%s", ext);
	SETV("EXT2=%s", extpart(ext, 2));
	SETV("EXT3=%s", extpart(ext, 3));
	SETV("EXT4=%s", extpart(ext, 4));
	if (deflt != NULL)
		SETV("DEFAULT=%s", deflt);
	SETV("SENDER=%s", sender);
	SETV("NEWSENDER=%s", newsender);
	SETV("RECIPIENT=%s", recipient);
	SETV("DTLINE=%s", dtline);
	SETV("RPLINE=%s", rpline);
	SETV("UFLINE=%s", ufline);
#undef SETV
	for (size_t i = 0; i < sizeof inherit / sizeof inherit[0]; i++) {
		const char *val = getenv(inherit[i]);

		if (val != NULL && strlen(val) < sizeof vars[v] - 32) {
			snprintf(vars[v], sizeof vars[v], "%s=%s", inherit[i],
			    val);
			env[n++] = vars[v++];
		}
	}
	env[n] = NULL;
	return env;
}

/*
 * A program must see the message and nothing else: fd 0 may be the
 * queue file, whose head holds the envelope (every recipient, Bcc ones
 * too).  Before the first program line the message is copied to an
 * unlinked temporary file, which becomes fd 0.
 */
static void
private_copy(void)
{
	char path[] = "/tmp/dotqmail-exec.XXXXXX", buf[65536];
	off_t off = base;
	int fd;

	if (base == 0)
		return;		/* already only the message */
	fd = mkstemp(path);
	if (fd == -1)
		die_sys(QEXIT_TEMP, "copy the message to %s", path);
	unlink(path);
	for (;;) {
		ssize_t r = pread(0, buf, sizeof buf, off);

		if (r < 0)
			die_sys(QEXIT_TEMP, "read message");
		if (r == 0)
			break;
		if (write_all(fd, buf, (size_t)r) == -1)
			die_sys(QEXIT_TEMP, "copy the message");
		off += r;
	}
	if (dup2(fd, 0) == -1)
		die_sys(QEXIT_TEMP, "copy the message");
	close(fd);
	base = 0;
}

/* Run "|command": 0 go on, 99 stop; a failure ends the program. */
static int
run_program(const char *cmd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	char report[REPORT_BYTES + 1], buf[4096];
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	size_t rn = 0;
	int p[2], status, code;
	pid_t pid;

	private_copy();
	if (lseek(0, base, SEEK_SET) == -1)
		die_sys(QEXIT_TEMP, "rewind message");
	if (pipe(p) == -1)
		die_sys(QEXIT_TEMP, "pipe");
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	/* the program gets SIGPIPE back at its default, as qmail gives it */
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	errno = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, program_env());
	if (errno != 0)
		die_sys(QEXIT_TEMP, "run /bin/sh");
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	for (;;) {
		ssize_t r = xread(p[0], buf, sizeof buf);

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && rn < REPORT_BYTES; i++)
			report[rn++] = buf[i] == '\n' ? ' ' : buf[i];
	}
	close(p[0]);
	while (rn > 0 && report[rn - 1] == ' ')
		rn--;
	report[rn] = '\0';
	for (size_t i = 0; i < rn; i++)
		if ((unsigned char)report[i] < 0x20)
			report[i] = '?';
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die_sys(QEXIT_TEMP, "wait for program");
	if (WIFSIGNALED(status))
		die(QEXIT_TEMP, "program killed by signal %d: %s",
		    WTERMSIG(status), report);
	code = WEXITSTATUS(status);
	switch (code) {
	case 0:
		return 0;
	case 99:
		return 99;
	case 100: case 64: case 65: case 70: case 76: case 77: case 78:
	case 112:
		die(QEXIT_PERM, "%s", rn ? report : "program refused the message");
	default:
		die(QEXIT_TEMP, "program exited %d: %s", code,
		    rn ? report : "temporary failure");
	}
}

static void
deliver_maildir(const char *dir)
{
	char prefix[sizeof rpline + sizeof dtline];
	int r;

	snprintf(prefix, sizeof prefix, "%s%s", rpline, dtline);
	r = maildir_store(dir, prefix, strlen(prefix), 0, base, 0, NULL);
	if (r != MAILDIR_OK)
		die_sys(QEXIT_TEMP, "maildir %s", dir);
}

static void
deliver_mbox(const char *path)
{
	static struct mbox_out o;
	char lock[PATH_BYTES_MAX], prefix[sizeof rpline + sizeof dtline];
	off_t orig;
	int fd, e;

	if (fmt(lock, sizeof lock, "%s.lock", path))
		die(QEXIT_TEMP, "mbox %s: name too long", path);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		die_sys(QEXIT_TEMP, "mbox %s", path);
	if (mbox_dotlock(lock) == -1) {
		/* a directory we may not write: fcntl alone must do */
		if (errno != EACCES && errno != EROFS)
			die_sys(QEXIT_TEMP, "mbox %s: lock %s", path, lock);
		lock[0] = '\0';
	}
	if (mbox_fcntl_lock(fd) == -1) {
		e = errno;
		if (lock[0] != '\0')
			unlink(lock);
		errno = e;
		die_sys(QEXIT_TEMP, "mbox %s: lock", path);
	}
	orig = lseek(fd, 0, SEEK_END);
	if (orig == -1)
		goto fail;
	o.fd = fd;
	o.len = 0;
	(void)fmt(prefix, sizeof prefix, "%s%s", rpline, dtline);
	if (mbox_put_message(&o, ufline, prefix, 0, base) == -1 ||
	    mbox_flush(&o) == -1 || fsync(fd) == -1)
		goto fail;
	if (close_checked(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (lock[0] != '\0')
		unlink(lock);
	return;
fail:
	e = errno;
	if (fd != -1) {
		/* take back what was written: the mbox stays as it was */
		if (orig != -1 && ftruncate(fd, orig) == 0)
			fsync(fd);
		close(fd);
	}
	if (lock[0] != '\0')
		unlink(lock);
	errno = e;
	die_sys(QEXIT_TEMP, "mbox %s", path);
}

static void
add_forward(const char *a)
{
	if (*a == '\0')
		return;
	if (nfwd >= FORWARDS_MAX)
		die(QEXIT_PERM, "too many forwarding addresses");
	if (strlen(a) > ADDR_BYTES_MAX || !is_clean(a, strlen(a)))
		die(QEXIT_PERM, "forwarding address too long or malformed");
	if (strchr(a, '@') == NULL) {
		/* "&jsmith": a user of this host, as qmail takes it */
		static char host[DOMAIN_BYTES_MAX + 1];
		char me[DOMAIN_BYTES_MAX + 1];
		size_t n = strlen(a) + strlen(host) + 2;

		if (host[0] == '\0' && (control_line("me", me, sizeof me,
		    "localhost") < 0 || control_line("defaulthost", host,
		    sizeof host, me) < 0))
			die_sys(QEXIT_TEMP, "control/defaulthost");
		n = strlen(a) + strlen(host) + 2;
		if (n > ADDR_BYTES_MAX + 1)
			die(QEXIT_PERM, "forwarding address too long");
		fwd[nfwd] = malloc(n);
		if (fwd[nfwd] == NULL)
			die(QEXIT_TEMP, "out of memory");
		snprintf(fwd[nfwd], n, "%s@%s", a, host);
		nfwd++;
		return;
	}
	fwd[nfwd] = strdup(a);
	if (fwd[nfwd] == NULL)
		die(QEXIT_TEMP, "out of memory");
	nfwd++;
}

static void
send_forwards(void)
{
	struct inject q;
	char buf[65536];
	off_t off = base;
	int code;

	if (nfwd == 0)
		return;
	if (inject_open(&q, NULL) == -1)
		die_sys(QEXIT_TEMP, "forward: start queue-inject");
	if (inject_write(&q, dtline, strlen(dtline)) == -1)
		goto done;
	for (;;) {
		ssize_t r = pread(0, buf, sizeof buf, off);

		if (r < 0) {
			inject_abort(&q);
			die_sys(QEXIT_TEMP, "forward: read message");
		}
		if (r == 0)
			break;
		off += r;
		if (inject_write(&q, buf, (size_t)r) == -1)
			break;
	}
done:
	code = inject_close(&q, newsender, (const char *const *)fwd, nfwd);
	if (code == 0)
		return;
	die(code >= 11 && code <= 40 ? QEXIT_PERM : QEXIT_TEMP,
	    "forward: %s", inject_strerror(code));
}

/* Does the text hold a line that is not blank and not a comment? */
static int
has_delivery(const char *data, size_t len)
{
	int bol = 1;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (bol && c != '#' && c != '\n' && c != ' ' && c != '\t' &&
		    c != '\r')
			return 1;
		if (bol && c == '#') {
			while (i < len && data[i] != '\n')
				i++;
			continue;
		}
		bol = c == '\n';
	}
	return 0;
}

/* Are the text's delivery lines all Maildir lines (and one at least)? */
static int
only_maildirs(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	int any = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;

		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > p && *p != '#') {
			if ((*p != '/' && *p != '.') || e[-1] != '/')
				return 0;
			any = 1;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return any;
}

/*
 * Read the .qmail file (or control/defaultdelivery) into lines.  Trouble
 * ends the program, or with quiet gives NULL, said by no one (a child of
 * -m meets it again and says it).
 */
static char *
read_lines(const char *path, size_t *len, int quiet)
{
	char *data;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), on;

	if (fd == -1 || fstat(fd, &st) == -1) {
		if (quiet)
			goto quiet;
		die_sys(QEXIT_TEMP, "%s %s", fd == -1 ? "open" : "stat", path);
	}
	on = paternal_on();
	if (quiet && (on < 0 || (on && (st.st_mode & 022) != 0) ||
	    st.st_size > DOTQMAIL_BYTES_MAX))
		goto quiet;
	paternalism(path, &st);
	if (st.st_size > DOTQMAIL_BYTES_MAX)
		die(QEXIT_TEMP, "%s: larger than %d bytes", path,
		    DOTQMAIL_BYTES_MAX);
	if (read_whole(fd, (size_t)st.st_size, &data, len) == -1) {
		if (quiet)
			goto quiet;
		die_sys(QEXIT_TEMP, "read %s", path);
	}
	close(fd);
	return data;
quiet:
	if (fd != -1)
		close(fd);
	return NULL;
}

/*
 * The delivery lines of the address in local..domain: its .qmail file or,
 * without one or with an empty one, control/defaultdelivery or else
 * "./Maildir/"; sets $DEFAULT, and path (PATH_BYTES_MAX bytes) to the
 * file read.  Trouble ends the program, or with quiet gives NULL (see
 * read_lines).
 */
static char *
delivery_lines(char *path, size_t *len, int quiet)
{
	char *data = NULL;
	long def;
	int r = dotqmail_find(home, dash, ext, path, PATH_BYTES_MAX, &def);

	if (r == DOTQMAIL_ERR) {
		if (quiet)
			return NULL;
		die_sys(QEXIT_TEMP, "%s", path);
	}
	if (r == DOTQMAIL_NONE && ext[0] != '\0') {
		if (quiet)
			return NULL;
		die(QEXIT_PERM, "Sorry, no mailbox here by that name. (#5.1.1)");
	}
	if (r == DOTQMAIL_FOUND && def >= 0 && (size_t)def <= strlen(ext))
		deflt = ext + def;
	if (r == DOTQMAIL_FOUND) {
		data = read_lines(path, len, quiet);
		if (data == NULL || *len > 0)
			return data;
		free(data);	/* an empty one: as if there were none */
	}
	if (root_path(path, PATH_BYTES_MAX, "control/defaultdelivery") == -1) {
		if (quiet)
			return NULL;
		die_sys(QEXIT_TEMP, "control/defaultdelivery");
	}
	if (access(path, F_OK) == 0) {
		data = read_lines(path, len, quiet);
		if (data != NULL && !has_delivery(data, *len)) {
			if (quiet) {
				free(data);
				return NULL;
			}
			die(QEXIT_TEMP, "control/defaultdelivery has no delivery "
			    "line: mail waits until it has one (#4.3.5)");
		}
		return data;
	}
	if (quiet && errno != ENOENT)
		return NULL;
	data = strdup("./Maildir/\n");
	if (data == NULL) {
		if (quiet)
			return NULL;
		die(QEXIT_TEMP, "out of memory");
	}
	*len = strlen(data);
	return data;
}

static void
set_lines(void)
{
	char owner[PATH_BYTES_MAX], folded[ADDR_BYTES_MAX + 1];
	struct stat st;

	snprintf(recipient, sizeof recipient, "%s@%s", local, domain);
	snprintf(dtline, sizeof dtline, "Delivered-To: %s\n", recipient);
	snprintf(rpline, sizeof rpline, "Return-Path: <%s>\n", sender);
	mbox_from_line(ufline, sizeof ufline, sender);
	/* mailing lists: with .qmail-EXT-owner, bounces go to LOCAL-owner */
	snprintf(newsender, sizeof newsender, "%s", sender);
	dotqmail_fold(folded, sizeof folded, ext);
	if (sender[0] != '\0' && folded[0] != '\0' &&
	    (size_t)snprintf(owner, sizeof owner, "%s/.qmail%s%s-owner", home,
	    dash, folded) < sizeof owner && lstat(owner, &st) == 0)
		snprintf(newsender, sizeof newsender, "%s-owner@%s", local,
		    domain);
}

/* Are one recipient's arguments within bounds? */
static int
args_ok(void)
{
	return home[0] == '/' && strlen(dash) <= 1 &&
	    strlen(local) <= ADDR_BYTES_MAX && strlen(ext) <= ADDR_BYTES_MAX &&
	    strlen(sender) <= ADDR_BYTES_MAX &&
	    strlen(domain) <= DOMAIN_BYTES_MAX;
}

/* Bounds on one recipient's arguments: 0, or exit 100. */
static void
check_args(void)
{
	if (!args_ok())
		die(QEXIT_PERM, "malformed arguments");
}

static int deliver(void);

/*
 * -m's addresses: each six arguments, FD SENDER LOCAL DASH EXT DOMAIN, FD
 * the descriptor that holds that address's message (several addresses,
 * several messages); base[] where each message starts.
 */
enum { TUPLE = 6 };
static char **tuples, **tuples_end;
static off_t *bases;
static int prepare_fd = -1;	/* a child's pipe for prepare_pipe() */

/* Hand a prepared file's two paths to -m's parent over a child's pipe
 * (maildir_prepare_with). */
static int
prepare_pipe(void *arg, const char *tmp, const char *new)
{
	int fd = *(int *)arg;

	if (write_all(fd, tmp, strlen(tmp) + 1) == -1 ||
	    write_all(fd, new, strlen(new) + 1) == -1)
		return -1;
	return 0;
}

/* Make tuple i's sender and address the ones delivered. */
static void
set_tuple(size_t i)
{
	char **t = tuples + TUPLE * i;

	base = bases[i];
	sender = t[1];
	local = t[2];
	dash = t[3];
	ext = t[4];
	domain = t[5];
}

/* Make tuple i the address delivered: its message on fd 0. */
static void
take_tuple(size_t i)
{
	char **t = tuples + TUPLE * i;
	int fd = atoi(t[0]);

	if (fd != 0 && dup2(fd, 0) == -1)
		die_sys(QEXIT_TEMP, "message descriptor %d", fd);
	/* the other messages' queue files (envelopes included) are none of
	 * this delivery's business */
	for (size_t j = 0; tuples + TUPLE * j < tuples_end; j++)
		if (atoi(tuples[TUPLE * j]) >= 3)
			close(atoi(tuples[TUPLE * j]));
	set_tuple(i);
}

/*
 * Check each tuple's descriptor: 0 may be a pipe (copied first), any
 * other must be a regular file open for reading; none of them reaches a
 * program (close-on-exec: programs get a copy of their own message).
 */
static void
open_tuples(size_t n)
{
	bases = calloc(n, sizeof *bases);
	if (bases == NULL)
		die(QEXIT_TEMP, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *a = tuples[TUPLE * i];
		char *end;
		long fd = strtol(a, &end, 10);
		struct stat st;

		if (*a == '\0' || *end != '\0' || fd < 0 || fd > 65535 ||
		    fd == 1 || fd == 2)
			die(QEXIT_PERM, "malformed arguments");
		if (fd == 0) {
			static int done;
			static off_t base0;
			long long size;
			const char *what;

			if (!done && seekable_stdin(&base0, &size, &what) == -1)
				die_sys(QEXIT_TEMP, "%s", what);
			done = 1;
			bases[i] = base0;
			continue;
		}
		if (fstat((int)fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    (bases[i] = lseek((int)fd, 0, SEEK_CUR)) == -1)
			die(QEXIT_TEMP, "descriptor %ld: not an open file", fd);
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
}

enum { PREPARED_BYTES_MAX = 256 * 1024 };	/* one child's TMP/NEW pairs */

/* The files a child wrote in tmp/ for the end of -m to sync and link. */
struct prepared {
	char *buf;
	size_t len;
	int overflow;
	int by_child;		/* may have linked into new/ itself */
};

/*
 * Deliver tuple i in a child of ours (so that one delivery's failure,
 * exit included, is only its own); its code (0, 100 or 111) into *code,
 * its reason into report, and with pr its prepared Maildir files.
 */
static void
deliver_child(size_t i, int null, int *code, char *report,
    struct prepared *pr)
{
	const char *why = report;
	size_t rn = 0;
	int p[2], q[2] = { -1, -1 }, status;
	pid_t pid;

	if (pipe(p) == -1 || (pr != NULL && pipe(q) == -1))
		die_sys(QEXIT_TEMP, "pipe");
	pid = fork();
	if (pid == -1)
		die_sys(QEXIT_TEMP, "fork");
	if (pid == 0) {
		take_tuple(i);
		if (dup2(p[1], 2) == -1 || dup2(null, 1) == -1)
			_exit(QEXIT_TEMP);
		close(p[0]);
		close(p[1]);
		if (pr != NULL) {
			close(q[0]);
			fcntl(q[1], F_SETFD, FD_CLOEXEC);
			prepare_fd = q[1];
		}
		check_args();
		exit(deliver());
	}
	close(p[1]);
	if (pr != NULL)
		close(q[1]);
	/* both pipes to their ends: a child may fill either one first */
	for (int open_fds = pr != NULL ? 2 : 1; open_fds > 0;) {
		struct pollfd pf[2] = { { p[0], POLLIN, 0 }, { q[0], POLLIN, 0 } };
		char buf[4096];

		if (poll(pf, pr != NULL ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			die_sys(QEXIT_TEMP, "poll");
		}
		for (int k = 0; k < (pr != NULL ? 2 : 1); k++) {
			ssize_t r;

			if (pf[k].fd == -1 || pf[k].revents == 0)
				continue;
			r = xread(pf[k].fd, buf, sizeof buf);
			if (r <= 0) {
				close(pf[k].fd);
				if (k == 0)
					p[0] = -1;
				else
					q[0] = -1;
				open_fds--;
				continue;
			}
			if (k == 0) {
				for (ssize_t b = 0; b < r && rn < REPORT_BYTES; b++)
					report[rn++] = buf[b];
			} else if (pr->len + (size_t)r > PREPARED_BYTES_MAX) {
				pr->overflow = 1;
			} else {
				char *nb = realloc(pr->buf, pr->len + (size_t)r);

				if (nb == NULL)
					die(QEXIT_TEMP, "out of memory");
				memcpy(nb + pr->len, buf, (size_t)r);
				pr->buf = nb;
				pr->len += (size_t)r;
			}
		}
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die_sys(QEXIT_TEMP, "wait for a delivery");
	report[rn] = '\0';
	report[strcspn(report, "\n")] = '\0';
	for (char *c = report; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20)
			*c = '?';
	if (strncmp(why, "dotqmail-exec: fatal: ", 22) == 0)
		why += 22;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (*code != QEXIT_OK && *code != QEXIT_PERM) {
		if (WIFSIGNALED(status))
			why = "delivery crashed";
		*code = QEXIT_TEMP;
	}
	if (*code == QEXIT_OK && pr != NULL && pr->overflow) {
		*code = QEXIT_TEMP;
		why = "too many Maildir lines for one run (#4.3.0)";
	}
	if (*code != QEXIT_OK && *why == '\0')
		why = "delivery failed without a reason";
	memmove(report, why, strlen(why) + 1);
}

/*
 * The pair of paths (tmp/ file, its name to be in new/) at *off in pr:
 * 1 with *off moved past it, or 0 at the end (or at a pair cut short).
 */
static int
next_pair(const struct prepared *pr, size_t *off, const char **tmp,
    const char **new)
{
	size_t left = pr->len - *off, tl, nl;

	if (*off >= pr->len)
		return 0;
	*tmp = pr->buf + *off;
	tl = strnlen(*tmp, left);
	if (tl == left)
		return 0;
	*new = *tmp + tl + 1;
	nl = strnlen(*new, left - tl - 1);
	if (nl == left - tl - 1)
		return 0;
	*off += tl + 1 + nl + 1;
	return 1;
}

/* Remove the files a child prepared (its delivery did not go through). */
static void
discard(struct prepared *pr)
{
	const char *tmp, *new;

	for (size_t off = 0; next_pair(pr, &off, &tmp, &new);)
		unlink(tmp);
	pr->len = 0;
}

/* Link each prepared file into its new/: 0, or -1 (errno) at the first
 * that fails; the rest are removed. */
static int
commit_prepared(struct prepared *pr)
{
	const char *tmp, *new;
	size_t off = 0;

	while (next_pair(pr, &off, &tmp, &new)) {
		if (maildir_commit(tmp, new) == -1) {
			int e = errno;

			unlink(tmp);
			pr->len -= off;
			memmove(pr->buf, pr->buf + off, pr->len);
			discard(pr);
			errno = e;
			return -1;	/* the failed one and the rest removed */
		}
	}
	return 0;
}

/*
 * Where syncfs(2) is refused (a seccomp filter, say): each prepared file
 * synced by itself before its link (new_dirs 0), or each new/ directory
 * after the links (new_dirs 1).  0, or -1 (errno) at the first failure.
 */
static int
sync_each(const struct prepared *pr, int new_dirs)
{
	const char *tmp, *new;

	for (size_t off = 0; next_pair(pr, &off, &tmp, &new);) {
		if (new_dirs) {
			char dir[PATH_BYTES_MAX];
			const char *slash = strrchr(new, '/');
			size_t dl = slash != NULL ? (size_t)(slash - new) : 0;

			if (dl == 0 || dl >= sizeof dir) {
				errno = ENAMETOOLONG;
				return -1;
			}
			memcpy(dir, new, dl);
			dir[dl] = '\0';
			if (fsync_dir(dir) == -1)
				return -1;
		} else {
			int fd = open(tmp, O_RDONLY | O_CLOEXEC);

			if (fd == -1 || fsync(fd) == -1) {
				if (fd != -1)
					close_failed(fd);
				return -1;
			}
			if (close_checked(fd) == -1)
				return -1;
		}
	}
	return 0;
}

/* Append a prepared file's two paths to pr (maildir_prepare_with). */
static int
prepare_into(void *arg, const char *tmp, const char *new)
{
	struct prepared *pr = arg;
	size_t tl = strlen(tmp) + 1, nl = strlen(new) + 1;
	char *nb;

	if (pr->len + tl + nl > PREPARED_BYTES_MAX) {
		pr->overflow = 1;
		errno = EFBIG;
		return -1;
	}
	nb = realloc(pr->buf, pr->len + tl + nl);
	if (nb == NULL)
		return -1;
	memcpy(nb + pr->len, tmp, tl);
	memcpy(nb + pr->len + tl, new, nl);
	pr->buf = nb;
	pr->len += tl + nl;
	return 0;
}

/*
 * Deliver tuple i here, without a child, when its delivery lines are all
 * Maildir lines (-m's group mode): 0, with its code and reason in *code
 * and report and its prepared files in pr; or -1, nothing done, when it
 * needs a child of its own: any other line, or anything out of the
 * ordinary, which the child then meets and reports as deliver() does.
 */
static int
deliver_inline(size_t i, int *code, char *report, struct prepared *pr)
{
	char **t = tuples + TUPLE * i;
	char prefix[sizeof rpline + sizeof dtline], *data, *p, *end;
	char path[PATH_BYTES_MAX];
	const char *why;
	size_t len;
	int fd = atoi(t[0]), err;

	report[0] = '\0';
	set_tuple(i);
	if (!args_ok())
		return -1;
	set_lines();
	why = loop_reason(fd, &err);
	if (err != 0)
		return -1;
	*code = QEXIT_OK;
	if (why != NULL) {
		*code = QEXIT_PERM;
		snprintf(report, REPORT_BYTES + 1, "%s", why);
		return 0;
	}
	data = delivery_lines(path, &len, 1);
	if (data == NULL)
		return -1;
	if (!only_maildirs(data, len)) {
		free(data);
		return -1;
	}
	snprintf(prefix, sizeof prefix, "%s%s", rpline, dtline);
	maildir_prepare_with(prepare_into, pr);
	for (p = data, end = data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p, *e = nl != NULL ? nl : end;

		p = nl != NULL ? nl + 1 : end;
		*e = '\0';
		while (e > line && (e[-1] == ' ' || e[-1] == '\t' ||
		    e[-1] == '\r'))
			*--e = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (maildir_store(line, prefix, strlen(prefix), fd, base, 0,
		    NULL) != MAILDIR_OK) {
			*code = QEXIT_TEMP;
			if (pr->overflow)
				snprintf(report, REPORT_BYTES + 1, "too many "
				    "Maildir lines for one run (#4.3.0)");
			else
				snprintf(report, REPORT_BYTES + 1,
				    "maildir %s: %s", line, strerror(errno));
			break;
		}
	}
	maildir_prepare_with(NULL, NULL);
	free(data);
	return 0;
}

/*
 * -m: the addresses but the last each reported on stdout as "N TAB CODE
 * TAB reason" (N from 1); the last one's result is our exit code and
 * stderr, as in the one-address form.  Each is delivered by a child of
 * ours, but for Maildir-only deliveries in group mode (deliver_inline).
 *
 * Where the system can sync a whole filesystem (group commit), the
 * Maildirs on HOME's filesystem are served by two syncs for the whole
 * run: a delivery whose lines are all Maildir lines only writes its files
 * in tmp/ (maildir_prepare_with); once every child has ended, one sync
 * makes them durable, each is linked into its new/, and a second sync
 * makes the names durable, before anything is reported.  Other
 * deliveries skip only the sync of new/ (maildir_defer_sync), which the
 * same syncs cover.  Elsewhere the last address is delivered here.
 */
static int
deliver_many(size_t n)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), hfd = -1;
	int *codes = calloc(n, sizeof *codes);
	char *reports = malloc(n * (REPORT_BYTES + 1));
	struct prepared *prep = calloc(n, sizeof *prep);
	size_t forked = n - 1;
	struct stat hs;
	int inline_ok = 0;

	if (null == -1)
		die_sys(QEXIT_TEMP, "open /dev/null");
	if (codes == NULL || reports == NULL || prep == NULL)
		die(QEXIT_TEMP, "out of memory");
	if (n > 1) {
		/* the prepared paths are relative to home, as in the child */
		hfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (hfd != -1 && sync_filesystem_usable(hfd) &&
		    fstat(hfd, &hs) == 0 && chdir(home) == 0) {
			int on = paternal_on();

			maildir_defer_sync(hs.st_dev);
			forked = n;
			/* Maildir-only deliveries need no child: not where the
			 * home itself is refused (the child says why) */
			inline_ok = on == 0 || (on == 1 && (hs.st_mode & 022) == 0);
		} else if (hfd != -1) {
			close(hfd);
			hfd = -1;
		}
	}
	for (size_t i = 0; i < forked; i++) {
		if (!inline_ok || deliver_inline(i, &codes[i],
		    reports + i * (REPORT_BYTES + 1), &prep[i]) == -1) {
			deliver_child(i, null, &codes[i],
			    reports + i * (REPORT_BYTES + 1),
			    hfd != -1 ? &prep[i] : NULL);
			prep[i].by_child = 1;
		}
		if (codes[i] != QEXIT_OK)
			discard(&prep[i]);
	}
	close(null);
	if (hfd != -1) {
		char why[REPORT_BYTES + 1] = "";
		int linked = 0, each = 0;

		if (sync_filesystem(hfd) == -1) {
			if (errno == ENOSYS || errno == EPERM ||
			    errno == EINVAL)
				each = 1;	/* refused: file by file */
			else
				snprintf(why, sizeof why, "cannot sync the "
				    "mailbox filesystem: %s", strerror(errno));
		}
		for (size_t i = 0; i < n; i++) {
			if (codes[i] != QEXIT_OK)
				continue;
			if (each && prep[i].by_child && why[0] == '\0') {
				/* a program or forward line's delivery links its
				 * Maildir files itself and leaves new/ to our
				 * syncfs: which new/ is not ours to know */
				discard(&prep[i]);
				codes[i] = QEXIT_TEMP;
				snprintf(reports + i * (REPORT_BYTES + 1),
				    REPORT_BYTES + 1, "cannot sync the mailbox "
				    "filesystem: syncfs refused");
				continue;
			}
			if (prep[i].len == 0)
				continue;
			if (why[0] != '\0') {
				discard(&prep[i]);
			} else if (each && sync_each(&prep[i], 0) == -1) {
				codes[i] = QEXIT_TEMP;
				snprintf(reports + i * (REPORT_BYTES + 1),
				    REPORT_BYTES + 1, "cannot sync a message "
				    "in tmp/: %s", strerror(errno));
				discard(&prep[i]);
			} else if (commit_prepared(&prep[i]) == -1) {
				codes[i] = QEXIT_TEMP;
				snprintf(reports + i * (REPORT_BYTES + 1),
				    REPORT_BYTES + 1, "cannot move a message "
				    "into new/: %s", strerror(errno));
			} else {
				linked = 1;
			}
		}
		if (why[0] == '\0' && linked && !each &&
		    sync_filesystem(hfd) == -1)
			snprintf(why, sizeof why, "cannot sync the mailbox "
			    "filesystem: %s", strerror(errno));
		for (size_t i = 0; why[0] == '\0' && each && i < n; i++)
			if (codes[i] == QEXIT_OK && prep[i].len > 0 &&
			    sync_each(&prep[i], 1) == -1)
				snprintf(why, sizeof why, "cannot sync new/: %s",
				    strerror(errno));
		if (close_checked(hfd) == -1 && why[0] == '\0')
			snprintf(why, sizeof why, "cannot sync the mailbox "
			    "filesystem: %s", strerror(errno));
		/* delivered, perhaps not durably: have them tried again */
		for (size_t i = 0; why[0] != '\0' && i < n; i++)
			if (codes[i] == QEXIT_OK) {
				codes[i] = QEXIT_TEMP;
				strcpy(reports + i * (REPORT_BYTES + 1), why);
			}
	}
	for (size_t i = 0; i < n; i++)
		free(prep[i].buf);
	free(prep);
	for (size_t i = 0; i + 1 < n; i++) {
		char line[REPORT_BYTES + 64];

		snprintf(line, sizeof line, "%zu\t%d\t%s\n", i + 1, codes[i],
		    codes[i] == QEXIT_OK ? "" : reports + i * (REPORT_BYTES + 1));
		if (write_all(1, line, strlen(line)) == -1)
			die_sys(QEXIT_TEMP, "report a result");
	}
	if (forked == n) {
		char why[REPORT_BYTES + 1];
		int code = codes[n - 1];

		snprintf(why, sizeof why, "%s", reports + (n - 1) *
		    (REPORT_BYTES + 1));
		free(codes);
		free(reports);
		if (code != QEXIT_OK)
			die(code, "%s", why);
		return QEXIT_OK;
	}
	free(codes);
	free(reports);
	take_tuple(n - 1);
	check_args();
	return deliver();
}

int
main(int argc, char **argv)
{
	int many = argc > 1 && strcmp(argv[1], "-m") == 0;

	progname = "dotqmail-exec";
	if (many) {
		if (argc < 4 + TUPLE || (argc - 4) % TUPLE != 0)
			usage("-m USER HOME FD SENDER LOCAL DASH EXT DOMAIN "
			    "[FD SENDER LOCAL DASH EXT DOMAIN]...");
		user = argv[2];
		home = argv[3];
		tuples = argv + 4;
		tuples_end = argv + argc;
#if defined(__linux__)
		/* we hold other messages' queue files while a program runs as
		 * the same user: no ptrace, no pidfd_getfd on us */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
			die_sys(QEXIT_TEMP, "prctl");
#endif
		sender = local = dash = ext = domain = "";
	} else {
		if (argc != 8)
			usage("USER HOME LOCAL DASH EXT DOMAIN SENDER");
		user = argv[1];
		home = argv[2];
		local = argv[3];
		dash = argv[4];
		ext = argv[5];
		domain = argv[6];
		sender = argv[7];
	}
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() == 0 || getuid() == 0)
		die(QEXIT_TEMP, "refusing to deliver as root (#4.3.0)");
	check_args();
	if (many) {
		size_t n = (size_t)(argc - 4) / TUPLE;

		open_tuples(n);
		return deliver_many(n);
	}
	{
		long long size;
		const char *what;

		if (seekable_stdin(&base, &size, &what) == -1)
			die_sys(QEXIT_TEMP, "%s", what);
	}
	return deliver();
}

/* Deliver to the recipient in local, dash, ext and domain. */
static int
deliver(void)
{
	char path[PATH_BYTES_MAX];
	struct stat st;
	char *data, *p, *end;
	size_t len;

	if (chdir(home) == -1)
		die_sys(QEXIT_TEMP, "home %s", home);
	if (stat(".", &st) == -1)
		die_sys(QEXIT_TEMP, "home %s", home);
	paternalism(home, &st);
	set_lines();
	check_loops();

	data = delivery_lines(path, &len, 0);
	/* a batch's Maildir-only delivery leaves sync and link to -m's end */
	if (prepare_fd != -1)
		maildir_prepare_with(only_maildirs(data, len) ? prepare_pipe :
		    NULL, &prepare_fd);
	for (p = data, end = data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p, *e = nl != NULL ? nl : end;

		p = nl != NULL ? nl + 1 : end;
		*e = '\0';
		if (line[0] == '|') {
			if (run_program(line + 1) == 99)
				break;
			continue;
		}
		while (e > line && (e[-1] == ' ' || e[-1] == '\t' ||
		    e[-1] == '\r'))
			*--e = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (line[0] == '/' || line[0] == '.') {
			if (e[-1] == '/')
				deliver_maildir(line);
			else
				deliver_mbox(line);
		} else if (line[0] == '&') {
			add_forward(line + 1);
		} else if (isalnum((unsigned char)line[0])) {
			add_forward(line);
		} else {
			die(QEXIT_TEMP, "%s: a line I do not understand", path);
		}
	}
	send_forwards();
	free(data);
	return QEXIT_OK;
}
