/*
 * queue-run - the queue manager: a supervised daemon that delivers what
 * queue-inject committed.
 *
 * It takes each message from queue/new/ (woken at once by a byte on the
 * lock/trigger FIFO) into queue/mess/B/, routes each recipient, runs
 * local deliveries (dotqmail-exec) within control/concurrencylocal,
 * records each recipient's outcome in queue/state/B/ID, retries
 * temporary failures on a growing back-off, bounces permanent ones (and
 * those older than control/queuelifetime) as RFC 3464 reports, and
 * removes a message once every recipient is done.
 *
 * stdout: one "event=... msg=ID ..." line per event (for multilog).
 * Signals: TERM finishes the deliveries under way and exits 0; ALRM
 * retries every deferred message now.
 * Exit: 0 after TERM; 111 when it cannot work in the queue.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "control.h"
#include "die.h"
#include "inject.h"
#include "logfmt.h"
#include "msgid.h"
#include "queue.h"
#include "route.h"
#include "xio.h"

extern char **environ;

enum {
	CONCURRENCY_LOCAL = 10,		/* default of control/concurrencylocal */
	CONCURRENCY_REMOTE = 20,	/* default of control/concurrencyremote */
	BATCH_MAX = 100,		/* recipients of one domain per smtp-send */
	LOCAL_BATCH_MAX = 32,		/* recipients of one user per delivery run */
	LOCAL_MSGS_MAX = 16,		/* messages in one delivery run */
	SCAN_READY_MAX = 64,		/* ready messages looked at for a batch */
	FD_FLOOR = 3 + LOCAL_MSGS_MAX,	/* our message descriptors, before dup2 */
	CONCURRENCY_MAX = 1000,
	LIFETIME_DEFAULT = 604800,	/* 7 days: control/queuelifetime */
	SKIP_SECONDS = 10,		/* retry n after birth + (SKIP*n)^2 */
	SCAN_SECONDS = 60,		/* look at new/ at least this often */
	COMMIT_SECONDS = 60,		/* an injection's sync takes less */
	REPORT_MAX = 1000,
	ENVELOPE_MAX = QUEUE_ENVELOPE_MAX
};

/* A recipient's state, as recorded in state/B/ID. */
enum {
	R_PENDING = 0,
	R_DONE,			/* "d N" */
	R_FAILED,		/* "f N reason" */
	R_DEFERRED,		/* "t N tries reason": this round */
	R_RUNNING
};

struct msg {
	char id[MSGID_BYTES_MAX];
	long long birth;
	time_t next;
	unsigned attempts;
	unsigned running;
	size_t hix;			/* heap index, or SIZE_MAX */
	struct msg *qnext;		/* ready list */
	int ready;
	/* loaded while the message is being worked on */
	int loaded;
	char *env;			/* the envelope bytes */
	const char *sender;
	size_t n, cursor;		/* recipients; the next to start */
	const char **rcpt;
	unsigned char *st;
	char **reason;
	off_t msgoff;
	int dirty;			/* state lines written, not yet synced */
	char *held;			/* state lines not yet written */
	size_t heldlen;
	time_t held_since;
	struct msg *hnext, **hprev;	/* on the held list while held */
	struct lroute **lr;		/* each recipient's local route, or NULL */
	int bad;			/* load() failed: -1, to be forgotten;
					 * LOAD_LATER, to be put off */
	int unfinished;			/* the state file ends in a line left */
	off_t whole;			/* unfinished, after these bytes */
};

/* A recipient's local route, kept while its message is loaded. */
struct lroute {
	int is_local;			/* 0: remote (no strings) */
	unsigned long gen;		/* route_gen when looked up */
	unsigned long uid, gid;
	const char *user, *home, *local, *dash, *ext, *domain;
	char s[];			/* the strings */
};
static struct lroute not_local;		/* no route now: not kept */
/* Bumped when a file that routes come from changes: older ones are void. */
static unsigned long route_gen = 1;

struct job {
	pid_t pid;
	int fd;				/* its stderr (and stdout, remote) */
	struct msg *m;
	int remote;			/* smtp-send, else dotqmail-exec -m */
	size_t *idxs, nidx;		/* its recipients */
	struct msg **jm;		/* local: the message of each of them */
	char *out;
	size_t outlen, outcap;
	int eof, exited, status;
	struct timespec t0;
};

static volatile sig_atomic_t got_term, got_alrm, got_chld;
static int selfpipe[2];
static int trigger_fd = -1, trigger_wfd = -1;

static unsigned long conc_local = CONCURRENCY_LOCAL;
static unsigned long conc_remote = CONCURRENCY_REMOTE;
static size_t nlocal, nremote;		/* jobs of each kind */
static int stalled;			/* the first ready message waits for a slot */
static int installed;			/* installed mode: local-spawn delivers */
static unsigned long lifetime = LIFETIME_DEFAULT;

static struct job *jobs;
static size_t njobs;

static struct msg **heap;		/* waiting messages, by next */
static size_t nheap, capheap;
static struct msg *hot, *hot_tail;	/* arrived while running: first */
static struct msg *cold, *cold_tail;	/* backlog and due retries */
static size_t nmsgs;
static size_t nready;			/* on the hot and cold lists */
static struct msg *held;		/* messages with marks in memory */
static time_t started;			/* when we started */

/* Inflow control: lock/inflow's mtime says "behind" to smtp-accept. */
static int inflow_fd = -1;
static int inflow_on;
static time_t inflow_touched;

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGTERM)
		got_term = 1;
	else if (sig == SIGALRM)
		got_alrm = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	if (write(selfpipe[1], "", 1) < 0) {
		/* the pipe is full: a wake-up is already pending */
	}
	errno = e;
}

static void
logmsg(const char *event, const struct msg *m, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	struct logline l;

	log_start(&l, event);
	if (m != NULL)
		log_str(&l, "msg", m->id);
	if (k1 != NULL)
		log_str(&l, k1, v1);
	if (k2 != NULL)
		log_str(&l, k2, v2);
	log_end(&l, 1);
}

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL)
		die(QEXIT_TEMP, "out of memory");
	return q;
}

/* --- the heap of waiting messages, ordered by next attempt --- */

static void
heap_swap(size_t a, size_t b)
{
	struct msg *t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->hix = a;
	heap[b]->hix = b;
}

