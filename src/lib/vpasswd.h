/*
 * vpasswd - vdmail's virtual POP users: ROOT/users/passwd.
 *
 * One line per user, "address:hash", the hash a crypt(3) string
 * (yescrypt or SHA-512-crypt); '#' lines are comments.  A user's
 * Maildir is HOME/vpop/LOCAL/Maildir/ under the home of the user that
 * delivery routes the address to (the domain's master user).
 */
#ifndef VDMAIL_VPASSWD_H
#define VDMAIL_VPASSWD_H

#include <stddef.h>

#include "route.h"

enum {
	HASH_BYTES_MAX = 512,
	VLOCAL_BYTES_MAX = 64,
	PASSWORD_BYTES_MAX = 512
};

/* Nonzero when addr is one vuser takes: lowercase local@domain. */
int vuser_address_ok(const char *addr);
/*
 * Find addr's hash in the password file (case folded): 1 found, 0 not,
 * -1 trouble.
 */
int vpasswd_find(const char *addr, char *hash, size_t size);
/* The user's Maildir, from its route; 0 or -1. */
int vpasswd_maildir(const char *addr, const struct route *r, char *buf,
    size_t size);

#endif
