/*
 * inject - hand a message to queue-inject (or $QMAILQUEUE).
 *
 * The message goes down one pipe to the injector's fd 0, then the
 * envelope down another to its fd 1; its exit status is the verdict.
 */
#ifndef VDMAIL_INJECT_H
#define VDMAIL_INJECT_H

#include <stddef.h>
#include <sys/types.h>

struct inject {
	pid_t pid;
	int msgfd;		/* write the message here */
	int envfd;		/* the envelope, written by inject_close */
};

/* Start the injector; id (may be NULL) is passed as VDMAIL_MSGID.  0 or -1. */
int inject_open(struct inject *q, const char *id);
/* Write message bytes: 0, or -1 when the injector stopped reading. */
int inject_write(struct inject *q, const void *buf, size_t len);
/*
 * The message from fd to its end, after prefix (a Delivered-To line, or
 * NULL): 0, or -1 when fd could not be read (errno; the injection is
 * then aborted).  An injector that stops reading is not an error here:
 * its exit status tells why.
 */
int inject_copy(struct inject *q, const char *prefix, int fd);
/*
 * End the message, send the envelope, wait.  Returns the injector's exit
 * code (0 queued; 11..40 permanent refusal; others temporary), or -1 when
 * it crashed or could not be waited for.
 */
int inject_close(struct inject *q, const char *sender,
    const char *const *rcpts, size_t n);
/* Give up: the injector sees a cut envelope and queues nothing. */
void inject_abort(struct inject *q);
/* One line for a refusal: "queue-inject: code 53 (write error)". */
const char *inject_strerror(int code);

#endif