static void
heap_push(struct msg *m)
{
	size_t i;

	if (nheap == capheap) {
		capheap = capheap ? capheap * 2 : 1024;
		heap = xrealloc(heap, capheap * sizeof *heap);
	}
	i = nheap++;
	heap[i] = m;
	m->hix = i;
	while (i > 0 && heap[(i - 1) / 2]->next > heap[i]->next) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct msg *
heap_pop(void)
{
	struct msg *top = heap[0];
	size_t i = 0;

	heap_swap(0, --nheap);
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;

		if (l < nheap && heap[l]->next < heap[s]->next)
			s = l;
		if (r < nheap && heap[r]->next < heap[s]->next)
			s = r;
		if (s == i)
			break;
		heap_swap(i, s);
		i = s;
	}
	top->hix = SIZE_MAX;
	return top;
}

static void
make_ready(struct msg *m, int is_hot)
{
	m->ready = 1;
	m->qnext = NULL;
	nready++;
	if (is_hot) {
		if (hot_tail != NULL)
			hot_tail->qnext = m;
		else
			hot = m;
		hot_tail = m;
	} else {
		if (cold_tail != NULL)
			cold_tail->qnext = m;
		else
			cold = m;
		cold_tail = m;
	}
}

/* --- files --- */

static void
mess_path(char *buf, size_t size, const char *dir, const char *id)
{
	snprintf(buf, size, "%s/%c/%s", dir, msgid_bucket(id), id);
}

static void
unload(struct msg *m)
{
	free(m->env);
	free(m->rcpt);
	free(m->st);
	if (m->reason != NULL)
		for (size_t i = 0; i < m->n; i++)
			free(m->reason[i]);
	free(m->reason);
	if (m->lr != NULL)
		for (size_t i = 0; i < m->n; i++)
			free(m->lr[i]);
	free(m->lr);
	m->lr = NULL;
	m->env = NULL;
	m->rcpt = NULL;
	m->st = NULL;
	m->reason = NULL;
	m->loaded = 0;
}

/*
 * Apply state/B/ID to the recipients: done and failed ones stay so.
 * 0, or -1 when the file cannot be read now (errno).
 */
static int
read_state(struct msg *m)
{
	char path[128], *data = NULL;
	const char *p;
	FILE *f;
	size_t len = 0;
	ssize_t r;
	off_t whole = 0;

	m->unfinished = 0;
	mess_path(path, sizeof path, "state", m->id);
	f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((r = getline(&data, &len, f)) > 0) {
		unsigned long idx, tries;
		char kind;

		if (data[r - 1] != '\n') {
			/* a line cut by a crash: no mark, and write_marks()
			 * cuts it off */
			m->unfinished = 1;
			m->whole = whole;
			break;
		}
		whole += r;
		data[r - 1] = '\0';
		if (!queue_state_line(data, &kind, &idx, &p) || idx >= m->n)
			continue;
		if (kind == 'd') {
			m->st[idx] = R_DONE;
		} else if (kind == 'f') {
			m->st[idx] = R_FAILED;
			free(m->reason[idx]);
			m->reason[idx] = strdup(p);
		} else if (kind == 't' && sscanf(p, "%lu", &tries) == 1) {
			if (tries > m->attempts)
				m->attempts = (unsigned)tries;
			p = strchr(p, ' ');
			free(m->reason[idx]);
			m->reason[idx] = strdup(p != NULL ? p + 1 : "");
		}
	}
	r = ferror(f) ? -1 : 0;
	free(data);
	fclose(f);
	return r == 0 ? 0 : (errno = EIO, -1);
}

/*
 * Load the envelope and the state.  0; -1 when the file is gone or
 * unusable (malformed: queue-check's to set aside); LOAD_LATER when it
 * cannot be read now (no descriptor left, EIO, ...): try again later.
 */
enum { LOAD_LATER = -2, LOAD_RETRY_SECONDS = 60 };

static int
load(struct msg *m)
{
	char path[128], head[QUEUE_HEADER_MAX];
	struct queue_header h;
	struct stat st;
	size_t i, n = 0;
	ssize_t r;
	int fd;

	mess_path(path, sizeof path, "mess", m->id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		int gone = errno == ENOENT;

		logmsg("error", m, "reason", strerror(errno), NULL, NULL);
		return gone ? -1 : LOAD_LATER;
	}
	r = xread(fd, head, sizeof head);
	if (r < 0 || fstat(fd, &st) == -1) {
		logmsg("error", m, "reason", strerror(errno), NULL, NULL);
		close(fd);
		return LOAD_LATER;
	}
	/* the size must match the header: a file cut short by a crash
	 * before queue-inject's sync (never acknowledged) is not delivered */
	if (queue_header_parse(head, (size_t)r, &h) == -1 ||
	    h.envelope > ENVELOPE_MAX || h.envelope < 4 ||
	    (uint64_t)st.st_size != h.length + h.envelope + h.message) {
		close(fd);
		logmsg("error", m, "reason", "malformed queue file", NULL, NULL);
		return -1;
	}
	m->env = xrealloc(NULL, h.envelope + 1);
	r = pread(fd, m->env, h.envelope, (off_t)h.length);
	close(fd);
	if (r == -1) {
		logmsg("error", m, "reason", strerror(errno), NULL, NULL);
		unload(m);
		return LOAD_LATER;
	}
	if (r != (ssize_t)h.envelope || m->env[0] != 'F' ||
	    m->env[h.envelope - 1] != '\0' || m->env[h.envelope - 2] != '\0') {
		unload(m);
		logmsg("error", m, "reason", "malformed envelope", NULL, NULL);
		return -1;
	}
	m->env[h.envelope] = '\0';
	m->msgoff = (off_t)(h.length + h.envelope);
	m->birth = h.time;
	m->sender = m->env + 1;
	for (i = strlen(m->env) + 1; i < h.envelope - 1;
	    i += strlen(m->env + i) + 1)
		n++;
	m->n = n;
	m->rcpt = xrealloc(NULL, (n ? n : 1) * sizeof *m->rcpt);
	m->st = calloc(n ? n : 1, 1);
	m->reason = calloc(n ? n : 1, sizeof *m->reason);
	m->lr = calloc(n ? n : 1, sizeof *m->lr);
	if (m->st == NULL || m->reason == NULL || m->lr == NULL)
		die(QEXIT_TEMP, "out of memory");
	n = 0;
	for (i = strlen(m->env) + 1; i < h.envelope - 1;
	    i += strlen(m->env + i) + 1)
		m->rcpt[n++] = m->env + i + 1;	/* past the 'T' */
	m->cursor = 0;
	m->loaded = 1;
	if (read_state(m) == -1) {
		logmsg("error", m, "reason", strerror(errno), NULL, NULL);
		unload(m);
		return LOAD_LATER;
	}
	return 0;
}

