# t/helpers/smtp.bash -- SMTP test helpers, loaded after helpers/common by
# t/smtp-accept.bats and t/e2e-smtp.bats:  load helpers/smtp

# A queue under $1 (the queue directory itself): test-queue when it is
# built, else by hand in the layout of src/lib/queue.h.
make_queue() {
	if [ -x "$VDMAIL_TESTBIN/test-queue" ]; then
		"$VDMAIL_TESTBIN/test-queue" make "$1"
		return
	fi
	mkdir -p "$1"/tmp "$1"/new "$1"/mess "$1"/state "$1"/lock &&
	    echo 'vdmail-queue 1' >"$1/VERSION"
}

# A bare instance in $R (default $T/root) for smtp-accept over pipes:
# me mx.example.net, locals mx.example.net and example.net, virtualdomains
# abc.com:abc, an empty users/assign, and an alias user whose .qmail-default
# takes every local address.  Its root belongs to the sandbox uid when we
# are root, so that it is in sandbox mode (SPEC 3): a root-owned instance
# is an installed one, which wants a system user "alias".
make_root() {
	R=${1:-$T/root}
	mkdir -p "$R/control" "$R/users" "$R/alias"
	echo mx.example.net >"$R/control/me"
	printf 'mx.example.net\nexample.net\n' >"$R/control/locals"
	echo abc.com:abc >"$R/control/virtualdomains"
	echo . >"$R/users/assign"
	: >"$R/alias/.qmail-default"
	make_queue "$R/queue"
	if [ "$(id -u)" = 0 ]; then
		chown "$SANDBOX_UID:$SANDBOX_GID" "$R"
	fi
	export VDMAIL_ROOT=$R
}

# Write an SMTP session to $T/in: each argument a line, CRLF added.
session() {
	printf '%s\r\n' "$@" >"$T/in"
}

# Fail when $1 (a stderr file) holds a sanitizer report.
no_sanitizer_report() {
	if grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' \
	    -e 'ERROR: LeakSanitizer' "$1"; then
		echo "sanitizer report in $1:" >&2
		cat "$1" >&2
		return 1
	fi
}

# smtp [VAR=value...] -- run smtp-accept with the given environment on
# $T/in.  Sets status, and reply (its lines, CR removed); stdout is kept in
# $T/out and stderr in $T/err.  Fails when a reply line lacks its CRLF or
# stderr holds a sanitizer report.
# shellcheck disable=SC2034 # status and reply are the caller's
smtp() {
	status=0
	env "$@" smtp-accept <"$T/in" >"$T/out" 2>"$T/err" || status=$?
	mapfile -t reply < <(tr -d '\r' <"$T/out")
	no_sanitizer_report "$T/err" || return 1
	if [ -s "$T/out" ] && { [ "$(tail -c 2 "$T/out" | od -An -c | tr -d ' ')" != '\r\n' ] ||
	    [ "$(grep -c $'\r$' "$T/out")" != "$(wc -l <"$T/out")" ]; }; then
		echo 'a reply line does not end in CRLF:' >&2
		od -c "$T/out" | head -40 >&2
		return 1
	fi
	return 0
}

# expect_reply LINE... -- the replies were exactly these lines.
expect_reply() {
	local want=("$@") i
	if [ "${#reply[@]}" != "${#want[@]}" ]; then
		echo "expected ${#want[@]} reply lines, got ${#reply[@]}:" >&2
		printf '  %s\n' "${reply[@]}" >&2
		return 1
	fi
	for i in "${!want[@]}"; do
		if [ "${reply[$i]}" != "${want[$i]}" ]; then
			echo "reply line $((i + 1)): expected '${want[$i]}'" >&2
			echo "                got      '${reply[$i]}'" >&2
			return 1
		fi
	done
}

# The files in queue/new (their full paths), and how many there are.
queued() {
	find "${1:-$R/queue}/new" -type f | sort
}
nqueued() {
	find "${1:-$R/queue}/new" -type f | wc -l
}

# qpart FILE PART -- one part of a queue file on stdout:
#   id       the header's id
#   sizes    the header's envelope and message sizes: "N M"
#   env      the envelope, one entry a line ("Fsender", "Trcpt", ...)
#   rcpts    the recipients, one a line
#   sender   the sender
#   message  the message's bytes
# Fails when the file is not whole (sizes that do not add up, an envelope
# that is not F...\0(T...\0)...\0).
qpart() {
	python3 - "$1" "$2" <<'EOF'
import sys
path, part = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
head, sep, rest = data.partition(b"\n\n")
lines = head.split(b"\n")
if not sep or lines[0] != b"vdmail-queue 1":
    sys.exit("%s: no queue header" % path)
fields = dict(l.split(b" ", 1) for l in lines[1:])
n, m = int(fields[b"envelope"]), int(fields[b"message"])
if len(rest) != n + m:
    sys.exit("%s: %d bytes after the header, header says %d + %d"
             % (path, len(rest), n, m))
env, msg = rest[:n], rest[n:]
entries = env.split(b"\0")
if (len(entries) < 4 or entries[-2:] != [b"", b""] or
        not entries[0].startswith(b"F") or
        not all(e.startswith(b"T") and len(e) > 1 for e in entries[1:-2])):
    sys.exit("%s: malformed envelope %r" % (path, env))
out = sys.stdout.buffer
if part == "id":
    out.write(fields[b"id"] + b"\n")
elif part == "sizes":
    out.write(b"%d %d\n" % (n, m))
elif part == "env":
    out.write(b"".join(e + b"\n" for e in entries[:-2]))
elif part == "rcpts":
    out.write(b"".join(e[1:] + b"\n" for e in entries[1:-2]))
elif part == "sender":
    out.write(entries[0][1:] + b"\n")
elif part == "message":
    out.write(msg)
else:
    sys.exit("qpart: unknown part " + part)
EOF
}

# A filter: the message on stdin less its first header field, which must
# be the Received: field that smtp-accept adds (it names the time).
after_received() {
	python3 -c '
import sys
lines = sys.stdin.buffer.read().split(b"\n")
if not lines[0].startswith(b"Received: "):
    sys.exit("the message does not begin with Received: %r" % lines[:2])
i = 1
while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
    i += 1
sys.stdout.buffer.write(b"\n".join(lines[i:]))
'
}

# Check every file of a queue's new/: test-queue check when it is built,
# and qpart's own checks in every case.
check_queue_files() {
	local f
	for f in $(queued "$1"); do
		if [ -x "$VDMAIL_TESTBIN/test-queue" ]; then
			"$VDMAIL_TESTBIN/test-queue" check "$f" || return 1
		fi
		qpart "$f" sizes >/dev/null || return 1
	done
}
