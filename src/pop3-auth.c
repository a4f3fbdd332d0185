/*
 * pop3-auth - the AUTHORIZATION state of POP3 (RFC 1939): USER, PASS,
 * CAPA and QUIT, then a checkpassword-compatible program.
 *
 * Usage:  pop3-auth HOST CHECKPROGRAM SUBPROGRAM [ARG...]
 * fd 0/1: the client.  On PASS it runs CHECKPROGRAM SUBPROGRAM ARG...
 * with "user\0password\0timestamp\0" on fd 3; that program, on success,
 * becomes the user and runs SUBPROGRAM (pop3-session) on the same fds.
 * Exit:   0 after QUIT, the client's EOF or a finished session; 111 on a
 *         timeout or trouble.
 *
 * It may run as root (so that the checkpassword program can become the
 * user), so it is small: it reads a few bounded lines, one byte at a
 * time (nothing meant for the session is read ahead), and hands over.
 * No APOP: it needs the cleartext secret, which vdmail never stores.
 * A failed login is answered after at least one second, the same way
 * for an unknown user as for a wrong password.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "fmt.h"
#include "xio.h"

enum {
	LINE_BYTES_MAX = 512,		/* a command line, CRLF included */
	USER_BYTES_MAX = 256,
	HOST_BYTES_MAX = 255,		/* HOST goes into every timestamp */
	IDLE_SECONDS = 600,
	ERRORS_MAX = 10,
	LOGINS_MAX = 3,			/* failed logins, then the end */
	FAIL_DELAY_MS = 1000
};

static const char *host;
static char user[USER_BYTES_MAX + 1];
static int have_user;

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static void
out(const char *s)
{
	if (write_all(1, s, strlen(s)) == -1)
		_exit(QEXIT_TEMP);
}

/* One line, read a byte at a time: 1 a line, 0 EOF, -1 over-long. */
static int
get_line(char *buf, size_t size)
{
	size_t n = 0;
	int toolong = 0;

	for (;;) {
		char c;
		ssize_t r;
		int w = wait_readable(0, IDLE_SECONDS * 1000);

		if (w == 0) {
			out("-ERR timeout\r\n");
			_exit(QEXIT_TEMP);
		}
		if (w < 0)
			_exit(QEXIT_TEMP);
		r = xread(0, &c, 1);
		if (r <= 0)
			return 0;
		if (c == '\n')
			break;
		if (n + 2 > size)
			toolong = 1;
		else
			buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return toolong ? -1 : 1;
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The reply to a refused login; the last one allowed, if refused for its
 * password or name, gets the ending. */
static void
login(char **sub, char *password, int last)
{
	char data[USER_BYTES_MAX + LINE_BYTES_MAX + HOST_BYTES_MAX + 64];
	long long t0 = now_us();
	size_t ul = strlen(user), pl = strlen(password), n;
	int p[2], status;
	pid_t pid;

	n = ul + 1 + pl + 1;
	memcpy(data, user, ul + 1);
	memcpy(data + ul + 1, password, pl + 1);
	n += (size_t)snprintf(data + n, sizeof data - n, "<%ld.%lld@%s>",
	    (long)getpid(), (long long)time(NULL), host) + 1;
	wipe(password, pl);
	if (pipe(p) == -1)
		die_sys(QEXIT_TEMP, "pipe");
	pid = fork();
	if (pid == -1)
		die_sys(QEXIT_TEMP, "fork");
	if (pid == 0) {
		close(p[1]);
		if (p[0] != 3) {
			if (dup2(p[0], 3) == -1)
				_exit(QEXIT_TEMP);
			close(p[0]);
		}
		execvp(sub[0], sub);
		_exit(QEXIT_TEMP);
	}
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	if (write_all(p[1], data, n) == -1) {
		/* the program did not read: its status says why */
	}
	wipe(data, sizeof data);
	close(p[1]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die_sys(QEXIT_TEMP, "wait");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		_exit(QEXIT_OK);	/* the session ran and ended */
	/* the same delay and reply for any failed login */
	/* in microseconds: whole milliseconds could end it 1 ms early */
	for (long long left; (left = t0 + FAIL_DELAY_MS * 1000LL -
	    now_us()) > 0;) {
		struct timespec ts = { (time_t)(left / 1000000),
		    (long)(left % 1000000) * 1000 };

		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		out(last ? "-ERR too many failed logins\r\n" :
		    "-ERR authorization failed\r\n");
	else	/* not the client's fault: said so even at the end */
		out("-ERR temporary failure; try again later\r\n");
	have_user = 0;
	wipe(user, sizeof user);
}

int
main(int argc, char **argv)
{
	char line[LINE_BYTES_MAX];
	unsigned errors = 0, failures = 0;

	progname = "pop3-auth";
	if (argc < 4)
		usage("HOST CHECKPROGRAM SUBPROGRAM [ARG...]");
	host = argv[1];
	if (strlen(host) > HOST_BYTES_MAX)
		die(QEXIT_TEMP, "HOST longer than %d bytes", HOST_BYTES_MAX);
	signal(SIGPIPE, SIG_IGN);
	{
		char greet[300];

		(void)fmt(greet, sizeof greet, "+OK %s POP3 ready\r\n", host);
		out(greet);
	}
	for (;;) {
		int r = get_line(line, sizeof line);
		char *arg;

		if (r == 0)
			return QEXIT_OK;
		if (r < 0) {
			if (++errors > ERRORS_MAX)
				break;
			out("-ERR line too long\r\n");
			continue;
		}
		arg = strchr(line, ' ');
		if (arg != NULL)
			*arg++ = '\0';
		else
			arg = line + strlen(line);
		if (strcasecmp(line, "USER") == 0) {
			size_t n = strlen(arg);

			if (n == 0 || n > USER_BYTES_MAX) {
				out("-ERR syntax: USER name\r\n");
				continue;
			}
			memcpy(user, arg, n + 1);
			have_user = 1;
			out("+OK\r\n");
		} else if (strcasecmp(line, "PASS") == 0) {
			if (!have_user) {
				out("-ERR USER first\r\n");
				continue;
			}
			/* returns only when refused */
			login(argv + 2, arg, ++failures >= LOGINS_MAX);
			if (failures >= LOGINS_MAX)
				return QEXIT_OK;
		} else if (strcasecmp(line, "CAPA") == 0) {
			out("+OK capabilities follow\r\nUSER\r\nTOP\r\nUIDL\r\n"
			    "RESP-CODES\r\nIMPLEMENTATION vdmail\r\n.\r\n");
		} else if (strcasecmp(line, "QUIT") == 0) {
			out("+OK bye\r\n");
			return QEXIT_OK;
		} else if (strcasecmp(line, "APOP") == 0) {
			out("-ERR APOP is not offered: use USER and PASS\r\n");
		} else {
			if (++errors > ERRORS_MAX)
				break;
			out("-ERR authorization first\r\n");
		}
	}
	/* in place of the eleventh error's own reply */
	out("-ERR too many errors\r\n");
	return QEXIT_OK;
}
