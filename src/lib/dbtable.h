/*
 * dbtable - forwarding tables for qmail_db_lookup: "name: address ..."
 * text files, indexed by a cdb file beside them (tinycdb's format) that
 * is rebuilt whenever the text changes.  No rebuild command.
 */
#ifndef VDMAIL_DBTABLE_H
#define VDMAIL_DBTABLE_H

#include <stddef.h>

enum {
	DBTABLE_LINE_MAX = 65536,	/* one entry, continuation lines included */
	DBTABLE_NAME_MAX = 1000
};

enum dbtable_status {
	DBT_FOUND = 1,
	DBT_MISSING = 0,
	DBT_ERR = -1,		/* I/O trouble: errno; temporary */
	DBT_MALFORMED = -2	/* the text has a bad line: dbtable_error */
};

extern char dbtable_error[512];

/*
 * Look name (folded to lowercase) up in the table at path; its targets,
 * each NUL-terminated, one after another, into a malloc'ed *value
 * (*len bytes).  When rebuild is set, a missing or stale index is
 * rebuilt first (atomically: a new file renamed over the old); when it
 * is not, a stale index is not used and DBT_ERR is returned with errno
 * ESTALE.  A directory the caller cannot write gets no index: the text
 * is then searched directly.
 */
int dbtable_lookup(const char *path, const char *name, int rebuild,
    char **value, size_t *len);
/* Build the index of path now: 0, or DBT_ERR / DBT_MALFORMED. */
int dbtable_build(const char *path);

#endif
