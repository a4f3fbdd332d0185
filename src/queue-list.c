/*
 * queue-list - show the queue: one line per recipient.
 *
 * Usage:  queue-list
 * stdout: ID <TAB> STATE <TAB> DATE <TAB> <SENDER> <TAB> <RECIPIENT>
 *         STATE: new (not yet taken up), pending, deferred (tried, will
 *         be tried again), done, failed (to be bounced).
 * Exit:   0; 111 when the queue cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "die.h"
#include "msgid.h"
#include "queue.h"
#include "xio.h"

enum { ENVELOPE_MAX = QUEUE_ENVELOPE_MAX };

static const char *
state_name(int c)
{
	switch (c) {
	case 'd': return "done";
	case 'f': return "failed";
	case 't': return "deferred";
	default: return "pending";
	}
}

static void
list_one(const char *path, const char *id, int is_new)
{
	char head[QUEUE_HEADER_MAX], spath[300], date[64], *env, *states;
	struct queue_header h;
	struct tm tm;
	time_t t;
	size_t n = 0, i;
	ssize_t r;
	FILE *sf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return;		/* delivered while we looked */
		die_sys(QEXIT_TEMP, "open %s", path);
	}
	r = xread(fd, head, sizeof head);
	if (r < 0 || queue_header_parse(head, (size_t)r, &h) == -1 ||
	    h.envelope > ENVELOPE_MAX || h.envelope < 4) {
		close(fd);
		warn("%s: malformed (run queue-check)", path);
		return;
	}
	env = malloc(h.envelope + 1);
	if (env == NULL)
		die(QEXIT_TEMP, "out of memory");
	r = pread(fd, env, h.envelope, (off_t)h.length);
	close(fd);
	if (r != (ssize_t)h.envelope) {
		free(env);
		warn("%s: cut short (run queue-check)", path);
		return;
	}
	env[h.envelope - 1] = '\0';
	for (i = strlen(env) + 1; i < h.envelope - 1; i += strlen(env + i) + 1)
		n++;
	states = calloc(n + 1, 1);
	if (states == NULL)
		die(QEXIT_TEMP, "out of memory");
	snprintf(spath, sizeof spath, "state/%c/%s", msgid_bucket(id), id);
	sf = is_new ? NULL : fopen(spath, "re");
	if (sf != NULL) {
		char *line = NULL, kind;
		const char *rest;
		size_t cap = 0;
		unsigned long idx;
		ssize_t got;

		/* as in queue-run, a line cut by a crash is no record */
		while ((got = getline(&line, &cap, sf)) > 0 &&
		    line[got - 1] == '\n') {
			line[got - 1] = '\0';
			if (queue_state_line(line, &kind, &idx, &rest) &&
			    idx < n && (states[idx] == 0 || states[idx] == 't'))
				states[idx] = kind;
		}
		free(line);
		fclose(sf);
	}
	t = (time_t)h.time;
	localtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
	n = 0;
	for (i = strlen(env) + 1; i < h.envelope - 1; i += strlen(env + i) + 1)
		printf("%s\t%s\t%s\t<%s>\t<%s>\n", id,
		    is_new ? "new" : state_name(states[n++]), date, env + 1,
		    env + i + 1);
	free(states);
	free(env);
}

static void
list_dir(const char *dir, int is_new)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		die_sys(QEXIT_TEMP, "open %s", dir);
	while ((de = readdir(d)) != NULL) {
		char path[300];

		if (!msgid_valid(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		list_one(path, de->d_name, is_new);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	char path[PATH_BYTES_MAX];

	progname = "queue-list";
	(void)argv;
	if (argc > 1)
		usage("");
	if (root_path(path, sizeof path, "queue") == -1 || chdir(path) == -1)
		die_sys(QEXIT_TEMP, "enter %s", path);
	list_dir("new", 1);
	for (const char *b = msgid_alphabet; *b != '\0'; b++) {
		char dir[16];

		snprintf(dir, sizeof dir, "mess/%c", *b);
		list_dir(dir, 0);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die_sys(QEXIT_TEMP, "write stdout");
	return QEXIT_OK;
}
