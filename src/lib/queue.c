/*
 * queue - the on-disk queue's layout and message file format.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "msgid.h"
#include "queue.h"
#include "xio.h"

size_t
queue_header_format(char *buf, const struct queue_header *h)
{
	int n = snprintf(buf, QUEUE_HEADER_MAX,
	    "%s\nid %s\ntime %lld\nenvelope %" PRIu64 "\nmessage %" PRIu64
	    "\n\n", QUEUE_VERSION, h->id, h->time, h->envelope, h->message);

	return n > 0 && n < QUEUE_HEADER_MAX ? (size_t)n : 0;
}

/* Read "key value\n" at *p; the value's text into val (NUL-terminated). */
static int
field(const char **p, const char *end, const char *key, char *val,
    size_t size)
{
	size_t k = strlen(key), n = 0;
	const char *q = *p;

	if ((size_t)(end - q) < k + 1 || memcmp(q, key, k) != 0 || q[k] != ' ')
		return -1;
	q += k + 1;
	while (q < end && *q != '\n') {
		if (n + 1 >= size || *q == '\0')
			return -1;
		val[n++] = *q++;
	}
	if (q == end || n == 0)
		return -1;
	val[n] = '\0';
	*p = q + 1;
	return 0;
}

static int
number(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return -1;	/* one spelling per number: no leading zeros */
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

int
queue_header_parse(const char *buf, size_t len, struct queue_header *h)
{
	const char *p = buf, *end = buf + (len < QUEUE_HEADER_MAX ? len :
	    QUEUE_HEADER_MAX);
	size_t vl = strlen(QUEUE_VERSION);
	char v[64];
	uint64_t t;

	if ((size_t)(end - p) < vl + 1 || memcmp(p, QUEUE_VERSION, vl) != 0 ||
	    p[vl] != '\n')
		return -1;
	p += vl + 1;
	if (field(&p, end, "id", h->id, sizeof h->id) == -1 ||
	    !msgid_valid(h->id))
		return -1;
	if (field(&p, end, "time", v, sizeof v) == -1 || number(v, &t) == -1)
		return -1;
	h->time = (long long)t;
	if (field(&p, end, "envelope", v, sizeof v) == -1 ||
	    number(v, &h->envelope) == -1)
		return -1;
	if (field(&p, end, "message", v, sizeof v) == -1 ||
	    number(v, &h->message) == -1)
		return -1;
	if (p >= end || *p != '\n')
		return -1;
	h->length = (size_t)(p + 1 - buf);
	return 0;
}

/* The envelope's form: F addr \0, at least one T addr \0, then \0. */
static int
envelope_ok(const char *e, size_t n)
{
	size_t i = 0, rcpts = 0;

	if (n < 2 || e[0] != 'F')
		return 0;
	for (;;) {
		const char *z = memchr(e + i, '\0', n - i);

		if (z == NULL)
			return 0;
		i = (size_t)(z - e) + 1;
		if (i >= n)
			return 0;
		if (e[i] == '\0')
			return i + 1 == n && rcpts > 0;
		if (e[i] != 'T')
			return 0;
		rcpts++;
	}
}

int
queue_file_check(const char *path, struct queue_header *h, const char **why)
{
	char head[QUEUE_HEADER_MAX];
	struct stat st;
	char *env = NULL;
	ssize_t r;
	int fd, ret = 1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto ioerr;
	r = xread(fd, head, sizeof head);
	if (r < 0)
		goto ioerr;
	if (queue_header_parse(head, (size_t)r, h) == -1) {
		*why = "malformed header";
		goto out;
	}
	if ((uint64_t)st.st_size != h->length + h->envelope + h->message) {
		*why = "size does not match header";
		goto out;
	}
	if (h->envelope > QUEUE_ENVELOPE_MAX) {
		*why = "envelope too large";
		goto out;
	}
	env = malloc(h->envelope + 1);
	if (env == NULL)
		goto ioerr;
	r = pread(fd, env, h->envelope, (off_t)h->length);
	if (r < 0)
		goto ioerr;
	if ((uint64_t)r != h->envelope || !envelope_ok(env, h->envelope)) {
		*why = "malformed envelope";
		goto out;
	}
	ret = 0;
out:
	free(env);
	close(fd);
	return ret;
ioerr:
	free(env);
	close(fd);
	return -1;
}

int
queue_inflow_mark(int fd, int on)
{
	static const struct timespec zero[2] = { { 0, 0 }, { 0, 0 } };

	return futimens(fd, on ? NULL : zero);
}

int
queue_inflow_open(const char *path)
{
	struct stat st;
	int fd;

	/* non-blocking: a FIFO put in its place must not hang anyone */
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		/* made with time 0: a fresh mtime would hold smtp-accept */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC, 0644);
		if (fd != -1 && queue_inflow_mark(fd, 0) == -1)
			goto fail;
	}
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	return fd;
fail:
	return close_failed(fd);
}

