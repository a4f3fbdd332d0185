# t/helpers/tables.bash -- helpers for the tests of the local injectors,
# qmail_db_lookup and sendmail (t/qmail_db_lookup.bats, t/sendmail.bats,
# t/e2e-tables.bats).  Load after helpers/common:
#
#	load helpers/common
#	load helpers/tables
#
# The instance lives in a scratch directory ($S, from scratch_dir) that the
# sandbox user owns; the programs that write into it run as that user.
# Call tables_cleanup from teardown.

# Sanitizer builds are several times slower: time limits are stretched.
# shellcheck disable=SC2034 # used by the files that load this one
if [ -n "${VDMAIL_ASAN:-}" ]; then
	TABLES_SLOW=10
else
	TABLES_SLOW=1
fi

# article_table: the sample qmail_db of "Virtual Domains and qmail" (Linux
# Journal), byte for byte, on stdout.
article_table() {
	printf '%s\n' \
	    '-:  postmaster@somewhere.com' \
	    'john.smith:   john.smith@alo.com' \
	    'carl.jones:   cjones@test.net' \
	    'karen.quincy: kquincy' \
	    'all:  john.smith@alo.com cjones@test.net kquincy'
}

# table_put FILE: stdin into FILE (mode 0644), written by the sandbox user
# in place (the same inode), as an editor that rewrites a file would.
table_put() {
	as_sandbox sh -c 'umask 022 && cat >"$1"' table_put "$1"
}

# table_instance [VDMAIL-INIT OPTION...]: scratch directory $S, an instance
# $I in it made by make_instance (control/me mx.example.net), its queue $Q;
# VDMAIL_ROOT exported.
table_instance() {
	scratch_dir || return 1
	I=$S/inst
	Q=$I/queue
	make_instance "$@" >/dev/null || return 1
	export VDMAIL_ROOT=$I
}

tables_cleanup() {
	scratch_cleanup
}

# in_sandbox COMMAND...: COMMAND as the sandbox user, working in $S (the
# sandbox user cannot enter BATS's own temporary directory).
in_sandbox() {
	(cd "$S" && as_sandbox "$@")
}

# queued: the files in $Q/new, one path a line, oldest name first.
queued() {
	find "$Q/new" -type f | sort
}

# nothing_queued: $Q/new and $Q/tmp are empty; names what is there when
# not.
nothing_queued() {
	local left

	left=$(find "$Q/new" "$Q/tmp" -type f)
	[ -z "$left" ] && return 0
	echo "in the queue:" >&2
	sed 's/^/  /' <<<"$left" >&2
	return 1
}

# unpack QFILE OUT: a queue file (vdmail-queue(5)), cut by the sizes in its
# header, read here rather than with the library: OUT.sender holds the
# envelope sender (one line), OUT.rcpts the recipients (one a line, in
# order), OUT.msg the message as queued.
unpack() {
	python3 - "$1" "$2" <<'EOF'
import sys
path, out = sys.argv[1:3]
raw = open(path, 'rb').read()
end = raw.index(b'\n\n') + 2
lines = raw[:end].decode().splitlines()
if lines[0] != 'vdmail-queue 1':
    sys.exit('%s: not a queue file' % path)
head = dict(l.split(' ', 1) for l in lines[1:] if l)
n_env, n_msg = int(head['envelope']), int(head['message'])
if end + n_env + n_msg != len(raw):
    sys.exit('%s: the sizes do not add up' % path)
env = raw[end:end + n_env]
items = env.split(b'\0')
if not items[0].startswith(b'F') or items[-2:] != [b'', b'']:
    sys.exit('%s: a malformed envelope %r' % (path, env))
rcpts = items[1:-2]
if not all(r.startswith(b'T') for r in rcpts):
    sys.exit('%s: a malformed envelope %r' % (path, env))
with open(out + '.sender', 'wb') as f:
    f.write(items[0][1:] + b'\n')
with open(out + '.rcpts', 'wb') as f:
    f.write(b''.join(r[1:] + b'\n' for r in rcpts))
with open(out + '.msg', 'wb') as f:
    f.write(raw[end + n_env:])
EOF
}

# one_queued [OUT]: exactly one message in $Q/new and nothing in $Q/tmp;
# unpacked (unpack) into $T/OUT.* (default $T/got.*), and removed from the
# queue, so that the next call sees only the next message.
one_queued() {
	local out=$T/${1:-got} f

	mapfile -t f < <(queued)
	if [ "${#f[@]}" != 1 ]; then
		echo "$Q/new holds ${#f[@]} messages, not one:" >&2
		printf '  %s\n' "${f[@]}" >&2
		return 1
	fi
	[ -z "$(find "$Q/tmp" -type f)" ] || {
		echo "left in $Q/tmp: $(ls -A "$Q/tmp")" >&2
		return 1
	}
	unpack "${f[0]}" "$out" && rm -f "${f[0]}"
}

# rcpts_are ADDR...: $T/got.rcpts holds exactly these recipients, in this
# order.
rcpts_are() {
	local want

	want=$(printf '%s\n' "$@")
	[ "$(cat "$T/got.rcpts")" = "$want" ] && return 0
	echo "recipients: $(tr '\n' ' ' <"$T/got.rcpts"), not: $*" >&2
	return 1
}

# msg_header NAME [FILE]: the values of the header fields NAME in FILE
# (default $T/got.msg), one a line, continuation lines unfolded.
msg_header() {
	python3 - "$1" "${2:-$T/got.msg}" <<'EOF'
import email, sys
from email import policy
name, path = sys.argv[1:3]
with open(path, 'rb') as f:
    m = email.message_from_binary_file(f, policy=policy.compat32)
for v in m.get_all(name) or []:
    print(' '.join(v.split()))
EOF
}

# recorder DIR: DIR/qq, a program for QMAILQUEUE that keeps what it is
# given, the message in DIR/qq.msg and the envelope (its fd 1) in
# DIR/qq.env, and exits 0 (or $2 when given, after reading).
recorder() {
	printf '%s\n' '#!/bin/sh' \
	    "cat >\"$1/qq.msg\" || exit 54" \
	    "cat <&1 >\"$1/qq.env\" || exit 54" \
	    "exit ${2:-0}" | table_put "$1/qq"
	as_sandbox chmod 0755 "$1/qq"
}

# ms_between T0 T1: the milliseconds from T0 to T1, two values of
# $EPOCHREALTIME.
ms_between() {
	local a=${1/./} b=${2/./}

	echo $(((10#$b - 10#$a) / 1000))
}
