/*
 * sendmail - send mail from local programs, with the command line that
 * cron, mailx and PHP use.  Also mailq (sendmail -bp) and newaliases.
 *
 * Usage:  sendmail [-t] [-i] [-oi] [-f sender] [-F name] [address ...]
 *         sendmail -bp | -bs
 * stdin:  the message.  Without -i, a line holding one "." ends it.
 * Adds Date, Message-ID and From where the header has none; -t takes
 * the recipients from To, Cc and Bcc (the command line's are added) and
 * removes Bcc.  An address without '@' gets @ and control/defaulthost.
 * Exit:   sysexits(3): 0 queued; 64 bad usage or no recipient; 65 a
 *         malformed address; 69 the queue refused the message for good;
 *         74 an input error; 75 a temporary failure (try again).
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "die.h"
#include "fmt.h"
#include "inject.h"
#include "msgid.h"
#include "xio.h"

enum {
	EX_OK_ = 0,
	EX_USAGE_ = 64,
	EX_DATAERR_ = 65,
	EX_UNAVAILABLE_ = 69,
	EX_IOERR_ = 74,
	EX_TEMPFAIL_ = 75,
	HEADER_BYTES_MAX = 1024 * 1024,		/* the header we keep in memory */
	RCPTS_MAX = 10000,
	NAME_BYTES_MAX = 256
};

static char defaulthost[DOMAIN_BYTES_MAX + 1];
static char *rcpts[RCPTS_MAX];
static size_t nrcpts;

static void
add_rcpt(const char *a, size_t n)
{
	char buf[ADDR_BYTES_MAX + DOMAIN_BYTES_MAX + 2];

	while (n > 0 && isspace((unsigned char)*a)) {
		a++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)a[n - 1]))
		n--;
	if (n == 0)
		return;
	if (n > ADDR_BYTES_MAX || !is_clean(a, n) || memchr(a, ' ', n))
		die(EX_DATAERR_, "malformed address: %.*s", (int)(n > 80 ? 80 :
		    n), a);
	if (memchr(a, '@', n) != NULL)
		(void)fmt(buf, sizeof buf, "%.*s", (int)n, a);
	else
		(void)fmt(buf, sizeof buf, "%.*s@%s", (int)n, a, defaulthost);
	for (size_t i = 0; i < nrcpts; i++)
		if (strcmp(rcpts[i], buf) == 0)
			return;
	if (nrcpts == RCPTS_MAX)
		die(EX_USAGE_, "more than %d recipients", RCPTS_MAX);
	rcpts[nrcpts] = strdup(buf);
	if (rcpts[nrcpts] == NULL)
		die(EX_TEMPFAIL_, "out of memory");
	nrcpts++;
}

/*
 * The addresses of an address-list header value (RFC 5322): items
 * separated by commas, "Name <addr>" or a bare addr, comments and
 * quoted strings skipped, groups "name: a, b;" opened.
 */
static void
header_addresses(const char *v)
{
	char item[ADDR_BYTES_MAX * 2];
	size_t n = 0;
	int quote = 0, comment = 0, angle = 0;
	const char *lt = NULL;

	for (;; v++) {
		char c = *v;

		if (c == '\0' || ((c == ',' || c == ';') && !quote &&
		    !comment && !angle)) {
			item[n] = '\0';
			if (lt != NULL) {
				char *end = strchr(lt, '>');

				if (end != NULL)
					add_rcpt(lt + 1, (size_t)(end - lt - 1));
			} else {
				add_rcpt(item, n);
			}
			n = 0;
			lt = NULL;
			if (c == '\0')
				return;
			continue;
		}
		if (quote) {
			if (c == '\\' && v[1] != '\0')
				v++;
			else if (c == '"')
				quote = 0;
			continue;	/* a display name: dropped */
		}
		if (comment) {
			if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
			continue;
		}
		if (c == '"' && !angle) {
			quote = 1;
			continue;
		}
		if (c == '(') {
			comment = 1;
			continue;
		}
		if (c == ':' && !angle) {
			n = 0;		/* a group's name: dropped */
			continue;
		}
		if (n + 1 >= sizeof item)
			die(EX_DATAERR_, "an address too long in the header");
		if (c == '<') {
			angle = 1;
			lt = item + n;
		} else if (c == '>') {
			angle = 0;
		}
		item[n++] = c;
	}
}

