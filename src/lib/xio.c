/*
 * xio - EINTR-safe reads and writes, checked to the last byte.
 */
#if defined(__linux__)
#define _GNU_SOURCE		/* syncfs(2) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#if defined(__linux__)
#include <sys/utsname.h>
#include <sys/vfs.h>
#endif
#include <time.h>
#include <unistd.h>

#include "xio.h"

ssize_t
xread(int fd, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r == -1 && errno == EINTR);
	return r;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {		/* no progress: do not spin */
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Everything written on fd's filesystem, data and names, durable in one
 * journal commit: Linux's syncfs(2), which reports writeback errors since
 * Linux 5.8 and the filesystem's own failure to commit (a journal or log
 * write that failed) since Linux 5.17: only from 5.17 on is its 0 to be
 * believed.  Commits of concurrent callers are shared, so that the cost
 * of a sync is spread over all the messages it covers.  -1 with ENOSYS
 * where there is no such call.
 */
int
sync_filesystem_usable(int fd)
{
#if defined(__linux__)
	static int kernel = -1;
	struct statfs sf;

	if (kernel == -1) {
		struct utsname u;
		int major = 0, minor = 0;

		kernel = uname(&u) == 0 &&
		    sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
		    (major > 5 || (major == 5 && minor >= 17));
	}
	if (!kernel || fstatfs(fd, &sf) == -1)
		return 0;
	/* filesystems whose syncfs writes and waits for everything */
	switch ((unsigned long)sf.f_type) {
	case 0xEF53UL:			/* ext2, ext3, ext4 */
	case 0x58465342UL:		/* XFS */
	case 0x9123683EUL:		/* Btrfs */
	case 0x01021994UL:		/* tmpfs: nothing to sync */
		return 1;
	default:
		return 0;
	}
#else
	(void)fd;
	return 0;
#endif
}

