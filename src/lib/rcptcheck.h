/*
 * rcptcheck - would delivery certainly bounce this address?  The check
 * smtp-accept makes at RCPT time, with delivery's own lookup: the route,
 * the .qmail file, and a forwarding table behind a .qmail-default.
 */
#ifndef VDMAIL_RCPTCHECK_H
#define VDMAIL_RCPTCHECK_H

#include "route.h"

/* rcpt-check's exit when the address certainly bounces. */
enum { RCPT_CHECK_NO = 1 };

/* 0 certainly bounces, 1 deliverable or not sure, -1 config trouble. */
int rcpt_deliverable(const char *addr);
/* The same for a route already looked up (reads the user's home). */
int rcpt_deliverable_route(const struct route *r);

#endif
