#!/usr/bin/env bats
# t/rcpt-check.bats -- rcpt-check: one address on stdin, exit 0 when
# delivery would take it (or it cannot tell), 1 when delivery would
# certainly bounce it, 111 on trouble.  Run here in a sandbox instance;
# t/e2e-installed.bats runs it setuid root for the SMTP user.

load helpers/common
load helpers/deliver

setup() {
	scratch_dir
	cd "$S" || return 1
	deliver_instance
	rm -f "$H/.qmail-default"
	dot_qmail john './Maildir/'
}

teardown() {
	deliver_cleanup
}

check() {
	printf '%s\n' "$1" | as_sandbox rcpt-check
}

@test "a user with a .qmail file: 0; one without, and no -default: 1" {
	run -0 check john@abc.com
	run -1 check nobody@abc.com
	dot_qmail default './Maildir/'
	run -0 check nobody@abc.com
}

@test "a remote domain, an address without extension, junk: 0 (not ours to judge)" {
	run -0 check someone@elsewhere.example
	run -0 check abc@mx.example.net
	run -0 check ''
	run -0 check 'no-at-sign'
}

@test "a table behind .qmail-default: names in it 0, others 1, with - all 0" {
	printf 'john.smith: js@example.org\n' | sandbox_write "$H/table"
	dot_qmail default "|qmail_db_lookup $H/table"
	run -0 check john.smith@abc.com
	run -1 check carl.jones@abc.com
	printf -- '-: postmaster@example.org\njohn.smith: js@example.org\n' |
	    sandbox_write "$H/table"
	run -0 check carl.jones@abc.com
}

@test "a malformed users/assign: 111" {
	printf 'garbage\n' | sandbox_write "$I/users/assign"
	run -111 --separate-stderr check john@abc.com
	[ "$stderr" = 'rcpt-check: fatal: users/assign:1: malformed line' ]
}

@test "usage: an argument is refused" {
	run -100 --separate-stderr rcpt-check x
	[ "$stderr" = 'rcpt-check: fatal: usage: rcpt-check <address' ]
}
