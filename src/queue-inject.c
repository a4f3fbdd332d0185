/*
 * queue-inject - put one message into the queue (the qmail-queue interface).
 *
 * fd 0:  the message.  fd 1:  the envelope, "F sender \0 (T rcpt \0)... \0".
 * Exit:  0 once message and envelope are on disk and fsynced; otherwise
 *        one of qmail-queue(8)'s codes (11..40 permanent, others temporary).
 *        It prints nothing: its callers map the code to a reply.
 *
 * The commit: write tmp/ID (header, envelope, message), link it to new/ID
 * (link, unlike rename, never replaces a message already there), syncfs
 * (on Linux; elsewhere fsync before the link and fsync new/ after it),
 * unlink tmp/ID.  A crash before the sync returns leaves tmp/ debris or a
 * new/ID whose size may not match its header, which queue-run refuses and
 * queue-check sets aside; the sender got no 250 for it.  After the sync
 * the message is safe.  See vdmail-queue(5).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "die.h"
#include "msgid.h"
#include "queue.h"
#include "xio.h"

/* qmail-queue(8)'s exit codes. */
enum {
	QQ_TOOLONG = 11,	/* an address is too long */
	QQ_NOMEM = 51,
	QQ_TIMEOUT = 52,
	QQ_WRITE = 53,		/* write or fsync failed: disk full, I/O error */
	QQ_READ = 54,		/* could not read the message or the envelope */
	QQ_QUEUEDIR = 61,	/* could not find or enter the queue */
	QQ_CREATE = 62,		/* could not make the queue file */
	QQ_BUG = 81,
	QQ_ENVELOPE = 91	/* the envelope is malformed */
};

enum {
	INJECT_SECONDS = 86400,		/* the longest an injection may take */
	MEMORY_BYTES = 1024 * 1024,	/* larger messages go through a spill file */
	ENVELOPE_BYTES_MAX = QUEUE_ENVELOPE_MAX,
	RECIPIENTS_MAX = 100000
};

static char tmpname[64];	/* tmp/ID, removed on every failure */
static int spillfd = -1;

static _Noreturn void
fail(int code)
{
	if (tmpname[0] != '\0')
		unlink(tmpname);
	_exit(code);
}

static void
on_alarm(int sig)
{
	(void)sig;
	fail(QQ_TIMEOUT);
}

/* A growing buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static int
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/*
 * Read the message: into memory while it is small, then into an unlinked
 * spill file in tmp/.  Returns its length.
 */
static uint64_t
read_message(struct buf *m)
{
	char chunk[65536];
	uint64_t total = 0;

	for (;;) {
		ssize_t r = xread(0, chunk, sizeof chunk);

		if (r < 0)
			fail(QQ_READ);
		if (r == 0)
			return total;
		total += (uint64_t)r;
		if (spillfd == -1 && m->len + (size_t)r <= MEMORY_BYTES) {
			if (buf_add(m, chunk, (size_t)r) == -1)
				fail(QQ_NOMEM);
			continue;
		}
		if (spillfd == -1) {
			char name[96];
			char id[MSGID_BYTES_MAX];

			if (msgid_new(id) == -1)
				fail(QQ_CREATE);
			snprintf(name, sizeof name, "tmp/%s.spill", id);
			spillfd = open(name, O_RDWR | O_CREAT | O_EXCL |
			    O_CLOEXEC, 0600);
			if (spillfd == -1)
				fail(QQ_CREATE);
			unlink(name);
			if (write_all(spillfd, m->p, m->len) == -1)
				fail(QQ_WRITE);
			m->len = 0;
		}
		if (write_all(spillfd, chunk, (size_t)r) == -1)
			fail(QQ_WRITE);
	}
}

/* Read and check the envelope; its bytes end up in e. */
static void
read_envelope(struct buf *e)
{
	char chunk[8192];
	size_t start = 0, rcpts = 0;
	int done = 0;

	while (!done) {
		ssize_t r = xread(1, chunk, sizeof chunk);

		if (r < 0)
			fail(QQ_READ);
		if (r == 0)
			fail(QQ_READ);	/* EOF before the final \0: abort */
		if (e->len + (size_t)r > ENVELOPE_BYTES_MAX)
			fail(QQ_ENVELOPE);
		if (buf_add(e, chunk, (size_t)r) == -1)
			fail(QQ_NOMEM);
		/* walk the complete entries */
		for (;;) {
			char *z;
			size_t n;

			if (start >= e->len)
				break;
			if (e->p[start] == '\0' && start > 0) {
				if (start + 1 != e->len || rcpts == 0)
					fail(QQ_ENVELOPE);
				done = 1;
				break;
			}
			z = memchr(e->p + start, '\0', e->len - start);
			if (z == NULL) {
				if (e->len - start > ADDR_BYTES_MAX + 1)
					fail(QQ_TOOLONG);
				break;
			}
			n = (size_t)(z - (e->p + start));
			if (n == 0 || e->p[start] != (start == 0 ? 'F' : 'T'))
				fail(QQ_ENVELOPE);
			if (n - 1 > ADDR_BYTES_MAX)
				fail(QQ_TOOLONG);
			if (!is_clean(e->p + start + 1, n - 1))
				fail(QQ_ENVELOPE);
			if (start > 0 && (n == 1 || ++rcpts > RECIPIENTS_MAX))
				fail(QQ_ENVELOPE);
			start += n + 1;
		}
	}
}

