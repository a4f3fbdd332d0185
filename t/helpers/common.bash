# t/helpers/common.bash -- loaded by every test file with:  load helpers/common
#
# VDMAIL_BIN, VDMAIL_LIBEXEC and VDMAIL_TESTBIN point the suite at the build
# under test (make check sets them for the sanitizer build); by default the
# tree's own bin/, libexec/ and build/t/ are used.
bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
VDMAIL_BIN=${VDMAIL_BIN:-$TOP/bin}
VDMAIL_LIBEXEC=${VDMAIL_LIBEXEC:-$TOP/libexec}
VDMAIL_TESTBIN=${VDMAIL_TESTBIN:-$TOP/build/t}
export VDMAIL_BIN VDMAIL_LIBEXEC VDMAIL_TESTBIN
PATH="$VDMAIL_BIN:$VDMAIL_LIBEXEC:$VDMAIL_TESTBIN:$PATH:/usr/sbin:/sbin"
export LC_ALL=C
unset VDMAIL_ROOT QMAILQUEUE RELAYCLIENT VDMAIL_MSGID TCPREMOTEIP TCPREMOTEHOST TCPLOCALHOST

# The uid and gid that servers run as when the suite runs as root: a
# numeric id needs no account (setpriv), so nothing is left behind.
SANDBOX_UID=${SANDBOX_UID:-64011}
SANDBOX_GID=${SANDBOX_GID:-64011}

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

# A scratch directory that the sandbox user can reach and write (BATS's
# own temporary directory is 0700 root).  Removed by scratch_cleanup.
scratch_dir() {
	S=$(mktemp -d /tmp/vdmail-test.XXXXXX) || return 1
	chmod 0755 "$S"
	if [ "$(id -u)" = 0 ]; then
		chown "$SANDBOX_UID:$SANDBOX_GID" "$S"
	fi
	export S
}

scratch_cleanup() {
	[ -n "${S:-}" ] && [ -d "$S" ] && rm -rf "$S"
	return 0
}

# Run a command as the sandbox user when root, else as ourselves.
as_sandbox() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid="$SANDBOX_UID" --regid="$SANDBOX_GID" \
		    --clear-groups -- "$@"
	else
		"$@"
	fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Wait until something accepts connections on 127.0.0.1:$1 (up to 10 s).
wait_port() {
	local i
	for i in $(seq 100); do
		if python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on port $1" >&2
	return 1
}

# A fresh instance in $S/inst (made by vdmail-init as the sandbox user).
make_instance() {
	as_sandbox vdmail-init "$S/inst" --me mx.example.net --ip 127.0.0.1 "$@"
}

# Stop svscan on $S/inst/service and every supervise under it.
stop_services() {
	local d
	[ -n "${SVSCAN_PID:-}" ] && kill "$SVSCAN_PID" 2>/dev/null
	for d in "$S"/inst/service/*/ "$S"/inst/service/*/log/; do
		[ -d "$d/supervise" ] && svc -dx "$d" 2>/dev/null
	done
	[ -n "${SVSCAN_PID:-}" ] && { wait "$SVSCAN_PID" 2>/dev/null || :; }
	SVSCAN_PID=
	return 0
}

# Files in a queue's new/ (one per committed message).
queue_new_count() {
	find "$1/new" -type f | wc -l
}

# now_ms: the time, in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
