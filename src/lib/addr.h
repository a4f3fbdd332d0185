/*
 * addr - envelope addresses: parsing SMTP paths, checking domains, and
 * spotting the tricks that turn a mail server into a relay.
 */
#ifndef VDMAIL_ADDR_H
#define VDMAIL_ADDR_H

#include <stddef.h>

enum {
	ADDR_BYTES_MAX = 1000,	/* the longest address the queue takes */
	SMTP_PATH_MAX = 256,	/* RFC 5321 4.5.3.1.3, brackets included */
	DOMAIN_BYTES_MAX = 255,
	LABEL_BYTES_MAX = 63
};

enum addr_status {
	ADDR_OK = 0,
	ADDR_SYNTAX = -1,	/* not a path */
	ADDR_TOOLONG = -2,	/* over SMTP_PATH_MAX or the caller's buffer */
	ADDR_BADCHAR = -3	/* a control character or NUL */
};

/*
 * Parse an SMTP path ("<local@domain>", "<>", "<@a,@b:local@domain>"; the
 * brackets may be left out) at the start of s.  The address is written to
 * out, quoting undone (so "a b"@x becomes a b@x).  *rest is set to what
 * follows the path (ESMTP parameters), *routed to 1 when a source route
 * was given (and dropped).  A path without '@' gives an address without
 * one.
 */
int addr_parse_path(const char *s, char *out, size_t size, const char **rest,
    int *routed);

/* The domain part of addr (after its last '@'), or NULL when it has none. */
const char *addr_domain(const char *addr);
/* A '%', '!' or '@' in the local part: an attempt to route through us. */
int addr_has_routing(const char *addr);
/* Letters, digits and inner hyphens in labels of 1..63 bytes, or a [literal]. */
int domain_valid(const char *d);
/* No byte below 0x20, no DEL. */
int is_clean(const char *s, size_t len);
/*
 * addr as it goes into an SMTP command between < and >: its local part
 * as it is when it is a dot-atom, else quoted (RFC 5321 Quoted-string:
 * '"' and '\\' escaped), so that a space or a '>' in it cannot end the
 * path.  0, or -1 when it does not fit in size bytes.
 */
int addr_quote(char *out, size_t size, const char *addr);

#endif
