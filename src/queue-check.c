/*
 * queue-check - verify the queue and repair what a crash or a copy left.
 *
 * Usage:  queue-check [-n]
 *         -n  report only, change nothing.
 * stdout: one line per finding: "repaired: ..." or "damage: ...".
 * Exit:   0 the queue is consistent (after the repairs); 1 damage that
 *         was not repaired (always so with -n when there is any); 111 the
 *         queue could not be checked.
 *
 * Run it while queue-run is stopped (svc -d DIR/service/send): it moves
 * files that queue-run may be working on.  A message file it cannot
 * vouch for is never deleted: it goes to queue/bad/ for a human.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "die.h"
#include "msgid.h"
#include "queue.h"
#include "xio.h"

enum {
	TMP_STALE_SECONDS = 36 * 3600	/* older tmp/ files are debris */
};

static int dry;			/* -n */
static unsigned long damage;	/* found and not repaired */

static void PRINTF_LIKE(2, 3)
finding(int repaired, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	printf("%s: %s\n", repaired ? "repaired" : "damage", buf);
	if (!repaired)
		damage++;
}

/* Make a directory that should be there. */
static void
want_dir(const char *path, mode_t mode)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			finding(0, "%s is not a directory", path);
		return;
	}
	if (errno != ENOENT)
		die_sys(QEXIT_TEMP, "stat %s", path);
	if (dry || mkdir(path, mode) == -1)
		finding(0, "%s is missing", path);
	else
		finding(1, "%s was missing: made", path);
}

/* Put a file we cannot vouch for where a human will look. */
static void
quarantine(const char *path, const char *why)
{
	char to[600];
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	snprintf(to, sizeof to, "bad/%s", base);
	if (dry) {
		finding(0, "%s: %s", path, why);
		return;
	}
	if (mkdir("bad", 0750) == -1 && errno != EEXIST)
		die_sys(QEXIT_TEMP, "make bad/");
	if (access(to, F_OK) == 0)
		snprintf(to, sizeof to, "bad/%s.%ld", base, (long)time(NULL));
	if (access(to, F_OK) == 0 || rename(path, to) == -1)
		finding(0, "%s: %s (and it could not be moved to bad/: %s)",
		    path, why, strerror(errno));
	else
		finding(1, "%s: %s: moved to %s", path, why, to);
}

static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	char ba[65536], bb[65536];
	int fa, fb, same = 1;

	if (stat(a, &sa) == -1 || stat(b, &sb) == -1)
		return 0;
	if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
		return 1;
	if (sa.st_size != sb.st_size)
		return 0;
	fa = open(a, O_RDONLY | O_CLOEXEC);
	fb = open(b, O_RDONLY | O_CLOEXEC);
	while (fa != -1 && fb != -1 && same) {
		ssize_t ra = xread(fa, ba, sizeof ba), rb = xread(fb, bb, sizeof bb);

		if (ra != rb || ra < 0)
			same = 0;
		else if (ra == 0)
			break;
		else
			same = memcmp(ba, bb, (size_t)ra) == 0;
	}
	if (fa == -1 || fb == -1)
		same = 0;
	if (fa != -1)
		close(fa);
	if (fb != -1)
		close(fb);
	return same;
}

/* A message file in dir: whole, named by its own id, in its bucket. */
static void
check_message(const char *dir, const char *name, int in_new)
{
	char path[600], right[600];
	struct queue_header h;
	const char *why = NULL;
	int r;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!msgid_valid(name)) {
		quarantine(path, "not a message name");
		return;
	}
	r = queue_file_check(path, &h, &why);
	if (r < 0)
		die_sys(QEXIT_TEMP, "read %s", path);
	if (r > 0) {
		quarantine(path, why);
		return;
	}
	if (strcmp(h.id, name) != 0) {
		quarantine(path, "its header names another id");
		return;
	}
	snprintf(right, sizeof right, "mess/%c/%s", msgid_bucket(name), name);
	if (in_new) {
		/* a crash between queue-run's link and unlink leaves both */
		if (access(right, F_OK) == 0) {
			if (!same_file(path, right)) {
				quarantine(path, "differs from the same id in mess/");
			} else if (dry) {
				finding(0, "%s is also in mess/", path);
			} else if (unlink(path) == -1) {
				finding(0, "%s: %s", path, strerror(errno));
			} else {
				finding(1, "%s was also in mess/: removed", path);
			}
		}
		return;
	}
	if (strcmp(path, right) != 0) {
		if (dry)
			finding(0, "%s is in the wrong bucket", path);
		else if (link(path, right) == -1 || unlink(path) == -1)
			finding(0, "%s: %s", path, strerror(errno));
		else
			finding(1, "%s was in the wrong bucket: moved to %s",
			    path, right);
	}
}