/* It could not be read now: again in LOAD_RETRY_SECONDS. */
static void
load_later(struct msg *m)
{
	m->bad = 0;
	m->next = time(NULL) + LOAD_RETRY_SECONDS;
	heap_push(m);
}

/*
 * The marks of a round are held in memory and written to state/B/ID only
 * when the message must wait for another round (then synced once, by
 * sync_state()), when they have been held for HOLD_SECONDS, or when we
 * stop; a message that ends in the round it began is removed and never
 * has a state file.  A crash loses at most the marks not yet on disk,
 * and those recipients get the message again: at least once, never lost.
 */
enum { HOLD_SECONDS = 1, HOLD_BYTES_MAX = 64 * 1024 };

static void
unhold(struct msg *m)
{
	if (m->hprev == NULL)
		return;
	*m->hprev = m->hnext;
	if (m->hnext != NULL)
		m->hnext->hprev = m->hprev;
	m->hnext = NULL;
	m->hprev = NULL;
	free(m->held);
	m->held = NULL;
	m->heldlen = 0;
}

/*
 * Append the held marks to state/B/ID (not synced).  A line left
 * unfinished at its end (a crash or a full disk during an append) is cut
 * off first, so that the append starts a line of its own instead of
 * completing it into a mark never made; a write that fails part way is
 * taken back, or else cut off before the next append.
 */
static void
write_marks(struct msg *m)
{
	char path[128];
	struct stat st;
	off_t size = 0;
	int fd, ok;

	if (m->heldlen == 0)
		return;
	mess_path(path, sizeof path, "state", m->id);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	ok = fd != -1 && fstat(fd, &st) == 0;
	if (ok)
		size = st.st_size;
	if (ok && m->unfinished) {
		ok = ftruncate(fd, m->whole) == 0;
		m->unfinished = !ok;
		size = m->whole;
	}
	if (ok && write_all(fd, m->held, m->heldlen) == -1) {
		m->unfinished = ftruncate(fd, size) == -1;
		m->whole = size;
		ok = 0;
	}
	if (fd != -1 && close_checked(fd) == -1)
		ok = 0;
	if (!ok)
		logmsg("warning", m, "reason", "cannot record state: "
		    "some deliveries may be repeated", NULL, NULL);
	else
		m->dirty = 1;
	unhold(m);
}

static void
record(struct msg *m, const char *line)
{
	size_t n = strlen(line);

	if (m->heldlen + n > HOLD_BYTES_MAX)
		write_marks(m);
	m->held = xrealloc(m->held, m->heldlen + n);
	memcpy(m->held + m->heldlen, line, n);
	if (m->heldlen == 0) {
		m->held_since = time(NULL);
		m->hnext = held;
		if (held != NULL)
			held->hprev = &m->hnext;
		m->hprev = &held;
		held = m;
	}
	m->heldlen += n;
}

/* Write the marks held for HOLD_SECONDS or longer. */
static void
write_old_marks(time_t now)
{
	for (struct msg *m = held, *next; m != NULL; m = next) {
		next = m->hnext;
		if (now - m->held_since >= HOLD_SECONDS)
			write_marks(m);
	}
}

/* Make the round's marks durable (one fdatasync for all of them). */
static void
sync_state(struct msg *m)
{
	char path[128];
	int fd;

	write_marks(m);
	if (!m->dirty)
		return;
	mess_path(path, sizeof path, "state", m->id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd == -1 || fdatasync(fd) == -1 || close_checked(fd) == -1) {
		logmsg("warning", m, "reason", "cannot sync the state file: "
		    "some deliveries may be repeated after a crash", NULL, NULL);
		if (fd != -1)
			close(fd);
	}
	m->dirty = 0;
}

static void
record_result(struct msg *m, size_t idx, char kind, const char *reason)
{
	char line[REPORT_MAX + 64];

	if (kind == 'd')
		snprintf(line, sizeof line, "d %zu\n", idx);
	else if (kind == 'f')
		snprintf(line, sizeof line, "f %zu %s\n", idx, reason);
	else
		snprintf(line, sizeof line, "t %zu %u %s\n", idx,
		    m->attempts + 1, reason);
	record(m, line);
}

/* --- the end of a message --- */

static int
all_final(const struct msg *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->st[i] != R_DONE && m->st[i] != R_FAILED)
			return 0;
	return 1;
}

static void
forget(struct msg *m)
{
	unhold(m);		/* removed or left alone: nothing to write */
	unload(m);
	free(m);
	nmsgs--;
}

/* Every recipient is final: bounce the failures, then remove the files. */
static void
finish(struct msg *m)
{
	char path[128], bid[MSGID_BYTES_MAX];
	int failed = 0;

	for (size_t i = 0; i < m->n; i++)
		failed += m->st[i] == R_FAILED;
	if (failed > 0) {
		int r;

		mess_path(path, sizeof path, "mess", m->id);
		r = bounce_send(path, m->msgoff, m->id, m->birth, m->sender,
		    m->rcpt, m->n, m->st, R_FAILED, (const char *const *)m->reason,
		    bid);
		if (r < 0 && bounce_refused) {
			/* refused for good: retrying cannot help */
			logmsg("bounce", m, "discarded", bounce_error, NULL,
			    NULL);
			r = 2;
		}
		if (r < 0) {
			/* try again later; the marks go to disk */
			sync_state(m);
			logmsg("deferred", m, "reason", bounce_error, NULL, NULL);
			m->attempts++;
			m->next = time(NULL) + SKIP_SECONDS * (time_t)m->attempts;
			unload(m);
			heap_push(m);
			return;
		}
		if (r == 0)
			logmsg("bounce", m, "bounce", bid, NULL, NULL);
		else if (r == 1)
			logmsg("bounce", m, "discarded", "a failed double "
			    "bounce, or double bounces turned off", NULL, NULL);
	}
	mess_path(path, sizeof path, "mess", m->id);
	if (unlink(path) == -1 && errno != ENOENT)
		logmsg("warning", m, "reason", strerror(errno), NULL, NULL);
	mess_path(path, sizeof path, "state", m->id);
	if (unlink(path) == -1 && errno != ENOENT)
		logmsg("warning", m, "reason", strerror(errno), NULL, NULL);
	logmsg("done", m, NULL, NULL, NULL, NULL);
	forget(m);
}