static void
rfc5322_date(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

static int
header_is(const char *h, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const char *sender = NULL, *fullname = NULL;
	int take_headers = 0, dot_ends = 1, i;
	char me[DOMAIN_BYTES_MAX + 1], from[ADDR_BYTES_MAX + 1];
	char *head, line[8192];
	size_t hlen = 0;
	int have_date = 0, have_id = 0, have_from = 0;
	struct inject q;
	int code;

	base = base != NULL ? base + 1 : argv[0];
	progname = "sendmail";
	if (strcmp(base, "newaliases") == 0) {
		printf("newaliases: vdmail needs no alias database rebuild: "
		    "qmail_db_lookup reindexes its tables itself\n");
		return EX_OK_;
	}
	if (strcmp(base, "mailq") == 0) {
		char prog[PATH_BYTES_MAX];

		progname = "mailq";
		if (fmt(prog, sizeof prog, "%s/queue-list", vdmail_bin()))
			die(EX_TEMPFAIL_, "path too long");
		execl(prog, "queue-list", (char *)NULL);
		die_sys(EX_TEMPFAIL_, "run %s", prog);
	}
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (strcmp(o, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(o, "-t") == 0)
			take_headers = 1;
		else if (strcmp(o, "-i") == 0 || strcmp(o, "-oi") == 0)
			dot_ends = 0;
		else if (strncmp(o, "-f", 2) == 0 || strncmp(o, "-r", 2) == 0)
			sender = o[2] ? o + 2 : (i + 1 < argc ? argv[++i] : NULL);
		else if (strncmp(o, "-F", 2) == 0)
			fullname = o[2] ? o + 2 : (i + 1 < argc ? argv[++i] : NULL);
		else if (strcmp(o, "-bp") == 0) {
			char prog[PATH_BYTES_MAX];

			if (fmt(prog, sizeof prog, "%s/queue-list",
			    vdmail_bin()))
				die(EX_TEMPFAIL_, "path too long");
			execl(prog, "queue-list", (char *)NULL);
			die_sys(EX_TEMPFAIL_, "run %s", prog);
		} else if (strcmp(o, "-bs") == 0) {
			char prog[PATH_BYTES_MAX];

			/* SMTP on stdin from a local user, who may send anywhere */
			if (libexec_path(prog, sizeof prog, "smtp-accept") == -1)
				die(EX_TEMPFAIL_, "path too long");
			if (setenv("RELAYCLIENT", "", 1) == -1 ||
			    setenv("TCPREMOTEIP", "127.0.0.1", 1) == -1)
				die_sys(EX_TEMPFAIL_, "setenv");
			unsetenv("TCPREMOTEHOST");
			execl(prog, "smtp-accept", (char *)NULL);
			die_sys(EX_TEMPFAIL_, "run %s", prog);
		} else if (strcmp(o, "-bm") == 0 || strcmp(o, "-v") == 0 ||
		    strcmp(o, "-m") == 0 || strcmp(o, "-n") == 0 ||
		    strcmp(o, "-U") == 0 || strncmp(o, "-o", 2) == 0 ||
		    strncmp(o, "-q", 2) == 0) {
			/* accepted for compatibility; nothing to do */
		} else if (o[1] != '\0' && strchr("BCNRVXL", o[1]) != NULL) {
			/* options with a value, accepted and ignored */
			if (o[2] == '\0')
				i++;
		} else {
			warn("unknown option %s", o);
			die(EX_USAGE_, "usage: sendmail [-t] [-i] [-f sender] "
			    "[-F name] [address ...]");
		}
	}
	if (control_line("me", me, sizeof me, "localhost") < 0 ||
	    control_line("defaulthost", defaulthost, sizeof defaulthost, me) < 0)
		die_sys(EX_TEMPFAIL_, "control/defaulthost");
	for (; i < argc; i++)
		header_addresses(argv[i]);
	if (sender == NULL) {
		struct passwd *pw = getpwuid(getuid());
		const char *user = pw != NULL ? pw->pw_name : getenv("LOGNAME");

		if (user == NULL || user[0] == '\0')
			user = "nobody";
		if (fmt(from, sizeof from, "%s@%s", user, defaulthost))
			die(EX_DATAERR_, "sender too long");
	} else if (strcmp(sender, "<>") == 0 || sender[0] == '\0') {
		from[0] = '\0';
	} else if (strlen(sender) > ADDR_BYTES_MAX ||
	    !is_clean(sender, strlen(sender)) || strchr(sender, ' ')) {
		die(EX_DATAERR_, "malformed sender");
	} else if (strchr(sender, '@') == NULL) {
		if (fmt(from, sizeof from, "%s@%s", sender, defaulthost))
			die(EX_DATAERR_, "sender too long");
	} else {
		(void)fmt(from, sizeof from, "%s", sender);
	}
	if (fullname != NULL && (strlen(fullname) > NAME_BYTES_MAX ||
	    !is_clean(fullname, strlen(fullname))))
		die(EX_DATAERR_, "malformed full name");

	signal(SIGPIPE, SIG_IGN);
	head = malloc(HEADER_BYTES_MAX + 1);
	if (head == NULL)
		die(EX_TEMPFAIL_, "out of memory");
	if (inject_open(&q, NULL) == -1)
		die_sys(EX_TEMPFAIL_, "start queue-inject");

	/*
	 * The header, kept whole in memory to learn what it lacks and whom
	 * it names; then the body, streamed.
	 */
	{
		FILE *in = stdin;
		char *first = NULL;	/* a body line that ended the header */
		int ended = 0;

		while (fgets(line, sizeof line, in) != NULL) {
			size_t n = strlen(line);

			if (dot_ends && (strcmp(line, ".\n") == 0 ||
			    strcmp(line, ".\r\n") == 0 || strcmp(line, ".") == 0)) {
				ended = 1;
				break;
			}
			if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n') {
				line[n - 2] = '\n';
				line[--n] = '\0';
			}
			if (line[0] == '\n')
				break;		/* the blank line: the body follows */
			if (line[0] != ' ' && line[0] != '\t' &&
			    line[strcspn(line, " \t:")] != ':') {
				first = strdup(line);	/* no header: body */
				if (first == NULL)
					die(EX_TEMPFAIL_, "out of memory");
				break;
			}
			if (hlen + n > HEADER_BYTES_MAX)
				die(EX_DATAERR_, "header longer than %d bytes",
				    HEADER_BYTES_MAX);
			memcpy(head + hlen, line, n);
			hlen += n;
		}
		if (ferror(in))
			die_sys(EX_IOERR_, "read stdin");
		head[hlen] = '\0';

		/* Each field with its continuation lines; Bcc dropped with -t. */
		{
			size_t out = 0;

			for (char *p = head; *p != '\0';) {
				char *e = p;
				size_t fl;

				do {
					char *nl = strchr(e, '\n');

					e = nl != NULL ? nl + 1 : e + strlen(e);
				} while (*e == ' ' || *e == '\t');
				fl = (size_t)(e - p);
				have_date |= header_is(p, "date");
				have_id |= header_is(p, "message-id");
				have_from |= header_is(p, "from");
				if (take_headers && (header_is(p, "to") ||
				    header_is(p, "cc") || header_is(p, "bcc"))) {
					char v[HEADER_BYTES_MAX > 65536 ? 65536 :
					    HEADER_BYTES_MAX];
					char *colon = strchr(p, ':');
					size_t vl = (size_t)(e - colon - 1);

					if (vl >= sizeof v)
						die(EX_DATAERR_, "a header field "
						    "too long");
					memcpy(v, colon + 1, vl);
					v[vl] = '\0';
					for (char *c = v; *c != '\0'; c++)
						if (*c == '\n' || *c == '\r')
							*c = ' ';
					header_addresses(v);
				}
				if (!(take_headers && header_is(p, "bcc"))) {
					memmove(head + out, p, fl);
					out += fl;
				}
				p = e;
			}
			hlen = out;
		}
		if (nrcpts == 0)
			die(EX_USAGE_, "no recipients: give addresses, or -t "
			    "with To, Cc or Bcc lines");
		{
			char add[2048], date[64], id[MSGID_BYTES_MAX];
			size_t an = 0;

			if (!have_date) {
				rfc5322_date(date, sizeof date);
				an += (size_t)snprintf(add + an, sizeof add - an,
				    "Date: %s\n", date);
			}
			if (!have_id && msgid_new(id) == 0)
				an += (size_t)snprintf(add + an, sizeof add - an,
				    "Message-ID: <%s@%s>\n", id, defaulthost);
			if (!have_from && fullname != NULL)
				an += (size_t)snprintf(add + an, sizeof add - an,
				    "From: %s <%s>\n", fullname, from[0] ? from :
				    "MAILER-DAEMON");
			else if (!have_from)
				an += (size_t)snprintf(add + an, sizeof add - an,
				    "From: %s\n", from[0] ? from : "MAILER-DAEMON");
			if (inject_write(&q, add, an) == -1 ||
			    inject_write(&q, head, hlen) == -1 ||
			    inject_write(&q, "\n", 1) == -1)
				goto done;
		}
		if (first != NULL && inject_write(&q, first, strlen(first)) == -1)
			goto done;
		free(first);
		if (ended)
			goto done;
		while (fgets(line, sizeof line, in) != NULL) {
			size_t n = strlen(line);

			/* "." ends only a whole line: fgets may split long ones */
			if (dot_ends && (strcmp(line, ".\n") == 0 ||
			    strcmp(line, ".\r\n") == 0 || strcmp(line, ".") == 0))
				break;
			if (inject_write(&q, line, n) == -1)
				break;
		}
		if (ferror(in)) {
			inject_abort(&q);
			die_sys(EX_IOERR_, "read stdin");
		}
	}
done:
	code = inject_close(&q, from, (const char *const *)rcpts, nrcpts);
	if (code == 0)
		return EX_OK_;
	die(code >= 11 && code <= 40 ? EX_UNAVAILABLE_ : EX_TEMPFAIL_, "%s",
	    inject_strerror(code));
}
