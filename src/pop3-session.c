/*
 * pop3-session - the TRANSACTION and UPDATE states of POP3 (RFC 1939) on
 * one Maildir, for a user that pop3-auth and a checkpassword program have
 * already logged in.
 *
 * Usage:  pop3-session [MAILDIR]    (default: $MAILDIR, else ./Maildir/)
 * fd 0/1: the client, CRLF lines.
 * Exit:   0 after QUIT, the client's EOF or an idle timeout (no deletions
 *         then); 111 when the Maildir cannot be opened or written to.
 *
 * At the start it moves new/ into cur/ and takes a snapshot of cur/:
 * mail that arrives later is seen by the next session.  Deletions happen
 * only at QUIT.  A second session on the same Maildir sees the same
 * snapshot; a message the other one deleted answers -ERR, and deleting
 * it again is harmless.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "die.h"
#include "fmt.h"
#include "line.h"
#include "xio.h"

enum {
	COMMAND_BYTES_MAX = 512,
	MESSAGES_MAX = 1000000,
	UIDL_MAX = 70,			/* RFC 1939: 1 to 70 characters */
	IDLE_SECONDS = 600,		/* RFC 1939's autologout: at least 10 min */
	ERRORS_MAX = 20
};

struct msg {
	char *name;			/* in cur/ */
	long long size;			/* octets as sent: LF counted as CRLF */
	char uid[UIDL_MAX + 1];
	int deleted;
};

static struct msg *msgs;
static size_t nmsgs;
static struct rbuf in;
static char out[65536];
static size_t outlen;

static void
flush(void)
{
	if (outlen == 0)
		return;
	alarm(IDLE_SECONDS);
	if (write_all(1, out, outlen) == -1)
		_exit(QEXIT_TEMP);
	alarm(0);
	outlen = 0;
}

static void
put(const char *s, size_t n)
{
	while (n > 0) {
		size_t k = sizeof out - outlen;

		if (k == 0) {
			flush();
			continue;
		}
		if (k > n)
			k = n;
		memcpy(out + outlen, s, k);
		outlen += k;
		s += k;
		n -= k;
	}
}

static void PRINTF_LIKE(1, 2)
reply(const char *format, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(line, sizeof line - 2, format, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof line - 3)
		n = (int)(sizeof line - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	put(line, (size_t)n);
}

static void
on_alarm(int sig)
{
	(void)sig;
	_exit(QEXIT_TEMP);
}

/* The size as sent: each LF becomes CRLF, and a last line gets its CRLF. */
static long long
wire_size(const char *path)
{
	char buf[65536];
	long long n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), last = '\n';

	if (fd == -1)
		return -1;
	for (;;) {
		ssize_t r = xread(fd, buf, sizeof buf);

		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += r;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] == '\n')
				n++;
		last = buf[r - 1];
	}
	close(fd);
	return last == '\n' ? n : n + 2;
}

/* new/X -> cur/X:2, so that other readers see the mail as seen. */
static void
take_new(void)
{
	DIR *d = opendir("new");
	struct dirent *de;

	if (d == NULL)
		die_sys(QEXIT_TEMP, "open new/");
	while ((de = readdir(d)) != NULL) {
		char from[600], to[600];

		if (de->d_name[0] == '.' || strchr(de->d_name, ':') != NULL)
			continue;
		if (fmt(from, sizeof from, "new/%s", de->d_name) ||
		    fmt(to, sizeof to, "cur/%s:2,", de->d_name))
			continue;
		if (rename(from, to) == -1 && errno != ENOENT)
			die_sys(QEXIT_TEMP, "move %s", from);
	}
	closedir(d);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct msg *)a)->name,
	    ((const struct msg *)b)->name);
}

