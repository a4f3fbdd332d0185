/*
 * queue - the on-disk queue: its layout and the message file format.
 * vdmail-queue(5) documents both.
 *
 *   queue/VERSION       "vdmail-queue 1"
 *   queue/tmp/ID        being written by queue-inject; never a message
 *   queue/new/ID        committed, not yet taken up by queue-run
 *   queue/mess/B/ID     taken up by queue-run (B: the id's last character)
 *   queue/state/B/ID    queue-run's per-recipient record
 *   queue/lock/trigger  FIFO: queue-inject writes a byte after a commit
 *   queue/lock/inflow   its mtime, fresh while queue-run is behind
 *
 * A message file is a short text header, then the envelope, then the
 * message, so that a delivery can read the message from an offset to EOF:
 *
 *   vdmail-queue 1\n  id ID\n  time T\n  envelope N\n  message M\n  \n
 *   N bytes: F sender \0 (T recipient \0)... \0
 *   M bytes: the message, LF line ends
 */
#ifndef VDMAIL_QUEUE_H
#define VDMAIL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define QUEUE_VERSION "vdmail-queue 1"

enum {
	QUEUE_HEADER_MAX = 256,
	QUEUE_ENVELOPE_MAX = 16 * 1024 * 1024,	/* bytes of envelope */
	QUEUE_BUCKETS = 32
};

struct queue_header {
	char id[32];
	long long time;
	uint64_t envelope;	/* bytes */
	uint64_t message;	/* bytes */
	size_t length;		/* of the header itself */
};

/* Format the header into buf (QUEUE_HEADER_MAX); its length, or 0. */
size_t queue_header_format(char *buf, const struct queue_header *h);
/* Parse a header from the first bytes of a file; 0, or -1 when malformed. */
int queue_header_parse(const char *buf, size_t len, struct queue_header *h);
/*
 * Check a whole message file at path: header, sizes, envelope form.
 * 0 whole; 1 malformed or cut short (why in *why); -1 on I/O error.
 */
int queue_file_check(const char *path, struct queue_header *h,
    const char **why);
/* Make the queue's directories under dir (the queue itself); 0 or -1. */
int queue_make(const char *dir);
/*
 * lock/inflow, queue-run's mark that it is behind: its mtime, fresh while
 * it is, 0 for no mark.  queue_inflow_open() opens path for writing
 * without blocking or following a link, making it (time 0) when it is
 * missing; it must be a regular file.  A descriptor, or -1 with errno.
 * queue_inflow_mark() sets the mark (now) or clears it (0): 0 or -1.
 */
int queue_inflow_open(const char *path);
int queue_inflow_mark(int fd, int on);
/*
 * Make a missing lock file, leaving one that is there as it is:
 * lock/inflow as queue_inflow_open() does, lock/sync (queue-inject's
 * group commit, see sync_filesystem_shared()) empty with mode 0600.
 * 0, or -1 with errno.
 */
int queue_inflow_make(const char *path);
int queue_sync_make(const char *path);
/*
 * One line of a state file, its newline removed: "d N", "f N REASON" or
 * "t N TRIES REASON".  1 with *kind, *idx and *rest (what follows the
 * space after N; "" for d); 0 for anything else, such as a line cut
 * short and run into the next.
 */
int queue_state_line(const char *line, char *kind, unsigned long *idx,
    const char **rest);

#endif
