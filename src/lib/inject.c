/*
 * inject - hand a message to queue-inject (or $QMAILQUEUE).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "inject.h"
#include "xio.h"

extern char **environ;

int
inject_open(struct inject *q, const char *id)
{
	char prog[PATH_BYTES_MAX], idvar[64];
	const char *qq = getenv("QMAILQUEUE");
	posix_spawn_file_actions_t fa;
	int m[2], e[2], r;
	char *argv[2], **envp;
	size_t n = 0, k = 0;

	q->pid = -1;
	q->msgfd = q->envfd = -1;
	if (qq != NULL && qq[0] != '\0' && !privileged())
		snprintf(prog, sizeof prog, "%s", qq);
	else if (libexec_path(prog, sizeof prog, "queue-inject") == -1)
		return -1;
	while (environ[n] != NULL)
		n++;
	envp = calloc(n + 2, sizeof *envp);
	if (envp == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "VDMAIL_MSGID=", 13) != 0)
			envp[k++] = environ[i];
	if (id != NULL) {
		snprintf(idvar, sizeof idvar, "VDMAIL_MSGID=%s", id);
		envp[k++] = idvar;
	}
	envp[k] = NULL;
	if (pipe(m) == -1) {
		free(envp);
		return -1;
	}
	if (pipe(e) == -1) {
		close(m[0]);
		close(m[1]);
		free(envp);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(m[i], F_SETFD, FD_CLOEXEC);
		fcntl(e[i], F_SETFD, FD_CLOEXEC);
	}
	argv[0] = prog;
	argv[1] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, m[0], 0);
	posix_spawn_file_actions_adddup2(&fa, e[0], 1);
	r = posix_spawn(&q->pid, prog, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(m[0]);
	close(e[0]);
	if (r != 0) {
		close(m[1]);
		close(e[1]);
		q->pid = -1;
		errno = r;
		return -1;
	}
	q->msgfd = m[1];
	q->envfd = e[1];
	return 0;
}

int
inject_write(struct inject *q, const void *buf, size_t len)
{
	if (q->msgfd == -1)
		return -1;
	if (write_all(q->msgfd, buf, len) == -1) {
		close(q->msgfd);
		q->msgfd = -1;
		return -1;
	}
	return 0;
}

int
inject_copy(struct inject *q, const char *prefix, int fd)
{
	char buf[65536];

	if (prefix != NULL && prefix[0] != '\0' &&
	    inject_write(q, prefix, strlen(prefix)) == -1)
		return 0;
	for (;;) {
		ssize_t r = xread(fd, buf, sizeof buf);

		if (r < 0) {
			int e = errno;

			inject_abort(q);
			errno = e;
			return -1;
		}
		if (r == 0 || inject_write(q, buf, (size_t)r) == -1)
			return 0;
	}
}

static int
reap(struct inject *q)
{
	int status;

	while (waitpid(q->pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	q->pid = -1;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The envelope, gathered so that queue-inject gets it in few writes. */
struct envbuf {
	int fd, bad;
	size_t len;
	char b[4096];
};

static void
env_put(struct envbuf *e, const char *s, size_t n)
{
	while (n > 0 && !e->bad) {
		size_t k = sizeof e->b - e->len;

		if (k == 0) {
			e->bad |= write_all(e->fd, e->b, e->len) == -1;
			e->len = 0;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(e->b + e->len, s, k);
		e->len += k;
		s += k;
		n -= k;
	}
}

int
inject_close(struct inject *q, const char *sender, const char *const *rcpts,
    size_t n)
{
	struct envbuf e;

	if (q->msgfd != -1)
		close(q->msgfd);
	q->msgfd = -1;
	e.fd = q->envfd;
	e.bad = 0;
	e.len = 0;
	env_put(&e, "F", 1);
	env_put(&e, sender, strlen(sender) + 1);
	for (size_t i = 0; i < n; i++) {
		env_put(&e, "T", 1);
		env_put(&e, rcpts[i], strlen(rcpts[i]) + 1);
	}
	env_put(&e, "", 1);
	if (!e.bad && e.len > 0)
		(void)write_all(e.fd, e.b, e.len);
	close(q->envfd);
	q->envfd = -1;
	/* a refused write shows in the exit status */
	return reap(q);
}

void
inject_abort(struct inject *q)
{
	if (q->msgfd != -1)
		close(q->msgfd);
	if (q->envfd != -1)
		close(q->envfd);
	q->msgfd = q->envfd = -1;
	if (q->pid > 0)
		reap(q);
}

const char *
inject_strerror(int code)
{
	static char buf[96];
	const char *what;

	switch (code) {
	case -1: what = "crashed"; break;
	case 11: what = "address too long"; break;
	case 31: what = "message refused"; break;
	case 51: what = "out of memory"; break;
	case 52: what = "timeout"; break;
	case 53: what = "write error, disk full?"; break;
	case 54: what = "unable to read the message or envelope"; break;
	case 55: what = "unable to read a configuration file"; break;
	case 61: what = "unable to enter the queue"; break;
	case 62: what = "unable to make the queue file"; break;
	case 81: what = "internal bug"; break;
	case 91: what = "envelope format error"; break;
	default: what = code >= 11 && code <= 40 ? "permanent refusal" :
		    "temporary failure"; break;
	}
	snprintf(buf, sizeof buf, "queue-inject: code %d (%s)", code, what);
	return buf;
}