/* The snapshot of cur/, oldest first (names start with the time). */
static void
scan_cur(void)
{
	DIR *d = opendir("cur");
	struct dirent *de;
	size_t cap = 0;

	if (d == NULL)
		die_sys(QEXIT_TEMP, "open cur/");
	while ((de = readdir(d)) != NULL) {
		struct msg *m;
		char path[600];
		const char *colon;
		size_t ul;

		if (de->d_name[0] == '.')
			continue;
		colon = strchr(de->d_name, ':');
		if (colon != NULL && strchr(colon, 'T') != NULL)
			continue;	/* trashed by a mail reader */
		if (fmt(path, sizeof path, "cur/%s", de->d_name))
			continue;
		if (nmsgs == MESSAGES_MAX)
			break;
		if (nmsgs == cap) {
			cap = cap ? cap * 2 : 64;
			msgs = realloc(msgs, cap * sizeof *msgs);
			if (msgs == NULL)
				die(QEXIT_TEMP, "out of memory");
		}
		m = &msgs[nmsgs];
		m->size = wire_size(path);
		if (m->size < 0)
			continue;	/* gone already */
		m->name = strdup(de->d_name);
		if (m->name == NULL)
			die(QEXIT_TEMP, "out of memory");
		/* the unique id: the name before ':', printable, at most 70 */
		ul = colon != NULL ? (size_t)(colon - de->d_name) :
		    strlen(de->d_name);
		if (ul > UIDL_MAX)
			ul = UIDL_MAX;
		for (size_t i = 0; i < ul; i++) {
			unsigned char c = (unsigned char)de->d_name[i];

			m->uid[i] = c > 0x20 && c < 0x7f ? (char)c : '_';
		}
		m->uid[ul] = '\0';
		m->deleted = 0;
		nmsgs++;
	}
	closedir(d);
	if (nmsgs > 0)		/* msgs is NULL when cur/ is empty */
		qsort(msgs, nmsgs, sizeof *msgs, by_name);
}

/* Message number from an argument: its index, or -1 with a reply sent. */
static long
msgno(const char *arg)
{
	char *end;
	unsigned long n;

	while (*arg == ' ')
		arg++;
	if (!isdigit((unsigned char)*arg)) {
		reply("-ERR syntax: a message number");
		return -1;
	}
	errno = 0;
	n = strtoul(arg, &end, 10);
	while (*end == ' ')
		end++;
	if (errno != 0 || n == 0 || n > nmsgs) {
		reply("-ERR no such message");
		return -1;
	}
	if (msgs[n - 1].deleted) {
		reply("-ERR message %lu is deleted", n);
		return -1;
	}
	return (long)(n - 1);
}