static void
each(const char *dir, void (*fn)(const char *, const char *, int), int arg)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return;		/* reported by want_dir */
		die_sys(QEXIT_TEMP, "open %s", dir);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		fn(dir, de->d_name, arg);
	}
	closedir(d);
}

static void
check_tmp(const char *dir, const char *name, int unused)
{
	char path[600];
	struct stat st;

	(void)unused;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (lstat(path, &st) == -1)
		return;
	if (time(NULL) - st.st_mtime < TMP_STALE_SECONDS)
		return;		/* may be an injection under way */
	if (dry)
		finding(0, "%s is debris of an interrupted injection", path);
	else if (unlink(path) == -1)
		finding(0, "%s: %s", path, strerror(errno));
	else
		finding(1, "%s was debris of an interrupted injection: removed",
		    path);
}

static void
check_state(const char *dir, const char *name, int unused)
{
	char path[600], mess[600], new[600];

	(void)unused;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(mess, sizeof mess, "mess/%c/%s", msgid_bucket(name), name);
	snprintf(new, sizeof new, "new/%s", name);
	if (msgid_valid(name) && (access(mess, F_OK) == 0 ||
	    access(new, F_OK) == 0))
		return;
	if (dry)
		finding(0, "%s belongs to no message", path);
	else if (unlink(path) == -1)
		finding(0, "%s: %s", path, strerror(errno));
	else
		finding(1, "%s belonged to no message: removed", path);
}

/* A lock file: a regular file, made by make() when it is missing. */
static void
check_lock(const char *path, int (*make)(const char *))
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			finding(0, "%s is not a regular file", path);
		return;
	}
	if (errno != ENOENT)
		die_sys(QEXIT_TEMP, "stat %s", path);
	if (dry || make(path) == -1)
		finding(0, "%s is missing", path);
	else
		finding(1, "%s was missing: made", path);
}

int
main(int argc, char **argv)
{
	char path[PATH_BYTES_MAX], ver[64];
	struct stat st;
	ssize_t r;
	int c, fd;

	progname = "queue-check";
	while ((c = getopt(argc, argv, "n")) != -1) {
		if (c == 'n')
			dry = 1;
		else
			usage("[-n]");
	}
	if (optind != argc)
		usage("[-n]");
	if (root_path(path, sizeof path, "queue") == -1 || chdir(path) == -1)
		die_sys(QEXIT_TEMP, "enter %s", path);
	fd = open("VERSION", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		die_sys(QEXIT_TEMP, "%s/VERSION", path);
	r = xread(fd, ver, sizeof ver - 1);
	close(fd);
	if (r < 0)
		die_sys(QEXIT_TEMP, "%s/VERSION", path);
	ver[r] = '\0';
	if (strcmp(ver, QUEUE_VERSION "\n") != 0)
		die(QEXIT_TEMP, "%s: not a queue of this version (%s)", path,
		    QUEUE_VERSION);

	want_dir("tmp", 0750);
	want_dir("new", 0750);
	want_dir("mess", 0750);
	want_dir("state", 0750);
	want_dir("lock", 0751);
	for (const char *b = msgid_alphabet; *b != '\0'; b++) {
		char d[16];

		snprintf(d, sizeof d, "mess/%c", *b);
		want_dir(d, 0750);
		snprintf(d, sizeof d, "state/%c", *b);
		want_dir(d, 0750);
	}
	if (lstat("lock/trigger", &st) == -1 || !S_ISFIFO(st.st_mode)) {
		if (dry)
			finding(0, "lock/trigger is missing or not a FIFO");
		else if ((unlink("lock/trigger") == -1 && errno != ENOENT) ||
		    mkfifo("lock/trigger", 0620) == -1)
			finding(0, "lock/trigger: %s", strerror(errno));
		else
			finding(1, "lock/trigger was missing: made");
	}
	check_lock("lock/inflow", queue_inflow_make);
	check_lock("lock/sync", queue_sync_make);
	each("tmp", check_tmp, 0);
	each("new", check_message, 1);
	for (const char *b = msgid_alphabet; *b != '\0'; b++) {
		char d[16];

		snprintf(d, sizeof d, "mess/%c", *b);
		each(d, check_message, 0);
	}
	for (const char *b = msgid_alphabet; *b != '\0'; b++) {
		char d[16];

		snprintf(d, sizeof d, "state/%c", *b);
		each(d, check_state, 0);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die_sys(QEXIT_TEMP, "write stdout");
	return damage > 0 ? 1 : QEXIT_OK;
}