/* A round of attempts ended: finish, or wait for the next one. */
static void
round_end(struct msg *m)
{
	time_t now = time(NULL);
	long long t;

	if (all_final(m)) {
		finish(m);
		return;
	}
	m->attempts++;
	if (now - m->birth >= (long long)lifetime) {
		for (size_t i = 0; i < m->n; i++) {
			char why[REPORT_MAX + 128];

			if (m->st[i] == R_DONE || m->st[i] == R_FAILED)
				continue;
			snprintf(why, sizeof why, "Giving up: this message "
			    "has been in the queue longer than queuelifetime. "
			    "Last error: %s (#4.4.7)",
			    m->reason[i] ? m->reason[i] : "none");
			free(m->reason[i]);
			m->reason[i] = strdup(why);
			m->st[i] = R_FAILED;
			record_result(m, i, 'f', why);
		}
		finish(m);
		return;
	}
	sync_state(m);		/* it waits: its marks must last */
	t = m->birth + (long long)(SKIP_SECONDS * m->attempts) *
	    (SKIP_SECONDS * m->attempts);
	m->next = t > now ? (time_t)t : now + 1;
	for (size_t i = 0; i < m->n; i++)
		if (m->st[i] == R_DEFERRED)
			m->st[i] = R_PENDING;
	unload(m);
	heap_push(m);
}

/* --- deliveries --- */

static void
result(struct msg *m, size_t idx, int code, const char *why)
{
	struct logline l;
	char kind = code == 0 ? 'd' : code == QEXIT_PERM ? 'f' : 't';

	m->st[idx] = kind == 'd' ? R_DONE : kind == 'f' ? R_FAILED : R_DEFERRED;
	free(m->reason[idx]);
	m->reason[idx] = kind == 'd' ? NULL : strdup(why);
	/* a message's last recipient needs no mark: removal records it */
	if (!(kind == 'd' && m->n == 1))
		record_result(m, idx, kind, why);
	log_start(&l, kind == 'd' ? "delivered" : kind == 'f' ? "failed" :
	    "deferred");
	log_str(&l, "msg", m->id);
	log_str(&l, "rcpt", m->rcpt[idx]);
	if (kind != 'd')
		log_str(&l, "reason", why);
	log_end(&l, 1);
}

/*
 * Start prog with the message ms[0] on stdin, ms[1..] on descriptors 3..,
 * and its stdout and stderr on a pipe.
 */
