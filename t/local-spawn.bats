#!/usr/bin/env bats
# t/local-spawn.bats -- local-spawn RECIPIENT SENDER (or -m FD SENDER
# RECIPIENT...): its own route lookup,
# the user it becomes, and what it refuses.  In installed mode it is
# setuid root (t/e2e-installed.bats proves that side); here it runs in a
# sandbox instance, as the sandbox user, and as root where root is there.

load helpers/common
load helpers/deliver

setup() {
	scratch_dir
	cd "$S" || return 1
	deliver_instance
	printf 'Subject: spawned\n\nbody\n' >"$S/msg"
	chmod 0644 "$S/msg"
}

teardown() {
	deliver_cleanup
}

@test "a local address: delivered by dotqmail-exec through its own lookup" {
	run -0 as_sandbox local-spawn john@abc.com sender@example.org <"$S/msg"
	f=$(find "$H/Maildir/new" -type f)
	[ -n "$f" ]
	grep -qx 'Delivered-To: abc-john@abc.com' "$f"
	grep -qx 'Return-Path: <sender@example.org>' "$f"
	grep -qx 'Subject: spawned' "$f"
}

@test "the exit of dotqmail-exec comes back: 100 for no mailbox" {
	rm -f "$H/.qmail-default"
	run -100 --separate-stderr as_sandbox local-spawn nobody@abc.com s@x.org <"$S/msg"
	[ "$stderr" = 'dotqmail-exec: fatal: Sorry, no mailbox here by that name. (#5.1.1)' ]
}

@test "refusals: a remote address, uid 0, malformed input, usage" {
	# queue-run asks only for local addresses: a remote one means the
	# control files changed meanwhile, so it waits instead of bouncing
	run -111 --separate-stderr as_sandbox local-spawn bob@elsewhere.example s@x.org <"$S/msg"
	[ "$stderr" = 'local-spawn: fatal: bob@elsewhere.example is not a local address now; will try again (#4.3.0)' ]
	printf '+root0-:root0:0:0:%s:-::\n.\n' "$H" | sandbox_write "$I/users/assign"
	printf 'root.example:root0\n' | sandbox_append "$I/control/virtualdomains"
	run -111 --separate-stderr as_sandbox local-spawn x@root.example s@x.org <"$S/msg"
	[ "$stderr" = 'local-spawn: fatal: refusing to deliver as uid 0 (#4.3.0)' ]
	run -100 --separate-stderr as_sandbox local-spawn $'a\nb@abc.com' s@x.org <"$S/msg"
	[ "$stderr" = 'local-spawn: fatal: malformed address' ]
	run -100 --separate-stderr as_sandbox local-spawn john@abc.com <"$S/msg"
	[ "$stderr" = 'local-spawn: fatal: usage: local-spawn RECIPIENT SENDER | -m FD SENDER RECIPIENT...' ]
	run -100 --separate-stderr as_sandbox local-spawn -m 0 s@x.org <"$S/msg"
	[ "$stderr" = 'local-spawn: fatal: usage: local-spawn RECIPIENT SENDER | -m FD SENDER RECIPIENT...' ]
	[ -z "$(ls -A "$H/Maildir/new")" ]
}

@test "run by root: it becomes the user of the route before delivering" {
	[ "$(id -u)" = 0 ] || skip 'needs root'
	run -0 local-spawn john@abc.com sender@example.org <"$S/msg"
	f=$(find "$H/Maildir/new" -type f)
	[ -n "$f" ]
	[ "$(stat -c %u "$f")" = "$SANDBOX_UID" ]
}

@test "-m: several addresses of one user in one dotqmail-exec, a result line for each but the last" {
	printf '|echo gone; exit 100\n' | sandbox_write "$H/.qmail-gone"
	run -0 --separate-stderr as_sandbox local-spawn -m \
	    0 sender@example.org john@abc.com 0 sender@example.org gone@abc.com \
	    0 sender@example.org mary@abc.com <"$S/msg"
	[ "${lines[0]}" = $'1\t0\t' ]
	[ "${lines[1]}" = $'2\t100\tgone' ]
	[ "${#lines[@]}" = 2 ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 2 ]
	grep -qx 'Delivered-To: abc-mary@abc.com' "$H"/Maildir/new/*
}

@test "-m: addresses of two users, or one not local, are refused whole: nothing is delivered" {
	mkdir -m 0755 "$S/home/xyz"
	chown "$SANDBOX_UID:$SANDBOX_GID" "$S/home/xyz"
	printf 'xyz.com:xyz\n' | sandbox_append "$I/control/virtualdomains"
	printf '%s\n' "=abc:abc:$SANDBOX_UID:$SANDBOX_GID:$H:::" \
	    "+abc-:abc:$SANDBOX_UID:$SANDBOX_GID:$H:-::" \
	    "+xyz-:xyz:$SANDBOX_UID:$SANDBOX_GID:$S/home/xyz:-::" . |
	    sandbox_write "$I/users/assign"
	run -111 --separate-stderr as_sandbox local-spawn -m \
	    0 s@x.org john@abc.com 0 s@x.org ann@xyz.com <"$S/msg"
	[ "$stderr" = "local-spawn: fatal: ann@xyz.com is not abc's address now; will try again (#4.3.0)" ]
	run -111 --separate-stderr as_sandbox local-spawn -m \
	    0 s@x.org john@abc.com 0 s@x.org bob@elsewhere.example <"$S/msg"
	[ -z "$(ls -A "$H/Maildir/new")" ]
}

@test "-m: two messages on two descriptors, each with its own sender" {
	printf 'Subject: second\n\nother body\n' >"$S/msg2"
	chmod 0644 "$S/msg2"
	run -0 --separate-stderr as_sandbox sh -c 'exec 3<"$1" &&
	    exec local-spawn -m 0 a@example.org john@abc.com 3 b@example.org mary@abc.com' \
	    sh "$S/msg2" <"$S/msg"
	[ "$output" = $'1\t0\t' ]
	grep -lx 'Return-Path: <a@example.org>' "$H"/Maildir/new/* | xargs grep -qx 'Subject: spawned'
	grep -lx 'Return-Path: <b@example.org>' "$H"/Maildir/new/* | xargs grep -qx 'Subject: second'
}

@test "-m: a descriptor that is not open, or 1 or 2, is refused before any lookup" {
	run -111 --separate-stderr as_sandbox local-spawn -m 7 s@x.org john@abc.com <"$S/msg"
	[ "$stderr" = 'local-spawn: fatal: descriptor 7 is not open' ]
	run -100 --separate-stderr as_sandbox local-spawn -m 2 s@x.org john@abc.com <"$S/msg"
	[ "$stderr" = 'local-spawn: fatal: malformed descriptor' ]
	[ -z "$(ls -A "$H/Maildir/new")" ]
}
