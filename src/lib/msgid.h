/*
 * msgid - message identities.
 *
 * An id is the creating host's time in seconds, a dot, and 16 characters
 * of base32 (80 random bits from the kernel): "1764074000.q3f8a2k9d0b1m4c7".
 * It does not depend on inode numbers or host names, so a queue copied to
 * another machine keeps its names unique; the time only orders ids and is
 * never read back as a clock.
 */
#ifndef VDMAIL_MSGID_H
#define VDMAIL_MSGID_H

#include <stddef.h>

enum {
	MSGID_RANDOM = 16,
	MSGID_BYTES_MAX = 32	/* room for an id and its NUL */
};

/* The 32 characters of the random part; also the queue's bucket names. */
extern const char msgid_alphabet[];

/* A fresh id into buf (MSGID_BYTES_MAX bytes): 0, or -1 with errno. */
int msgid_new(char *buf);
/* Nonzero when s has the form of an id (and is safe as a file name). */
int msgid_valid(const char *s);
/* The queue bucket of an id: its last character. */
char msgid_bucket(const char *id);

#endif