static struct job *
spawn_job(struct msg **ms, size_t nm, char *const argv[], int remote)
{
	char path[128];
	posix_spawn_file_actions_t fa;
	struct job *j;
	int fds[LOCAL_MSGS_MAX] = { 0 }, p[2], e = 0;
	size_t k, opened = 0;
	pid_t pid;

	for (k = 0; k < nm; k++) {
		int fd;

		mess_path(path, sizeof path, "mess", ms[k]->id);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1 || lseek(fd, ms[k]->msgoff, SEEK_SET) == -1) {
			e = errno;
			if (fd != -1)
				close(fd);
			break;
		}
		/* above the numbers they go to, so that no dup2 clobbers one */
		fds[k] = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
		e = errno;
		close(fd);
		if (fds[k] == -1)
			break;
		opened++;
	}
	if (opened < nm || pipe(p) == -1) {
		if (opened == nm)
			e = errno;
		for (k = 0; k < opened; k++)
			close(fds[k]);
		errno = e;
		return NULL;
	}
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	e = posix_spawn_file_actions_init(&fa);
	if (e == 0) {
		e = posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		if (e == 0)
			e = posix_spawn_file_actions_adddup2(&fa, p[1], 2);
		if (e == 0)
			e = posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
		for (k = 1; e == 0 && k < nm; k++)
			e = posix_spawn_file_actions_adddup2(&fa, fds[k],
			    2 + (int)k);
		if (e == 0)
			e = posix_spawn(&pid, argv[0], &fa, NULL, argv,
			    environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	for (k = 0; k < nm; k++)
		close(fds[k]);
	close(p[1]);
	if (e != 0) {
		close(p[0]);
		errno = e;
		return NULL;
	}
	jobs = xrealloc(jobs, (njobs + 1) * sizeof *jobs);
	j = &jobs[njobs++];
	memset(j, 0, sizeof *j);
	j->pid = pid;
	j->fd = p[0];
	j->m = ms[0];
	j->remote = remote;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	if (remote)
		nremote++;
	else
		nlocal++;
	for (k = 0; k < nm; k++)
		ms[k]->running++;
	return j;
}

static struct lroute *
lroute_new(const struct route *r)
{
	const char *f[6] = { r->user, r->home, r->local, r->dash, r->ext,
	    r->domain };
	const char **to[6];
	size_t len = 0;
	struct lroute *l;
	char *p;

	if (r->kind != ROUTE_LOCAL) {
		l = xrealloc(NULL, sizeof *l);
		memset(l, 0, sizeof *l);
		l->gen = route_gen;
		return l;
	}
	for (int i = 0; i < 6; i++)
		len += strlen(f[i]) + 1;
	l = xrealloc(NULL, sizeof *l + len);
	l->is_local = 1;
	l->gen = route_gen;
	l->uid = r->uid;
	l->gid = r->gid;
	to[0] = &l->user;
	to[1] = &l->home;
	to[2] = &l->local;
	to[3] = &l->dash;
	to[4] = &l->ext;
	to[5] = &l->domain;
	p = l->s;
	for (int i = 0; i < 6; i++) {
		size_t n = strlen(f[i]) + 1;

		memcpy(p, f[i], n);
		*to[i] = p;
		p += n;
	}
	return l;
}

/*
 * The files routes come from: when one of them changes (its identity,
 * size or times), every route looked up before is void.
 */
static void
route_files_check(void)
{
	static const char *const sub[] = { "control/locals",
	    "control/virtualdomains", "users/assign" };
	static char path[4][PATH_BYTES_MAX];
	static struct stat last[4];
	int changed = 0;

	if (path[3][0] == '\0') {
		/* once: this runs before every scheduling round */
		for (size_t i = 0; i < 3; i++)
			if (root_path(path[i], sizeof path[i], sub[i]) == -1)
				path[i][0] = '\0';
		snprintf(path[3], sizeof path[3], "/etc/passwd");
	}
	for (size_t i = 0; i < 4; i++) {
		struct stat st;

		if (path[i][0] == '\0' || stat(path[i], &st) == -1)
			memset(&st, 0, sizeof st);
		if (st.st_ino != last[i].st_ino || st.st_dev != last[i].st_dev ||
		    st.st_size != last[i].st_size ||
		    st.st_mtim.tv_sec != last[i].st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != last[i].st_mtim.tv_nsec ||
		    st.st_ctim.tv_sec != last[i].st_ctim.tv_sec ||
		    st.st_ctim.tv_nsec != last[i].st_ctim.tv_nsec)
			changed = 1;
		last[i] = st;
	}
	if (changed)
		route_gen++;
}

/* Recipient i's route as a batch sees it (looked up again once void). */
static const struct lroute *
local_route(struct msg *m, size_t i)
{
	struct route r;
	int k;

	if (m->lr[i] != NULL && m->lr[i]->gen == route_gen)
		return m->lr[i];
	free(m->lr[i]);
	m->lr[i] = NULL;
	k = route_lookup(m->rcpt[i], &r);
	if (k != ROUTE_OK || (r.kind == ROUTE_LOCAL && r.uid == 0))
		return &not_local;	/* work() reports it in its turn */
	return m->lr[i] = lroute_new(&r);
}

/* Do a and b go to the same user, so that one delivery run takes both? */
static int
same_user(const struct lroute *a, const struct lroute *b)
{
	return a->is_local && b->is_local && a->uid == b->uid &&
	    a->gid == b->gid && strcmp(a->user, b->user) == 0 &&
	    strcmp(a->home, b->home) == 0;
}

/* The ready message after o: the hot list, then the cold one. */
static struct msg *
ready_after(struct msg *o)
{
	if (o->qnext != NULL)
		return o->qnext;
	return o == hot_tail ? cold : NULL;
}

/*
 * One dotqmail-exec -m (through local-spawn in installed mode) for
 * recipient idx of m and the other pending recipients of the same user:
 * m's first, then those of the messages waiting on the ready lists, up
 * to LOCAL_BATCH_MAX recipients in LOCAL_MSGS_MAX messages.  One program
 * start, and one sync of the user's filesystem, for all of them.
 */
static void
start_local(struct msg *m, size_t idx, const struct route *r)
{
	static char fdname[LOCAL_MSGS_MAX][8];
	char prog[PATH_BYTES_MAX];
	char *argv[4 + 6 * LOCAL_BATCH_MAX + 1];
	struct msg *ms[LOCAL_MSGS_MAX], **jm;
	size_t *idxs, n = 0, nm = 0, a, scanned = 0;
	const struct lroute *first;
	struct job *j;

	if (r->uid == 0) {
		result(m, idx, QEXIT_TEMP, "refusing to deliver as uid 0 (#4.3.0)");
		return;
	}
	if (libexec_path(prog, sizeof prog, installed ? "local-spawn" :
	    "dotqmail-exec") == -1) {
		result(m, idx, QEXIT_TEMP, "libexec path too long");
		return;
	}
	/* r is work()'s lookup of a moment ago: it replaces what is kept */
	free(m->lr[idx]);
	m->lr[idx] = lroute_new(r);
	first = m->lr[idx];
	idxs = xrealloc(NULL, LOCAL_BATCH_MAX * sizeof *idxs);
	jm = xrealloc(NULL, LOCAL_BATCH_MAX * sizeof *jm);
	ms[nm++] = m;
	idxs[n] = idx;
	jm[n++] = m;
	for (size_t i = idx + 1; i < m->n && n < LOCAL_BATCH_MAX; i++)
		if (m->st[i] == R_PENDING && same_user(local_route(m, i), first)) {
			idxs[n] = i;
			jm[n++] = m;
		}
	for (struct msg *o = hot != NULL ? hot : cold; o != NULL &&
	    n < LOCAL_BATCH_MAX && nm < LOCAL_MSGS_MAX &&
	    scanned < SCAN_READY_MAX; o = ready_after(o), scanned++) {
		int taken = 0, lr;

		if (o == m || o->bad)
			continue;
		if (!o->loaded && (lr = load(o)) != 0) {
			o->bad = lr;	/* schedule() forgets it or puts it off */
			continue;
		}
		for (size_t i = 0; i < o->n && n < LOCAL_BATCH_MAX; i++)
			if (o->st[i] == R_PENDING &&
			    same_user(local_route(o, i), first)) {
				idxs[n] = i;
				jm[n++] = o;
				taken = 1;
			}
		if (taken)
			ms[nm++] = o;
	}
	argv[0] = prog;
	argv[1] = "-m";
	a = 2;
	if (!installed) {
		argv[a++] = (char *)first->user;
		argv[a++] = (char *)first->home;
	}
	for (size_t k = 0; k < n; k++) {
		const struct lroute *l = jm[k]->lr[idxs[k]];
		size_t w = 0;

		while (ms[w] != jm[k])
			w++;
		snprintf(fdname[w], sizeof fdname[w], "%zu", w ? w + 2 : 0);
		argv[a++] = fdname[w];
		argv[a++] = (char *)jm[k]->sender;
		if (installed) {
			/* the setuid spawner looks each address up itself */
			argv[a++] = (char *)jm[k]->rcpt[idxs[k]];
			continue;
		}
		argv[a++] = (char *)l->local;
		argv[a++] = (char *)l->dash;
		argv[a++] = (char *)l->ext;
		argv[a++] = (char *)l->domain;
	}
	argv[a] = NULL;
	j = spawn_job(ms, nm, argv, 0);
	if (j == NULL) {
		int e = errno;

		for (size_t k = 0; k < n; k++)
			result(jm[k], idxs[k], QEXIT_TEMP, strerror(e));
		free(idxs);
		free(jm);
		return;
	}
	j->idxs = idxs;
	j->jm = jm;
	j->nidx = n;
	for (size_t k = 0; k < n; k++)
		jm[k]->st[idxs[k]] = R_RUNNING;
}

/* The recipient's domain, lowercased, into d. */
static void
domain_of(const char *addr, char *d, size_t size)
{
	const char *at = strrchr(addr, '@');
	size_t n = 0;

	for (at = at != NULL ? at + 1 : ""; *at != '\0' && n + 1 < size; at++)
		d[n++] = (char)tolower((unsigned char)*at);
	d[n] = '\0';
}

/* One smtp-send for recipient idx and the pending ones of its domain. */
static void
start_remote(struct msg *m, size_t idx, const char *domain)
{
	char prog[PATH_BYTES_MAX], d[DOMAIN_BYTES_MAX + 1];
	char **argv;
	size_t *idxs, n = 0;
	struct job *j;

	if (libexec_path(prog, sizeof prog, "smtp-send") == -1) {
		result(m, idx, QEXIT_TEMP, "libexec path too long");
		return;
	}
	argv = xrealloc(NULL, (BATCH_MAX + 4) * sizeof *argv);
	idxs = xrealloc(NULL, BATCH_MAX * sizeof *idxs);
	argv[0] = prog;
	argv[1] = (char *)domain;
	argv[2] = (char *)m->sender;
	for (size_t i = idx; i < m->n && n < BATCH_MAX; i++) {
		if (m->st[i] != R_PENDING)
			continue;
		domain_of(m->rcpt[i], d, sizeof d);
		if (strcmp(d, domain) != 0)
			continue;
		argv[3 + n] = (char *)m->rcpt[i];
		idxs[n++] = i;
	}
	argv[3 + n] = NULL;
	j = spawn_job(&m, 1, argv, 1);
	free(argv);
	if (j == NULL) {
		for (size_t k = 0; k < n; k++)
			result(m, idxs[k], QEXIT_TEMP, strerror(errno));
		free(idxs);
		return;
	}
	j->idxs = idxs;
	j->nidx = n;
	for (size_t k = 0; k < n; k++)
		m->st[idxs[k]] = R_RUNNING;
}

/* Start what can be started for m; 1 when all its recipients have begun. */
static int
work(struct msg *m)
{
	while (m->cursor < m->n) {
		size_t i = m->cursor;
		struct route r;
		int k;

		if (m->st[i] != R_PENDING) {
			m->cursor++;
			continue;
		}
		k = route_lookup(m->rcpt[i], &r);
		if (k == ROUTE_BADADDR) {
			result(m, i, QEXIT_PERM, "Sorry, I cannot route this address. (#5.1.3)");
		} else if (k != ROUTE_OK) {
			result(m, i, QEXIT_TEMP, route_error);
		} else if (r.kind == ROUTE_REMOTE) {
			if (nremote >= conc_remote)
				return 0;
			start_remote(m, i, r.domain);
		} else {
			if (nlocal >= conc_local)
				return 0;
			start_local(m, i, &r);
		}
		m->cursor++;
	}
	return 1;
}

/* smtp-send's lines: "ok|defer|fail TAB rcpt TAB text", one per recipient. */
static void
remote_done(struct job *j)
{
	struct msg *m = j->m;
	char *p = j->out, *end = j->out + j->outlen;
	size_t k = 0;
	const char *why, *diag = NULL;

	while (p != NULL && p < end && k < j->nidx) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p, *t1, *t2;
		int code;

		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
		t1 = strchr(line, '\t');
		t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
		if (t2 == NULL) {
			diag = line;	/* a diagnostic, not a result */
			continue;
		}
		*t1 = '\0';
		*t2 = '\0';
		if (strcmp(line, "ok") == 0)
			code = 0;
		else if (strcmp(line, "fail") == 0)
			code = QEXIT_PERM;
		else if (strcmp(line, "defer") == 0)
			code = QEXIT_TEMP;
		else
			continue;
		if (strcmp(t1 + 1, m->rcpt[j->idxs[k]]) != 0)
			break;		/* out of step: defer the rest */
		result(m, j->idxs[k], code, t2 + 1);
		k++;
	}
	if (diag == NULL && p < end && memchr(p, '\n', (size_t)(end - p)))
		diag = p;
	why = diag != NULL ? diag : WIFSIGNALED(j->status) ?
	    "smtp-send crashed" : "smtp-send gave no result";
	if (strncmp(why, "smtp-send: fatal: ", 18) == 0)
		why += 18;
	/* exit 100: a domain or address that will never do; bounce */
	for (; k < j->nidx; k++)
		result(m, j->idxs[k], WIFEXITED(j->status) &&
		    WEXITSTATUS(j->status) == QEXIT_PERM ? QEXIT_PERM :
		    QEXIT_TEMP, why);
}