/* Write the message's bytes (from memory or the spill file) to fd. */
static void
write_body(int fd, const struct buf *m, uint64_t total)
{
	char chunk[65536];
	off_t off = 0;

	if (spillfd == -1) {
		if (write_all(fd, m->p, m->len) == -1)
			fail(QQ_WRITE);
		return;
	}
	while ((uint64_t)off < total) {
		ssize_t r = pread(spillfd, chunk, sizeof chunk, off);

		if (r <= 0)
			fail(QQ_READ);
		if (write_all(fd, chunk, (size_t)r) == -1)
			fail(QQ_WRITE);
		off += r;
	}
}

/*
 * Make tmp/ID durable as new/ID.  Where sync_filesystem() can be trusted
 * (Linux 5.17 or later on ext4, XFS, Btrfs): link, then one syncfs(2),
 * which writes the file and both names out in a commit shared with every
 * injection running at the same moment (group commit, through
 * lock/sync: one that finished writing before another's sync began
 * waits for that sync instead of making its own).  Until it
 * returns, nothing is promised: queue-run leaves a new/ID alone while
 * tmp/ID is still there, and refuses one whose size does not match its
 * header.  Elsewhere: fsync the file, link, fsync new/.
 */
static void
commit(int fd, const char *newname)
{
	int group = sync_filesystem_usable(fd), r;

	if (!group && fsync(fd) == -1)
		fail(QQ_WRITE);
	if (link(tmpname, newname) == -1)
		fail(errno == EEXIST ? QQ_CREATE : QQ_WRITE);
	if (group) {
		/* shared with the injections running now (lock/sync) */
		int lfd = open("lock/sync", O_RDWR | O_NOFOLLOW | O_CLOEXEC);

		r = sync_filesystem_shared(fd, lfd);
		if (lfd != -1)
			close(lfd);
		if (r == -1 && (errno == ENOSYS || errno == EPERM ||
		    errno == EINVAL))
			/* refused here: the file and its name one by one */
			r = fsync(fd) == -1 || fsync_dir("new") == -1 ? -1 : 0;
	} else {
		r = fsync_dir("new");
	}
	if (r == -1 || close_checked(fd) == -1) {
		/* the name may not be durable: take it back and fail */
		unlink(newname);
		fail(QQ_WRITE);
	}
}

static void
trigger(void)
{
	int fd = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1)
		return;		/* nobody listening: queue-run scans at start */
	if (write(fd, "", 1) < 0) {
		/* a full FIFO already holds a wake-up: nothing lost */
	}
	close(fd);
}

int
main(int argc, char **argv)
{
	struct buf msg = { 0 }, env = { 0 };
	struct queue_header h;
	char head[QUEUE_HEADER_MAX], path[PATH_BYTES_MAX], newname[64];
	const char *given;
	struct iovec iov[3];
	uint64_t msglen;
	size_t hlen;
	int fd;

	progname = "queue-inject";
	(void)argv;
	if (argc > 1)
		usage("");
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(INJECT_SECONDS);
	umask(027);

	if (root_path(path, sizeof path, "queue") == -1 || chdir(path) == -1)
		_exit(QQ_QUEUEDIR);
	{
		/* a queue of another format is not ours to write */
		char ver[64];
		int vfd = open("VERSION", O_RDONLY | O_CLOEXEC);
		ssize_t r = vfd == -1 ? -1 : xread(vfd, ver, sizeof ver - 1);

		if (vfd != -1)
			close(vfd);
		if (r < 0)
			_exit(QQ_QUEUEDIR);
		ver[r] = '\0';
		if (strcmp(ver, QUEUE_VERSION "\n") != 0)
			_exit(QQ_QUEUEDIR);
	}

	msglen = read_message(&msg);
	read_envelope(&env);

	/* The id: the caller's suggestion (smtp-accept names it in its 250
	 * reply) when well-formed, else a fresh one.  Never an overwrite:
	 * O_EXCL here and link(2) below refuse a name in use. */
	given = getenv("VDMAIL_MSGID");
	if (given != NULL && msgid_valid(given))
		snprintf(h.id, sizeof h.id, "%s", given);
	else if (msgid_new(h.id) == -1)
		_exit(QQ_CREATE);
	h.time = (long long)time(NULL);
	h.envelope = env.len;
	h.message = msglen;
	hlen = queue_header_format(head, &h);
	if (hlen == 0)
		_exit(QQ_BUG);

	snprintf(tmpname, sizeof tmpname, "tmp/%s", h.id);
	snprintf(newname, sizeof newname, "new/%s", h.id);
	snprintf(path, sizeof path, "mess/%c/%s", msgid_bucket(h.id), h.id);
	{
		/* that id is taken (by the effective ids: access(2) would ask
		 * with the caller's) */
		struct stat st;

		if (lstat(path, &st) == 0)
			_exit(QQ_CREATE);
	}
	fd = open(tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd == -1) {
		tmpname[0] = '\0';	/* not ours to remove */
		_exit(QQ_CREATE);
	}
	iov[0].iov_base = head;
	iov[0].iov_len = hlen;
	iov[1].iov_base = env.p;
	iov[1].iov_len = env.len;
	iov[2].iov_base = msg.p;
	iov[2].iov_len = spillfd == -1 ? msg.len : 0;
	{
		size_t want = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
		ssize_t w = writev(fd, iov, 3);

		if (w < 0 || (size_t)w != want) {
			/* short or failed: fall back to plain writes */
			if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) ||
			    write_all(fd, head, hlen) == -1 ||
			    write_all(fd, env.p, env.len) == -1)
				fail(QQ_WRITE);
			write_body(fd, &msg, msglen);
		} else if (spillfd != -1) {
			write_body(fd, &msg, msglen);
		}
	}
	commit(fd, newname);
	unlink(tmpname);
	tmpname[0] = '\0';
	trigger();
	free(msg.p);	/* nothing leaks at exit: LeakSanitizer stays quiet */
	free(env.p);
	return QEXIT_OK;
}