/* Send a message: header, then at most lines body lines (-1: all). */
static void
send_msg(size_t i, long lines)
{
	char path[600], buf[65536], lineout[65536 * 2 + 8];
	/* prev_nl starts set: a first empty line is the blank line of an
	 * empty header */
	int fd, bol = 1, in_body = 0, last = '\n', prev_nl = 1;
	long body = 0;

	if (fmt(path, sizeof path, "cur/%s", msgs[i].name)) {
		reply("-ERR name too long");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		reply("-ERR message %zu was deleted by another session", i + 1);
		return;
	}
	reply("+OK %lld octets", msgs[i].size);
	for (;;) {
		ssize_t r = xread(fd, buf, sizeof buf);
		size_t n = 0;
		int stop = 0;

		if (r < 0) {
			close(fd);
			flush();
			_exit(QEXIT_TEMP);	/* cannot end the reply honestly */
		}
		if (r == 0)
			break;
		for (ssize_t k = 0; k < r && !stop; k++) {
			char c = buf[k];

			if (bol && in_body && lines >= 0 && body >= lines) {
				stop = 1;
				break;
			}
			if (bol && c == '.')
				lineout[n++] = '.';	/* byte-stuffing */
			if (c == '\n') {
				lineout[n++] = '\r';
				if (!in_body && prev_nl)
					in_body = 1;	/* the blank line */
				else if (in_body)
					body++;
				prev_nl = 1;
			} else {
				prev_nl = 0;
			}
			lineout[n++] = c;
			bol = c == '\n';
			last = c;
		}
		put(lineout, n);
		if (stop)
			break;
	}
	close(fd);
	if (last != '\n')
		put("\r\n", 2);
	put(".\r\n", 3);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("MAILDIR");
	char line[COMMAND_BYTES_MAX];
	unsigned errors = 0;

	progname = "pop3-session";
	if (argc > 2)
		usage("[MAILDIR]");
	if (dir == NULL || dir[0] == '\0')
		dir = "./Maildir/";
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	if (chdir(dir) == -1) {
		reply("-ERR unable to open your mailbox; try again later");
		flush();
		die_sys(QEXIT_TEMP, "chdir %s", dir);
	}
	take_new();
	scan_cur();
	rbuf_init(&in, 0, IDLE_SECONDS * 1000);
	reply("+OK %zu messages", nmsgs);
	for (;;) {
		char verb[8];
		const char *arg;
		size_t len, vl = 0;
		int r;

		if (rbuf_pending(&in) == 0)
			flush();
		r = rbuf_getline(&in, line, sizeof line, &len);
		if (r == LINE_TOOLONG) {
			reply("-ERR line too long");
			if (++errors > ERRORS_MAX)
				break;
			continue;
		}
		if (r != LINE_OK)
			break;		/* EOF or timeout: no deletions */
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		while (vl < len && line[vl] != ' ' && vl < sizeof verb - 1) {
			verb[vl] = (char)toupper((unsigned char)line[vl]);
			vl++;
		}
		verb[vl] = '\0';
		arg = line + vl;
		if (strcmp(verb, "STAT") == 0) {
			size_t n = 0;
			long long total = 0;

			for (size_t i = 0; i < nmsgs; i++)
				if (!msgs[i].deleted) {
					n++;
					total += msgs[i].size;
				}
			reply("+OK %zu %lld", n, total);
		} else if (strcmp(verb, "LIST") == 0 || strcmp(verb, "UIDL") == 0) {
			int uidl = verb[0] == 'U';
			long i;

			while (*arg == ' ')
				arg++;
			if (*arg != '\0') {
				if ((i = msgno(arg)) < 0)
					continue;
				if (uidl)
					reply("+OK %ld %s", i + 1, msgs[i].uid);
				else
					reply("+OK %ld %lld", i + 1, msgs[i].size);
				continue;
			}
			reply("+OK");
			for (size_t k = 0; k < nmsgs; k++) {
				if (msgs[k].deleted)
					continue;
				if (uidl)
					reply("%zu %s", k + 1, msgs[k].uid);
				else
					reply("%zu %lld", k + 1, msgs[k].size);
			}
			put(".\r\n", 3);
		} else if (strcmp(verb, "RETR") == 0) {
			long i = msgno(arg);

			if (i >= 0)
				send_msg((size_t)i, -1);
		} else if (strcmp(verb, "TOP") == 0) {
			long i = msgno(arg);
			char *end;
			long n;

			if (i < 0)
				continue;
			while (*arg == ' ')
				arg++;
			while (isdigit((unsigned char)*arg))
				arg++;
			while (*arg == ' ')
				arg++;
			n = strtol(arg, &end, 10);
			if (!isdigit((unsigned char)*arg) || n < 0) {
				reply("-ERR syntax: TOP msg lines");
				continue;
			}
			send_msg((size_t)i, n);
		} else if (strcmp(verb, "DELE") == 0) {
			long i = msgno(arg);

			if (i >= 0) {
				msgs[i].deleted = 1;
				reply("+OK message %ld deleted", i + 1);
			}
		} else if (strcmp(verb, "RSET") == 0) {
			for (size_t k = 0; k < nmsgs; k++)
				msgs[k].deleted = 0;
			reply("+OK");
		} else if (strcmp(verb, "NOOP") == 0) {
			reply("+OK");
		} else if (strcmp(verb, "CAPA") == 0) {
			reply("+OK capabilities follow");
			reply("TOP");
			reply("UIDL");
			reply("USER");
			reply("PIPELINING");
			reply("RESP-CODES");
			reply("IMPLEMENTATION vdmail");
			put(".\r\n", 3);
		} else if (strcmp(verb, "QUIT") == 0) {
			size_t failed = 0;

			/* UPDATE: the deletions, and only now */
			for (size_t k = 0; k < nmsgs; k++) {
				char path[600];

				if (!msgs[k].deleted)
					continue;
				if (fmt(path, sizeof path, "cur/%s",
				    msgs[k].name) ||
				    (unlink(path) == -1 && errno != ENOENT))
					failed++;
			}
			if (failed > 0)
				reply("-ERR %zu messages could not be deleted",
				    failed);
			else
				reply("+OK bye");
			flush();
			return QEXIT_OK;
		} else {
			reply("-ERR unknown command");
			if (++errors > ERRORS_MAX)
				break;
		}
	}
	flush();
	return QEXIT_OK;
}