/*
 * dotqmail-exec -m's output: "N TAB CODE TAB reason" for each recipient
 * but the last; the last one's result is its exit code, the reason the
 * last other line (its "dotqmail-exec: fatal: ..." line).  A recipient
 * without a result is deferred.
 */
static void
local_done(struct job *j)
{
	char *p = j->out, *end = j->out + j->outlen;
	const char *why = "";
	size_t k = 0;
	int code;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p, *t1, *t2;
		unsigned long num;

		if (nl == NULL)
			nl = end;
		*nl = '\0';
		p = nl + 1;
		t1 = strchr(line, '\t');
		t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
		if (t2 == NULL || k + 1 >= j->nidx ||
		    strtoul(line, NULL, 10) != k + 1) {
			why = line;	/* a diagnostic */
			continue;
		}
		num = strtoul(t1 + 1, NULL, 10);
		result(j->jm[k], j->idxs[k], num == 0 ? 0 : num == QEXIT_PERM ?
		    QEXIT_PERM : QEXIT_TEMP, num == 0 ? "" : t2 + 1);
		k++;
	}
	if (strncmp(why, "dotqmail-exec: fatal: ", 22) == 0)
		why += 22;
	else if (strncmp(why, "local-spawn: fatal: ", 20) == 0)
		why += 20;
	if (k + 1 == j->nidx && WIFEXITED(j->status)) {
		code = WEXITSTATUS(j->status);
		code = code == 0 ? 0 : code == QEXIT_PERM ? QEXIT_PERM :
		    QEXIT_TEMP;
		if (code != 0 && *why == '\0')
			why = "delivery failed without a reason";
		result(j->jm[k], j->idxs[k], code, why);
		k++;
	}
	if (k < j->nidx && *why == '\0')
		why = WIFSIGNALED(j->status) ? "delivery crashed" :
		    "delivery gave no result";
	for (; k < j->nidx; k++)
		result(j->jm[k], j->idxs[k], QEXIT_TEMP, why);
}

/* m's job ended: when it has no other and all of it has begun, its round ends. */
static void
job_left(struct msg *m)
{
	m->running--;
	if (m->running == 0 && m->cursor >= m->n && !m->ready)
		round_end(m);
}

static void
job_done(size_t k)
{
	struct job *j = &jobs[k];
	struct msg *ms[LOCAL_MSGS_MAX];
	size_t nm = 0;

	close(j->fd);
	if (j->remote) {
		remote_done(j);
		nremote--;
		ms[nm++] = j->m;
	} else {
		local_done(j);
		nlocal--;
		for (size_t i = 0; i < j->nidx; i++) {
			size_t w = 0;

			while (w < nm && ms[w] != j->jm[i])
				w++;
			if (w == nm)
				ms[nm++] = j->jm[i];
		}
	}
	free(j->idxs);
	free(j->jm);
	free(j->out);
	stalled = 0;
	jobs[k] = jobs[--njobs];
	/* round_end() may free a message: each one once, at the end */
	for (size_t i = 0; i < nm; i++)
		job_left(ms[i]);
}

/* --- taking messages up --- */

static struct msg *
new_msg(const char *id)
{
	struct msg *m = calloc(1, sizeof *m);

	if (m == NULL)
		die(QEXIT_TEMP, "out of memory");
	snprintf(m->id, sizeof m->id, "%s", id);
	m->birth = atoll(id);
	m->hix = SIZE_MAX;
	nmsgs++;
	return m;
}

