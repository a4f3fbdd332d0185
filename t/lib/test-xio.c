/*
 * test-xio - drive src/lib/xio from the command line, for t/lib-xio.bats.
 *
 *   test-xio copy [USEC]   read all of stdin (xread), then write it to
 *                          stdout with ONE write_all call; with USEC, a
 *                          SIGALRM handler without SA_RESTART fires every
 *                          USEC microseconds meanwhile, so that write(2)
 *                          is cut short or interrupted.  Prints
 *                          "signals=N" on stderr in that case.
 *   test-xio fsyncdir DIR  fsync_dir(DIR): "ok", or "err ERRNO strerror"
 *   test-xio close FD      close_checked(FD): "ok" or "err ERRNO strerror"
 *   test-xio wait MS       wait_readable(0, MS): "ready", "timeout" or
 *                          "err ...", then " ms=N", the time it took
 *   test-xio shared FILE LOCK MS
 *                          sync_filesystem_shared() of FILE through the
 *                          lock file LOCK, with a timer of MS ms of the
 *                          caller's own running (0: none) and a SIGALRM
 *                          handler (SA_RESTART) that counts: "ok" or
 *                          "err ...", then " ms=N left=N signals=N": the
 *                          time it took, what was left of the timer after
 *                          it (ms), and how many SIGALRMs the handler got
 *
 * Exit: 0 ok (or ready / timeout), 1 err, 2 bad test usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "xio.h"

static volatile sig_atomic_t signals;

static void
on_alarm(int sig)
{
	(void)sig;
	signals++;
}

static _Noreturn void
bad(void)
{
	fputs("test-xio: bad arguments\n", stderr);
	exit(2);
}

static long
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 0 || v > 100000000)
		bad();
	return v;
}

static int
result(int r)
{
	if (r == 0) {
		puts("ok");
		return 0;
	}
	printf("err %d %s\n", errno, strerror(errno));
	return 1;
}

static int
copy(int argc, char **argv)
{
	char *p = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *np;

			cap = cap ? cap * 2 : 65536;
			np = realloc(p, cap);
			if (np == NULL)
				return 2;
			p = np;
		}
		r = xread(0, p + len, cap - len);
		if (r < 0) {
			perror("test-xio: read");
			return 1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (argc == 1) {
		struct sigaction sa;
		struct itimerval it;
		long us = num(argv[0]);

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_alarm;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = 0;	/* no SA_RESTART: write(2) sees EINTR */
		if (sigaction(SIGALRM, &sa, NULL) == -1)
			return 2;
		memset(&it, 0, sizeof it);
		it.it_interval.tv_sec = us / 1000000;
		it.it_interval.tv_usec = us % 1000000;
		it.it_value = it.it_interval;
		if (setitimer(ITIMER_REAL, &it, NULL) == -1)
			return 2;
	}
	if (write_all(1, p, len) == -1) {
		perror("test-xio: write_all");
		return 1;
	}
	if (argc == 1) {
		struct itimerval off;

		memset(&off, 0, sizeof off);
		setitimer(ITIMER_REAL, &off, NULL);
		fprintf(stderr, "signals=%ld\n", (long)signals);
	}
	free(p);
	return 0;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static int
shared(const char *file, const char *lock, long ms)
{
	struct sigaction sa;
	struct itimerval it;
	struct timespec t0;
	int fd = open(file, O_RDONLY), lfd = open(lock, O_RDWR), r;

	if (fd == -1 || lfd == -1)
		return 2;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		return 2;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = ms % 1000 * 1000;
	if (setitimer(ITIMER_REAL, &it, NULL) == -1)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = sync_filesystem_shared(fd, lfd);
	if (r == 0)
		printf("ok");
	else
		printf("err %d %s", errno, strerror(errno));
	getitimer(ITIMER_REAL, &it);
	printf(" ms=%ld left=%ld signals=%ld\n", ms_since(&t0),
	    (long)it.it_value.tv_sec * 1000 + it.it_value.tv_usec / 1000,
	    (long)signals);
	return r != 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		bad();
	if (strcmp(argv[1], "copy") == 0 && argc <= 3)
		return copy(argc - 2, argv + 2);
	if (strcmp(argv[1], "fsyncdir") == 0 && argc == 3)
		return result(fsync_dir(argv[2]));
	if (strcmp(argv[1], "close") == 0 && argc == 3)
		return result(close_checked((int)num(argv[2])));
	if (strcmp(argv[1], "wait") == 0 && argc == 3) {
		struct timespec t0;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = wait_readable(0, (int)num(argv[2]));
		if (r > 0)
			printf("ready");
		else if (r == 0)
			printf("timeout");
		else
			printf("err %d %s", errno, strerror(errno));
		printf(" ms=%ld\n", ms_since(&t0));
		return r < 0;
	}
	if (strcmp(argv[1], "shared") == 0 && argc == 5)
		return shared(argv[2], argv[3], num(argv[4]));
	bad();
}
