/*
 * control - the instance root, the libexec directory, and control files.
 *
 * Control files are small line-oriented text files under ROOT/control/:
 * one entry per line, '#' starts a comment line, space around an entry is
 * ignored.  A missing file means "the default"; any other trouble is
 * reported to the caller, which treats it as temporary (111).
 */
#ifndef VDMAIL_CONTROL_H
#define VDMAIL_CONTROL_H

#include <stddef.h>
#include <sys/stat.h>

enum {
	CONTROL_BYTES_MAX = 8 * 1024 * 1024,	/* larger files are refused */
	PATH_BYTES_MAX = 4096
};

struct strlist {
	char **v;		/* entries, NUL-terminated, pointing into data */
	size_t n;
	char *data;
};

/*
 * Nonzero when running with privileges the caller did not have
 * (setuid/setgid): started so (Linux's AT_SECURE), or with ids that
 * differ at the first call; a program that later gives them up stays
 * privileged() for the rest of its run.
 */
int privileged(void);
/*
 * From now on use the built-in paths whatever the environment says: for
 * a setuid program about to give up the ids that made it privileged.
 */
void pin_builtin_paths(void);
/* VDMAIL_ROOT, or the built-in root when unset or privileged. */
const char *vdmail_root(void);
/* The root built in with make ROOT=. */
const char *vdmail_root_builtin(void);
/* VDMAIL_BIN, or the built-in directory of the user commands. */
const char *vdmail_bin(void);
/* VDMAIL_LIBEXEC, or the built-in libexec directory. */
const char *vdmail_libexec(void);
/* ROOT/sub into buf; -1 (ENAMETOOLONG) when it does not fit. */
int root_path(char *buf, size_t size, const char *sub);
int libexec_path(char *buf, size_t size, const char *prog);

/*
 * Read ROOT/control/NAME.  Return 1 and the entries in *l (comments and
 * blank lines dropped, surrounding space trimmed, lowercased when fold is
 * set), 0 when the file does not exist (*l empty), -1 on error (errno).
 */
/*
 * Read the whole of the regular file path, of at most max bytes, into a
 * new NUL-terminated buffer; its stat into *st unless st is NULL.  1, 0
 * when it does not exist, -1 with errno (EISDIR: not a regular file;
 * EFBIG: larger than max).
 */
int read_file_bounded(const char *path, size_t max, char **data,
    size_t *len, struct stat *st);
int control_list(const char *name, int fold, struct strlist *l);
/* The same for the len bytes of data (malloc'd, NUL-terminated), which l
 * then owns: 1, or -1 (errno; data freed). */
int control_list_parse(char *data, size_t len, int fold, struct strlist *l);
void strlist_free(struct strlist *l);
/* The first entry of NAME, or def when missing or empty: 1, 0 (default), -1. */
int control_line(const char *name, char *buf, size_t size, const char *def);
/* A decimal number in NAME, or def: 1, 0 (default), -1 (error or not a number: errno EINVAL). */
int control_ulong(const char *name, unsigned long *val, unsigned long def);

#endif
