/*
 * dotqmail - which .qmail file controls a local address.
 *
 * For home H, dash D and extension EXT (lowercased, '.' written ':'):
 * H/.qmailDEXT; then, cutting EXT after each '-' from the right,
 * H/.qmailDPREFIX-default; then H/.qmailDdefault.  With no extension,
 * H/.qmail alone (and, when it is missing, control/defaultdelivery).
 */
#ifndef VDMAIL_DOTQMAIL_H
#define VDMAIL_DOTQMAIL_H

#include <stddef.h>

enum dotqmail_status {
	DOTQMAIL_FOUND = 1,	/* path holds the file; *deflen as below */
	DOTQMAIL_NONE = 0,	/* no file: default delivery (no EXT) or bounce */
	DOTQMAIL_ERR = -1	/* a stat failed other than ENOENT: temporary */
};

/*
 * Find the file.  On FOUND, path is its name and *def is the offset in
 * ext where the part matched by "default" begins ($DEFAULT), or -1 when
 * the file named the whole extension.
 */
int dotqmail_find(const char *home, const char *dash, const char *ext,
    char *path, size_t size, long *def);
/* The file-name form of an extension: lowercased, '.' as ':'. */
void dotqmail_fold(char *dst, size_t size, const char *ext);

#endif