int
sync_filesystem(int fd)
{
#if defined(__linux__)
	return syncfs(fd);
#else
	(void)fd;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * The lock file of sync_filesystem_shared(): this boot's id (36 bytes and
 * 4 NULs), then how many syncs were begun and the number of the last one
 * that ended (two 64-bit numbers in the host's order): 56 bytes.  Byte 0 is
 * locked (fcntl, briefly) to read or change the counts, byte 1 for the
 * whole of a sync; a process that dies lets go of both, and one that is
 * stopped holds others up for LOCK_WAIT_US at most.  A file from
 * another boot (or machine) counts as zero.
 */
struct synccount {
	char boot[40];		/* 36 bytes, then 4 NULs */
	uint64_t begun, ended;
};

/*
 * The wait of lock_wait(): ITIMER_REAL and SIGALRM, borrowed from the
 * caller and given back.
 */
enum { LOCK_TICK_US = 20000 };

static volatile sig_atomic_t lock_alarm;

static void
on_lock_alarm(int sig)
{
	(void)sig;
	lock_alarm = 1;
}

static long long
usec(const struct timeval *tv)
{
	return (long long)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void
set_usec(struct timeval *tv, long long us)
{
	tv->tv_sec = (time_t)(us / 1000000);
	tv->tv_usec = (suseconds_t)(us % 1000000);
}

int
lock_wait(int fd, struct flock *fl, long long wait)
{
	struct sigaction sa, old_sa;
	sigset_t block, old_mask;
	struct itimerval it, old_it;
	struct timespec t0, t1;
	long long theirs, waited;
	int r, e;

	/* the caller's timer and handler swapped for ours with SIGALRM
	 * blocked: theirs, due meanwhile, comes to ours and is given back */
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_lock_alarm;	/* no SA_RESTART: F_SETLKW ends */
	sigemptyset(&sa.sa_mask);
	if (getitimer(ITIMER_REAL, &old_it) == -1)
		memset(&old_it, 0, sizeof old_it);
	if (sigaction(SIGALRM, &sa, &old_sa) == -1) {
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		return -1;
	}
	memset(&it, 0, sizeof it);
	theirs = usec(&old_it.it_value);
	if (theirs > 0 && theirs < wait)
		wait = theirs;
	set_usec(&it.it_value, wait);
	/* again and again: one that came before F_SETLKW began ends the next */
	set_usec(&it.it_interval, LOCK_TICK_US);
	lock_alarm = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = setitimer(ITIMER_REAL, &it, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	while (r == 0) {
		if (lock_alarm) {
			errno = EINTR;
			r = -1;
			break;
		}
		if (fcntl(fd, F_SETLKW, fl) == 0)
			break;
		if (errno != EINTR)
			r = -1;
	}
	e = errno;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sigaction(SIGALRM, &old_sa, NULL);
	if (theirs > 0) {
		waited = (long long)(t1.tv_sec - t0.tv_sec) * 1000000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000;
		if (theirs - waited > 0) {
			set_usec(&old_it.it_value, theirs - waited);
			setitimer(ITIMER_REAL, &old_it, NULL);
		} else {
			/* theirs was due: it is theirs, and runs on if it
			 * repeats */
			if (usec(&old_it.it_interval) > 0) {
				old_it.it_value = old_it.it_interval;
				setitimer(ITIMER_REAL, &old_it, NULL);
			}
			raise(SIGALRM);
		}
	}
	errno = e;
	return r;
}

/*
 * Take (or, F_UNLCK, let go of) the lock on one byte of fd, waiting
 * LOCK_WAIT_US at most: a holder that is stopped (a local user may stop
 * their own queue-inject) must not hold up every other caller, who then
 * syncs alone instead.  0, or -1.
 */
enum { LOCK_WAIT_US = 250000 };

static int
range_lock(int fd, short type, off_t byte)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	if (type == F_UNLCK || (errno != EAGAIN && errno != EACCES))
		return -1;
	return lock_wait(fd, &fl, LOCK_WAIT_US);
}

static int
boot_id(char id[40])
{
	static char cached[40];
	static int have;

	if (!have) {
		int fd = open("/proc/sys/kernel/random/boot_id",
		    O_RDONLY | O_CLOEXEC);
		ssize_t r = fd == -1 ? -1 : xread(fd, cached, 36);

		if (fd != -1)
			close(fd);
		if (r != 36)
			return -1;
		have = 1;
	}
	memcpy(id, cached, sizeof cached);
	return 0;
}

/* The counts (byte 0 held): 0, or -1. */
static int
counts_read(int lockfd, struct synccount *c)
{
	char boot[40];
	ssize_t r;

	if (boot_id(boot) == -1)
		return -1;
	r = pread(lockfd, c, sizeof *c, 0);
	if (r < 0)
		return -1;
	if (r != (ssize_t)sizeof *c || memcmp(c->boot, boot, sizeof boot) != 0 ||
	    c->ended > c->begun) {
		memcpy(c->boot, boot, sizeof boot);
		c->begun = c->ended = 0;
	}
	return 0;
}

static int
counts_write(int lockfd, const struct synccount *c)
{
	return pwrite(lockfd, c, sizeof *c, 0) == (ssize_t)sizeof *c ? 0 : -1;
}

/*
 * 0, or -1 (EIO...) when a write of fd's file failed since fd was opened.
 * Another caller's sync reports only the errors that came after it
 * opened its own file; this asks the file itself, without writing
 * anything or flushing the disk's cache when its data is already out.
 */
static int
write_error(int fd)
{
#if defined(__linux__)
	return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
	    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
#else
	return fsync(fd);
#endif
}

int
sync_filesystem_shared(int fd, int lockfd)
{
	struct synccount c;
	uint64_t seen, mine;
	int r, e;

	if (lockfd == -1)
		return sync_filesystem(fd);
	/* our writes are done: any sync begun after this one covers them */
	if (range_lock(lockfd, F_WRLCK, 0) == -1)
		return sync_filesystem(fd);
	r = counts_read(lockfd, &c);
	seen = c.begun;
	range_lock(lockfd, F_UNLCK, 0);
	if (r == -1 || range_lock(lockfd, F_WRLCK, 1) == -1)
		return sync_filesystem(fd);
	/* the syncs before ours have ended */
	if (range_lock(lockfd, F_WRLCK, 0) == -1)
		goto alone;
	if (counts_read(lockfd, &c) == -1) {
		range_lock(lockfd, F_UNLCK, 0);
		goto alone;
	}
	if (c.ended > seen) {
		/* one begun after our writes has ended: they are on disk */
		range_lock(lockfd, F_UNLCK, 0);
		range_lock(lockfd, F_UNLCK, 1);
		return write_error(fd);
	}
	mine = ++c.begun;
	r = counts_write(lockfd, &c);
	range_lock(lockfd, F_UNLCK, 0);
	if (r == -1)
		goto alone;
	r = sync_filesystem(fd);
	e = errno;
	if (r == 0 && range_lock(lockfd, F_WRLCK, 0) == 0) {
		if (counts_read(lockfd, &c) == 0 && c.begun >= mine) {
			c.ended = mine;
			counts_write(lockfd, &c);
		}
		range_lock(lockfd, F_UNLCK, 0);
	}
	range_lock(lockfd, F_UNLCK, 1);
	errno = e;
	return r;
alone:
	/* the counts cannot be trusted: a sync of our own, not shared */
	r = sync_filesystem(fd);
	e = errno;
	range_lock(lockfd, F_UNLCK, 1);
	errno = e;
	return r;
}

/* Make a directory's entries (a new name, a removed one) durable. */
int
fsync_dir(const char *dir)
{
	int fd, r, e;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	r = fsync(fd);
	e = errno;
	if (close(fd) == -1 && r == 0)
		return -1;
	errno = e;
	return r;
}

/* close(2), where EINTR still means the descriptor is gone (Linux, POSIX.1-2008 leaves it open to the system). */
int
close_checked(int fd)
{
	if (close(fd) == -1 && errno != EINTR)
		return -1;
	return 0;
}

int
wait_readable(int fd, int ms)
{
	struct pollfd p;
	int r;

	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	do
		r = poll(&p, 1, ms);
	while (r == -1 && errno == EINTR);
	return r < 0 ? -1 : r;
}

int
seekable_stdin(off_t *base, long long *size, const char **what)
{
	char path[] = "/tmp/vdmail-stdin.XXXXXX", buf[65536];
	struct stat st;
	int fd;

	*what = "stdin";
	if (fstat(0, &st) == -1)
		return -1;
	if (S_ISREG(st.st_mode)) {
		*base = lseek(0, 0, SEEK_CUR);
		if (*base == -1)
			return -1;
		*size = (long long)st.st_size - *base;
		return 0;
	}
	*what = "spool stdin";
	fd = mkstemp(path);
	if (fd == -1)
		return -1;
	unlink(path);
	*size = 0;
	for (;;) {
		ssize_t r = xread(0, buf, sizeof buf);

		if (r < 0 || (r > 0 && write_all(fd, buf, (size_t)r) == -1))
			goto fail;
		if (r == 0)
			break;
		*size += r;
	}
	if (dup2(fd, 0) == -1)
		goto fail;
	close(fd);
	*base = 0;
	return 0;
fail:
	return close_failed(fd);
}

int
close_failed(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
	return -1;
}

int
read_whole(int fd, size_t size, char **data, size_t *len)
{
	char *p = malloc(size + 1);
	size_t n = 0;

	if (p == NULL)
		return -1;
	while (n < size) {
		ssize_t r = xread(fd, p + n, size - n);

		if (r < 0) {
			int e = errno;

			free(p);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	p[n] = '\0';
	*data = p;
	*len = n;
	return 0;
}