int
queue_inflow_make(const char *path)
{
	int fd = queue_inflow_open(path);

	return fd == -1 ? -1 : close(fd);
}

int
queue_sync_make(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	return fd == -1 ? -1 : close(fd);
}

int
queue_make(const char *dir)
{
	static const char *const sub[] = { "tmp", "new", "mess", "state",
	    "lock" };
	char path[4096], ver[sizeof QUEUE_VERSION + 1];
	int n;

	/* queue/ and lock/ searchable by all: smtp-accept reads lock/inflow */
	if (mkdir(dir, 0751) == -1 && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		n = snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
		if (n < 0 || (size_t)n >= sizeof path)
			return errno = ENAMETOOLONG, -1;
		if (mkdir(path, strcmp(sub[i], "lock") == 0 ? 0751 : 0750) == -1 &&
		    errno != EEXIST)
			return -1;
	}
	for (const char *b = msgid_alphabet; *b != '\0'; b++) {
		for (int k = 0; k < 2; k++) {
			n = snprintf(path, sizeof path, "%s/%s/%c", dir,
			    k ? "state" : "mess", *b);
			if (n < 0 || (size_t)n >= sizeof path)
				return errno = ENAMETOOLONG, -1;
			if (mkdir(path, 0750) == -1 && errno != EEXIST)
				return -1;
		}
	}
	n = snprintf(path, sizeof path, "%s/lock/trigger", dir);
	if (n < 0 || (size_t)n >= sizeof path)
		return errno = ENAMETOOLONG, -1;
	if (mkfifo(path, 0620) == -1 && errno != EEXIST)
		return -1;
	for (int k = 0; k < 2; k++) {
		n = snprintf(path, sizeof path, "%s/lock/%s", dir,
		    k ? "sync" : "inflow");
		if (n < 0 || (size_t)n >= sizeof path)
			return errno = ENAMETOOLONG, -1;
		if ((k ? queue_sync_make : queue_inflow_make)(path) == -1)
			return -1;
	}
	n = snprintf(path, sizeof path, "%s/VERSION", dir);
	if (n < 0 || (size_t)n >= sizeof path)
		return errno = ENAMETOOLONG, -1;
	memcpy(ver, QUEUE_VERSION "\n", sizeof ver);
	return write_file_atomic(path, ver, strlen(ver), 0644);
}

int
queue_state_line(const char *line, char *kind, unsigned long *idx,
    const char **rest)
{
	const char *p = line + 2;
	unsigned long n = 0;

	if ((line[0] != 'd' && line[0] != 'f' && line[0] != 't') ||
	    line[1] != ' ' || !isdigit((unsigned char)*p))
		return 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (~0UL - 9) / 10)
			return 0;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (line[0] == 'd' ? *p != '\0' : *p != ' ')
		return 0;
	*kind = line[0];
	*idx = n;
	*rest = *p == ' ' ? p + 1 : p;
	return 1;
}
