/*
 * bounce - tell a sender that delivery failed: an RFC 3464 report
 * (multipart/report) whose first part follows qmail's QSBMF layout.
 */
#ifndef VDMAIL_BOUNCE_H
#define VDMAIL_BOUNCE_H

#include <stddef.h>
#include <sys/types.h>

/* The sender qmail gives a bounce of a bounce ("double bounce"). */
#define DOUBLE_BOUNCE_SENDER "#@[]"

extern char bounce_error[256];
/* Set when the queue (a QMAILQUEUE filter) refused the last bounce for good. */
extern int bounce_refused;

/*
 * Report the recipients whose state st[i] equals failed, with reasons[i],
 * for the message in the queue file path (the message starting at msgoff).
 * Sender "" sends a double bounce to control/doublebounceto; sender "#@[]"
 * (a failed double bounce) is dropped.  0 queued (its id in bid), 1
 * dropped, -1 trouble (bounce_error says which).
 */
int bounce_send(const char *path, off_t msgoff, const char *id,
    long long birth, const char *sender, const char *const *rcpts, size_t n,
    const unsigned char *st, unsigned char failed,
    const char *const *reasons, char *bid);

#endif