/* Move every new/ID to mess/B/ID and make it ready. */
static void
scan_new(int is_hot)
{
	DIR *d = opendir("new");
	struct dirent *de;

	if (d == NULL)
		die_sys(QEXIT_TEMP, "open new/");
	while ((de = readdir(d)) != NULL) {
		char from[300], to[300];
		struct msg *m;

		if (!msgid_valid(de->d_name))
			continue;
		snprintf(from, sizeof from, "new/%s", de->d_name);
		mess_path(to, sizeof to, "mess", de->d_name);
		/*
		 * rename, never over a message already there (an id in use
		 * stays in new/ until the name is free).  A name in both
		 * places for one file is a crash's leftover: drop new/'s.
		 */
		{
			struct stat a, b;

			if (lstat(to, &b) == 0) {
				if (lstat(from, &a) == 0 && a.st_dev == b.st_dev &&
				    a.st_ino == b.st_ino) {
					if (unlink(from) == -1)
						die_sys(QEXIT_TEMP, "unlink %s",
						    from);
				} else {
					logmsg("warning", NULL, "msg", de->d_name,
					    "reason", "id in use; left in new/");
				}
				continue;
			}
			/* linked, tmp/ID still there: queue-inject's sync has
			 * not returned (nothing promised yet); a link count
			 * left for a minute is a crash's, taken as it is */
			if (lstat(from, &a) == 0 && a.st_nlink > 1 &&
			    time(NULL) - a.st_ctime < COMMIT_SECONDS)
				continue;
			if (rename(from, to) == -1) {
				logmsg("warning", NULL, "msg", de->d_name,
				    "reason", strerror(errno));
				continue;
			}
		}
		m = new_msg(de->d_name);
		logmsg("new", m, NULL, NULL, NULL, NULL);
		/* one born since we started is new mail, even when the scan
		 * at start finds it: it must not wait behind the backlog */
		make_ready(m, is_hot || (m->birth >= (long long)started &&
		    m->birth <= (long long)time(NULL) + 60));
	}
	closedir(d);
}

/* At start: every message already in mess/ is tried again. */
static void
scan_mess(void)
{
	for (const char *b = msgid_alphabet; *b != '\0'; b++) {
		char dir[16];
		DIR *d;
		struct dirent *de;

		snprintf(dir, sizeof dir, "mess/%c", *b);
		d = opendir(dir);
		if (d == NULL)
			die_sys(QEXIT_TEMP, "open %s", dir);
		while ((de = readdir(d)) != NULL)
			if (msgid_valid(de->d_name))
				make_ready(new_msg(de->d_name), 0);
		closedir(d);
	}
}

static void
read_control(void)
{
	unsigned long v;

	if (control_ulong("concurrencylocal", &v, CONCURRENCY_LOCAL) < 0)
		logmsg("warning", NULL, "reason",
		    "control/concurrencylocal unreadable", NULL, NULL);
	else
		conc_local = v == 0 ? 1 : v > CONCURRENCY_MAX ? CONCURRENCY_MAX :
		    v;
	if (control_ulong("concurrencyremote", &v, CONCURRENCY_REMOTE) < 0)
		logmsg("warning", NULL, "reason",
		    "control/concurrencyremote unreadable", NULL, NULL);
	else
		conc_remote = v == 0 ? 1 : v > CONCURRENCY_MAX ? CONCURRENCY_MAX :
		    v;
	if (control_ulong("queuelifetime", &v, LIFETIME_DEFAULT) < 0)
		logmsg("warning", NULL, "reason",
		    "control/queuelifetime unreadable", NULL, NULL);
	else
		lifetime = v;
}

static void
reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			return;
		for (size_t k = 0; k < njobs; k++)
			if (jobs[k].pid == pid) {
				jobs[k].exited = 1;
				jobs[k].status = status;
				break;
			}
	}
}

static void
drain_report(struct job *j)
{
	char buf[4096];

	for (;;) {
		ssize_t r = read(j->fd, buf, sizeof buf);

		if (r > 0) {
			/* results, bounded by what the recipients need */
			size_t cap = j->nidx * (2 * ADDR_BYTES_MAX + 1024) + 4096;
			size_t n = (size_t)r;

			if (j->outlen + n > cap)
				n = cap - j->outlen;
			if (j->outlen + n + 1 > j->outcap) {
				j->outcap = (j->outlen + n + 1) * 2;
				j->out = xrealloc(j->out, j->outcap);
			}
			memcpy(j->out + j->outlen, buf, n);
			j->outlen += n;
			j->out[j->outlen] = '\0';
			continue;
		}
		if (r == 0)
			j->eof = 1;
		return;		/* EAGAIN or an error: later */
	}
}

static struct msg *
next_ready(void)
{
	struct msg **head = hot != NULL ? &hot : &cold;
	struct msg **tail = hot != NULL ? &hot_tail : &cold_tail;
	struct msg *m = *head;

	if (m == NULL)
		return NULL;
	*head = m->qnext;
	if (*head == NULL)
		*tail = NULL;
	m->qnext = NULL;
	m->ready = 0;
	nready--;
	return m;
}

/*
 * Inflow control.  While more messages wait for a delivery slot than a
 * round of local deliveries can take, lock/inflow's mtime is kept fresh
 * (touched at most once a second); once the backlog is half that, its
 * mtime goes back to 0.  smtp-accept holds the next DATA a moment while
 * the mark is fresh, so that mail is not accepted much faster than it can
 * be delivered (the queue, and each message's wait in it, would only
 * grow).  A mark left by a queue manager that died goes stale by itself.
 */
static void
inflow_open(void)
{
	inflow_fd = queue_inflow_open("lock/inflow");
	if (inflow_fd == -1)
		logmsg("warning", NULL, "reason", "cannot open lock/inflow: "
		    "SMTP input is not slowed when the queue is behind",
		    NULL, NULL);
}

static void
inflow_set(int on)
{
	time_t now = time(NULL);

	if (inflow_fd == -1 || (on && inflow_on && now == inflow_touched) ||
	    (!on && !inflow_on))
		return;
	if (queue_inflow_mark(inflow_fd, on) == -1) {
		logmsg("warning", NULL, "reason", "cannot set lock/inflow's time",
		    NULL, NULL);
		close(inflow_fd);
		inflow_fd = -1;
		return;
	}
	inflow_on = on;
	inflow_touched = now;
}

static void
inflow_update(void)
{
	size_t high = conc_local < 2 ? 2 : conc_local;

	if (nready >= high)
		inflow_set(1);
	else if (nready <= high / 2)
		inflow_set(0);
}

