/*
 * maildir2mbox - move the mail of a Maildir into an mbox file, for
 * programs that read only mbox.
 *
 * Usage:  maildir2mbox      with MAILDIR, MAIL and MAILTMP set
 * Exit:   0 moved (or nothing to move); 100 bad usage or environment;
 *         111 trouble: then MAIL and MAILDIR are as they were.
 *
 * Under the locks of MAIL (fcntl and MAIL.lock) it copies MAIL to
 * MAILTMP, appends each message of new/ and cur/ (oldest first), syncs
 * MAILTMP and renames it over MAIL; only then does it remove the
 * messages it moved from the Maildir.  A crash before the rename leaves
 * MAIL untouched; after it, at worst a message is in both places.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "die.h"
#include "fmt.h"
#include "mbox.h"
#include "xio.h"

enum { MESSAGES_MAX = 1000000, SENDER_BYTES_MAX = 1023 };

static char **names;
static size_t nnames, cap;

static int
by_name(const void *a, const void *b)
{
	const char *x = strchr(*(char *const *)a, '/') + 1;
	const char *y = strchr(*(char *const *)b, '/') + 1;

	return strcmp(x, y);
}

static void
collect(const char *maildir, const char *sub)
{
	char dir[4096];
	DIR *d;
	struct dirent *de;

	if (fmt(dir, sizeof dir, "%s/%s", maildir, sub))
		die(QEXIT_PERM, "MAILDIR too long");
	d = opendir(dir);
	if (d == NULL)
		die_sys(QEXIT_TEMP, "open %s", dir);
	while ((de = readdir(d)) != NULL) {
		char *n;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		if (nnames == MESSAGES_MAX)
			break;
		if (nnames == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (names == NULL)
				die(QEXIT_TEMP, "out of memory");
		}
		len = strlen(sub) + 1 + strlen(de->d_name) + 1;
		n = malloc(len);
		if (n == NULL)
			die(QEXIT_TEMP, "out of memory");
		snprintf(n, len, "%s/%s", sub, de->d_name);
		names[nnames++] = n;
	}
	closedir(d);
}

/* The envelope sender from a first "Return-Path: <...>" line, if any. */
static const char *
sender_of(int fd)
{
	static char s[SENDER_BYTES_MAX + 1];
	char head[sizeof s + 16];
	ssize_t r = pread(fd, head, sizeof head - 1, 0);
	char *end;

	if (r <= 14 || strncmp(head, "Return-Path: <", 14) != 0)
		return "MAILER-DAEMON";
	head[r] = '\0';
	end = strchr(head + 14, '>');
	if (end == NULL || end == head + 14 || memchr(head + 14, '\n',
	    (size_t)(end - head - 14)) != NULL || memchr(head + 14, ' ',
	    (size_t)(end - head - 14)) != NULL)
		return "MAILER-DAEMON";
	*end = '\0';
	if (fmt(s, sizeof s, "%s", head + 14) != 0)
		return "MAILER-DAEMON";	/* not to be cut short */
	return s;
}

int
main(int argc, char **argv)
{
	const char *maildir = getenv("MAILDIR"), *mail = getenv("MAIL");
	const char *tmp = getenv("MAILTMP");
	static struct mbox_out o;
	char lock[4096], buf[65536], ufline[SENDER_BYTES_MAX + 64];
	int mfd, tfd;

	progname = "maildir2mbox";
	(void)argv;
	if (argc > 1)
		usage("(with MAILDIR, MAIL and MAILTMP set)");
	if (maildir == NULL || mail == NULL || tmp == NULL ||
	    !*maildir || !*mail || !*tmp)
		die(QEXIT_PERM, "MAILDIR, MAIL and MAILTMP must be set");
	collect(maildir, "new");
	collect(maildir, "cur");
	if (nnames == 0)
		return QEXIT_OK;
	qsort(names, nnames, sizeof *names, by_name);
	if (fmt(lock, sizeof lock, "%s.lock", mail))
		die(QEXIT_PERM, "MAIL too long");
	mfd = open(mail, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (mfd == -1)
		die_sys(QEXIT_TEMP, "open %s", mail);
	if (mbox_dotlock(lock) == -1)
		die_sys(QEXIT_TEMP, "lock %s", lock);
	if (mbox_fcntl_lock(mfd) == -1) {
		unlink(lock);
		die_sys(QEXIT_TEMP, "lock %s", mail);
	}
	tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (tfd == -1)
		goto fail;
	/* the old mbox first */
	for (;;) {
		ssize_t r = xread(mfd, buf, sizeof buf);

		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		if (write_all(tfd, buf, (size_t)r) == -1)
			goto fail;
	}
	o.fd = tfd;
	for (size_t i = 0; i < nnames; i++) {
		char path[4200];
		int fd;

		if (fmt(path, sizeof path, "%s/%s", maildir, names[i]))
			goto fail;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1) {
			if (errno == ENOENT) {
				names[i][0] = '\0';	/* gone meanwhile */
				continue;
			}
			goto fail;
		}
		mbox_from_line(ufline, sizeof ufline, sender_of(fd));
		if (mbox_put_message(&o, ufline, "", fd, 0) == -1) {
			close(fd);
			goto fail;
		}
		close(fd);
	}
	if (mbox_flush(&o) == -1 || fsync(tfd) == -1 ||
	    close_checked(tfd) == -1) {
		tfd = -1;
		goto fail;
	}
	tfd = -1;
	if (rename(tmp, mail) == -1)
		goto fail;
	{
		/* the rename must be durable before the Maildir empties */
		char dir[4096];
		const char *slash = strrchr(mail, '/');

		if (slash == NULL)
			strcpy(dir, ".");
		else if (fmt(dir, sizeof dir, "%.*s", (int)(slash - mail), mail))
			goto fail;
		if (dir[0] == '\0')
			strcpy(dir, "/");
		if (fsync_dir(dir) == -1)
			goto fail;
	}
	unlink(lock);
	for (size_t i = 0; i < nnames; i++) {
		char path[4200];

		if (names[i][0] == '\0')
			continue;
		if (!fmt(path, sizeof path, "%s/%s", maildir, names[i]) &&
		    unlink(path) == -1 && errno != ENOENT)
			warn_sys("remove %s", path);
	}
	return QEXIT_OK;
fail:
	{
		int e = errno;

		if (tfd != -1)
			close(tfd);
		unlink(tmp);
		unlink(lock);
		errno = e;
		die_sys(QEXIT_TEMP, "move mail to %s", mail);
	}
}
