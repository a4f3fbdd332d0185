# t/helpers/remote.bash -- remote delivery helpers, loaded after
# helpers/common by t/smtp-send.bats and t/e2e-remote.bats:
#
#	load helpers/common
#	load helpers/remote
#
# Test SMTP servers (t/helpers/smtpd.py) and a DNS server (dnsmasq) on
# loopback addresses, started in the background and stopped by
# remote_teardown, whatever the test did.

SMTPD=$TOP/t/helpers/smtpd.py

# Sanitizer builds are several times slower: time limits are stretched.
if [ -n "${VDMAIL_ASAN:-}" ]; then
	REMOTE_SLOW=4
else
	REMOTE_SLOW=1
fi

# pids of the servers started here
REMOTE_PIDS=()

# smtpd_start DIR ADDR PORT [OPTION...]: a test SMTP server on ADDR:PORT
# recording into DIR (options: see smtpd.py); waits until it listens.
# Its pid is in SMTPD_PID.
smtpd_start() {
	local dir=$1 addr=$2 port=$3 i

	shift 3
	rm -f "$dir/ready"
	python3 "$SMTPD" --dir "$dir" --addr "$addr" --port "$port" "$@" \
	    </dev/null >>"${dir%/}.out" 2>&1 3>&- &
	SMTPD_PID=$!
	REMOTE_PIDS+=("$SMTPD_PID")
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/ready" ] && return 0
		if ! kill -0 "$SMTPD_PID" 2>/dev/null; then
			echo "smtpd.py on $addr:$port died:" >&2
			cat "${dir%/}.out" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "smtpd.py on $addr:$port did not start" >&2
	return 1
}

# remote_kill PID: stop one server started here, and wait for it.
remote_kill() {
	kill "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

# free_udp_port: a UDP port on 127.0.0.1 that nothing uses right now.
free_udp_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# dns_ask PORT NAME TYPE: ask the DNS server on 127.0.0.1:PORT; prints the
# answer's rcode (0 NOERROR, 3 NXDOMAIN) and count, "RCODE ANCOUNT".
dns_ask() {
	python3 - "$@" <<'EOF'
import socket, struct, sys
port, name, qtype = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
q = struct.pack(">HHHHHH", 0x5d5d, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split("."))
q += b"\0" + struct.pack(">HH", qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.sendto(q, ("127.0.0.1", port))
a = s.recv(4096)
flags, qd, an = struct.unpack(">HHH", a[2:8])
print(flags & 15, an)
EOF
}

# dns_start: dnsmasq on 127.0.0.1:$DNSPORT, answering only from its own
# records, authoritative for .test (any other name under test. is
# NXDOMAIN):
#   mx.test      MX 10 mx1.mx.test, MX 20 mx2.mx.test
#   mx1.mx.test  A 127.0.0.2
#   mx2.mx.test  A 127.0.0.3
#   plain.test   A 127.0.0.4 (no MX)
#   dead.test    MX 10 mx1.dead.test, MX 20 mx2.dead.test
#   mx1.dead.test A 127.0.0.5   (where nothing listens)
#   mx2.dead.test A 127.0.0.3
# More --mx-host and --host-record options may be given as arguments.
# Run as root, dnsmasq changes to nobody itself.
dns_start_once() {
	local i

	DNSPORT=$(free_udp_port) || return 1
	dnsmasq -k --conf-file=/dev/null --pid-file= --log-facility=- \
	    -p "$DNSPORT" --listen-address=127.0.0.1 --bind-interfaces \
	    --no-resolv --no-hosts --local=/test/ \
	    --mx-host=mx.test,mx1.mx.test,10 \
	    --mx-host=mx.test,mx2.mx.test,20 \
	    --host-record=mx1.mx.test,127.0.0.2 \
	    --host-record=mx2.mx.test,127.0.0.3 \
	    --host-record=plain.test,127.0.0.4 \
	    --mx-host=dead.test,mx1.dead.test,10 \
	    --mx-host=dead.test,mx2.dead.test,20 \
	    --host-record=mx1.dead.test,127.0.0.5 \
	    --host-record=mx2.dead.test,127.0.0.3 \
	    "$@" </dev/null >>"$BATS_TEST_TMPDIR/dnsmasq.out" 2>&1 3>&- &
	DNS_PID=$!
	REMOTE_PIDS+=("$DNS_PID")
	for ((i = 0; i < 50; i++)); do
		if [ "$(dns_ask "$DNSPORT" mx.test 15 2>/dev/null)" = '0 2' ]; then
			return 0
		fi
		if ! kill -0 "$DNS_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "dnsmasq did not start on port $DNSPORT:" >&2
	cat "$BATS_TEST_TMPDIR/dnsmasq.out" >&2
	return 1
}

# dns_start ARG...: dns_start_once, again on another port when the one
# picked was taken meanwhile (UDP and TCP both: parallel test files).
dns_start() {
	local try

	for try in 1 2 3 4 5; do
		: >"$BATS_TEST_TMPDIR/dnsmasq.out"
		if dns_start_once "$@" 2>"$BATS_TEST_TMPDIR/dnsmasq.err"; then
			return 0
		fi
		grep -q 'Address already in use' "$BATS_TEST_TMPDIR/dnsmasq.out" ||
		    break
	done
	cat "$BATS_TEST_TMPDIR/dnsmasq.err" >&2
	return 1
}

# remote_teardown: stop every server started here.
remote_teardown() {
	local p

	for p in "${REMOTE_PIDS[@]}"; do
		remote_kill "$p"
	done
	REMOTE_PIDS=()
	return 0
}

# msg_count DIR: how many transactions a test server took.
msg_count() {
	find "$1" -maxdepth 1 -name 'msg.*' -type d | wc -l
}

# has_msgs DIR N: the server took N transactions or more.
has_msgs() {
	[ "$(msg_count "$1")" -ge "$2" ]
}

# conn_count DIR: how many connections the server accepted.
conn_count() {
	cat "$1/connections"
}

# crlf_only FILE: every line of FILE ends in CRLF (and the last one too).
crlf_only() {
	python3 - "$1" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
lines = data.split(b"\n")
bad = [i for i, l in enumerate(lines[:-1]) if not l.endswith(b"\r")]
if lines[-1] != b"" or bad:
    sys.exit("%s: lines %r lack CRLF" % (sys.argv[1], bad or ["last"]))
EOF
}