/* Start deliveries while there are free slots. */
static void
schedule(void)
{
	time_t now = time(NULL);

	route_files_check();
	while (nheap > 0 && heap[0]->next <= now)
		make_ready(heap_pop(), 0);
	stalled = 0;
	while ((nlocal < conc_local || nremote < conc_remote) &&
	    (hot != NULL || cold != NULL)) {
		struct msg *m = hot != NULL ? hot : cold;

		int r = m->loaded ? 0 : m->bad ? m->bad : load(m);

		if (r != 0) {
			next_ready();
			if (r == LOAD_LATER)
				load_later(m);
			else
				forget(m);	/* left on disk for queue-check */
			continue;
		}
		if (!work(m)) {
			stalled = 1;	/* no slot of the kind m needs */
			return;
		}
		next_ready();
		if (m->running == 0)
			round_end(m);
	}
}

int
main(int argc, char **argv)
{
	char path[PATH_BYTES_MAX];
	struct sigaction sa;
	time_t last_scan;
	int first = 1;

	progname = "queue-run";
	(void)argv;
	if (argc > 1)
		usage("");
	installed = installed_mode();
	if (geteuid() == 0)
		die(QEXIT_TEMP, "refusing to run as root: run me as the queue "
		    "manager's user (setuidgid vdmails), or in sandbox mode");
	if (root_path(path, sizeof path, "queue") == -1 || chdir(path) == -1)
		die_sys(QEXIT_TEMP, "enter %s", path);
	{
		/* only a queue of this format is ours to work */
		char ver[64];
		int fd = open("VERSION", O_RDONLY | O_CLOEXEC);
		ssize_t r = fd == -1 ? -1 : xread(fd, ver, sizeof ver - 1);

		if (fd != -1)
			close(fd);
		if (r < 0)
			die_sys(QEXIT_TEMP, "%s/VERSION", path);
		ver[r] = '\0';
		if (strcmp(ver, QUEUE_VERSION "\n") != 0)
			die(QEXIT_TEMP, "%s: not a queue of format %s", path,
			    QUEUE_VERSION);
	}
	if (pipe(selfpipe) == -1)
		die_sys(QEXIT_TEMP, "pipe");
	for (int i = 0; i < 2; i++) {
		fcntl(selfpipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(selfpipe[i], F_SETFL, O_NONBLOCK);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* our own writer keeps the FIFO from reporting EOF */
	trigger_fd = open("lock/trigger", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (trigger_fd == -1)
		die_sys(QEXIT_TEMP, "open lock/trigger");
	trigger_wfd = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (trigger_wfd == -1)
		logmsg("warning", NULL, "reason", "cannot hold lock/trigger open "
		    "for writing: it is reopened after each hang-up", NULL, NULL);
	started = time(NULL);
	read_control();
	inflow_open();
	inflow_on = 1;
	inflow_set(0);		/* a mark left by a crash is void */
	logmsg("start", NULL, NULL, NULL, NULL, NULL);
	scan_mess();
	scan_new(0);
	last_scan = time(NULL);

	for (;;) {
		struct pollfd *pf;
		int timeout = SCAN_SECONDS * 1000, woke_trigger = 0;
		size_t np = 0;
		time_t now;

		if (got_alrm) {
			got_alrm = 0;
			while (nheap > 0) {
				struct msg *m = heap_pop();

				make_ready(m, 0);
			}
			logmsg("retry", NULL, "reason", "SIGALRM", NULL, NULL);
		}
		if (!got_term)
			schedule();
		inflow_update();
		if (got_term && njobs == 0)
			break;
		if (first) {
			first = 0;
			continue;
		}
		if (nheap > 0) {
			long long wait = (long long)(heap[0]->next - time(NULL));

			if (wait < 0)
				wait = 0;
			if (wait * 1000 < timeout)
				timeout = (int)(wait * 1000);
		}
		if (got_term)
			timeout = SCAN_SECONDS * 1000;	/* only jobs end now */
		else if ((hot != NULL || cold != NULL) && !stalled &&
		    (nlocal < conc_local || nremote < conc_remote))
			timeout = 0;
		if (held != NULL && timeout > HOLD_SECONDS * 1000)
			timeout = HOLD_SECONDS * 1000;
		pf = xrealloc(NULL, (njobs + 2) * sizeof *pf);
		pf[np].fd = selfpipe[0];
		pf[np++].events = POLLIN;
		pf[np].fd = trigger_fd;
		pf[np++].events = POLLIN;
		for (size_t k = 0; k < njobs; k++) {
			pf[np].fd = jobs[k].eof ? -1 : jobs[k].fd;
			pf[np++].events = POLLIN;
		}
		if (poll(pf, np, timeout) == -1 && errno != EINTR)
			die_sys(QEXIT_TEMP, "poll");
		if (pf[0].revents & POLLIN) {
			char buf[64];

			while (read(selfpipe[0], buf, sizeof buf) > 0)
				;
		}
		if (pf[1].revents & POLLIN) {
			char buf[256];

			while (read(trigger_fd, buf, sizeof buf) > 0)
				;
			woke_trigger = 1;
		} else if (pf[1].revents & (POLLHUP | POLLERR)) {
			/* no writer of our own: the FIFO hangs up after each
			 * injection; open it afresh rather than spin */
			close(trigger_fd);
			trigger_fd = open("lock/trigger", O_RDONLY | O_NONBLOCK |
			    O_CLOEXEC);
			if (trigger_fd == -1)
				die_sys(QEXIT_TEMP, "open lock/trigger");
			woke_trigger = 1;
		}
		for (size_t k = 0; k < njobs; k++)
			if (pf[k + 2].revents != 0)
				drain_report(&jobs[k]);
		free(pf);
		got_chld = 0;
		reap();
		for (size_t k = 0; k < njobs;) {
			if (jobs[k].exited && !jobs[k].eof)
				drain_report(&jobs[k]);
			if (jobs[k].exited && jobs[k].eof)
				job_done(k);	/* moves the last job to k */
			else
				k++;
		}
		now = time(NULL);
		write_old_marks(now);
		if ((woke_trigger || now - last_scan >= SCAN_SECONDS) &&
		    !got_term) {
			read_control();
			scan_new(1);
			last_scan = now;
		}
	}
	while (held != NULL)
		sync_state(held);	/* rounds cut short by the stop */
	inflow_set(0);
	logmsg("stop", NULL, "messages", nmsgs ? "left" : "none", NULL, NULL);
	if (trigger_wfd != -1)
		close(trigger_wfd);
	return QEXIT_OK;
}
