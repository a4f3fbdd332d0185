# t/e2e-smtp.bats -- the SMTP side under the real thing: an instance made
# by vdmail-init, run by svscan/supervise as the sandbox uid, tcpserver on
# a free port of 127.0.0.1 with the tcprules of control/tcp.smtp,
# smtp-accept, queue-inject and multilog; clients are Python's smtplib,
# swaks and raw sockets.  Only the smtp service runs (the others that
# vdmail-init makes are removed): without queue-run every message stays in
# queue/new, where the tests look at it; delivery is t/e2e-delivery.bats's.
load helpers/common
load helpers/smtp

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	SVSCAN_PID=
	scratch_dir
	PORT=$(free_port)
}

teardown() {
	stop_services
	if ! wait_gone; then
		# stragglers of this test only: ours by their cwd or command line
		local p
		for p in $(scratch_pids); do
			kill -9 "$p" 2>/dev/null || :
		done
	fi
	scratch_cleanup
}

# The processes left in $S: a cwd under it (supervise, tcpserver,
# smtp-accept, multilog) or $S on the command line (svscan).  Zombies do
# not count: they run nothing, and reaping the orphans among them is up
# to pid 1, on its own time.  (One python3 rather than a few programs per
# process: it is polled.)
scratch_pids() {
	python3 - "$S" <<'EOF'
import os, sys
s = sys.argv[1]
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) in (os.getpid(), os.getppid()):
        continue
    try:
        with open("/proc/%s/stat" % p) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        with open("/proc/%s/cmdline" % p, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        cwd = os.readlink("/proc/%s/cwd" % p)
    except OSError:
        continue
    if (cwd + "/").startswith(s + "/") or s in cmd:
        print(p)
EOF
}

# Wait up to 10 s until no process of $S is left.
wait_gone() {
	local i
	for i in $(seq 100); do
		if [ -z "$(scratch_pids)" ] && ! pgrep -f -- "$S" >/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "processes left in $S:" >&2
	ps -o pid,user,cwd,args -p "$(scratch_pids | paste -sd,)" >&2 || :
	return 1
}

# sb_write FILE -- stdin into FILE, written as the sandbox user.
sb_write() {
	# shellcheck disable=SC2016 # $1 is the inner shell's
	as_sandbox sh -c 'cat >"$1"' sb_write "$1"
}

# start [vdmail-init options] -- make the instance with --smtp-port $PORT,
# run svscan on it in the background as the sandbox user, and wait for
# tcpserver.  Sets I (the instance) and Q (its queue).  Only the smtp
# service is kept.  svscan is started as one simple command (setpriv execs
# it) so that $! is svscan's own pid, which stop_services kills: a
# function like as_sandbox in the background would be a subshell.
start() {
	local d
	make_instance --smtp-port "$PORT" "$@" >/dev/null
	I=$S/inst
	Q=$I/queue
	for d in "$I"/service/*/; do
		[ "$d" = "$I/service/smtp/" ] || rm -r "$d"
	done
	# john@abc.com is deliverable: a .qmail file for abc-john
	echo ./Maildir/ | sb_write "$I/alias/.qmail-abc-john"
	if [ "$(id -u)" = 0 ]; then
		set -- setpriv --reuid="$SANDBOX_UID" --regid="$SANDBOX_GID" \
		    --clear-groups --
	else
		set --
	fi
	"$@" svscan "$I/service" </dev/null >"$T/svscan.out" 2>&1 3>&- &
	# shellcheck disable=SC2034 # stop_services (common.bash) reads it
	SVSCAN_PID=$!
	wait_port "$PORT"
}

add_abc() {
	echo abc.com:abc >>"$I/control/virtualdomains"
}

# smtplib_send ADDR [BODY [SOURCE-IP]] -- one message through smtplib's
# low-level calls; prints the replies to RCPT and DATA.
smtplib_send() {
	python3 - "$PORT" "$1" "${2:-hello}" "${3:-127.0.0.1}" <<'EOF'
import smtplib, sys
port, rcpt, body, src = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example",
                  source_address=(src, 0), timeout=20) as s:
    s.ehlo()
    code, text = s.mail("sender@client.example")
    print(code, text.decode())
    code, text = s.rcpt(rcpt)
    print(code, text.decode())
    if code == 250:
        code, text = s.data("Subject: e2e\r\n\r\n%s\r\n" % body)
        print(code, text.decode())
EOF
}

# The current log of the smtp service, without multilog's timestamps.
smtp_log() {
	sed 's/^@[0-9a-f]* //' "$I/service/smtp/log/main/current"
}

# wait_for SECONDS COMMAND... -- until COMMAND succeeds.
wait_for() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

@test "smtplib send_message: one message in queue/new with the body and one Received: [127.0.0.1]" {
	start
	# before abc.com is a virtual domain: refused
	run -0 smtplib_send john@abc.com
	[ "${lines[1]}" = "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts" ]
	# a control change takes effect on the next connection, no restart
	add_abc
	run -0 python3 - "$PORT" <<'EOF'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "sender@client.example"
m["To"] = "john@abc.com"
m["Subject"] = "through smtplib"
m.set_content("The body that smtplib sent.\n.leading dot\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example",
                  timeout=20) as s:
    refused = s.send_message(m)
    assert refused == {}, refused
EOF
	[ "$(nqueued "$Q")" = 1 ]
	f=$(queued "$Q")
	check_queue_files "$Q"
	[ "$(qpart "$f" env)" = "$(printf 'Fsender@client.example\nTjohn@abc.com')" ]
	qpart "$f" message >"$T/msg"
	[ "$(head -n 1 "$T/msg")" = 'Received: from client.example ([127.0.0.1])' ]
	[ "$(grep -c '^Received:' "$T/msg")" = 1 ]
	[ "$(grep -c '\[127\.0\.0\.1\]' "$T/msg")" = 1 ]
	grep -qx 'Subject: through smtplib' "$T/msg"
	grep -qx 'The body that smtplib sent.' "$T/msg"
	grep -qx '.leading dot' "$T/msg"
	[ "$(grep -c $'\r' "$T/msg")" = 0 ]
	no_sanitizer_report "$I/service/smtp/log/main/current"
}

@test "swaks: exit 0, and the id in its 250 is the queue file's name" {
	start
	add_abc
	run -0 swaks --server "127.0.0.1:$PORT" --helo swaks.example \
	    --from sender@client.example --to john@abc.com \
	    --header 'Subject: from swaks' --body 'swaks body line'
	local line id
	line=$(printf '%s\n' "$output" | grep -E '^<-  250 2\.0\.0 ok ')
	id=${line##* }
	[ "$(queued "$Q")" = "$Q/new/$id" ]
	[ "$(qpart "$Q/new/$id" id)" = "$id" ]
	check_queue_files "$Q"
	qpart "$Q/new/$id" message >"$T/msg"
	[ "$(head -n 1 "$T/msg")" = 'Received: from swaks.example ([127.0.0.1])' ]
	grep -qx 'swaks body line' "$T/msg"
	# the log names the message and tcpserver's connection
	wait_for 5 grep -q "smtp-accept: info: msg=$id " "$I/service/smtp/log/main/current"
	smtp_log >"$T/log"
	grep -q "^smtp-accept: info: msg=$id ip=127.0.0.1 from=<sender@client.example> rcpts=1 " "$T/log"
	grep -q '^tcpserver: status: ' "$T/log"
	grep -qE '^tcpserver: pid [0-9]+ from 127\.0\.0\.1$' "$T/log"
	grep -qE '^tcpserver: end [0-9]+ status 0$' "$T/log"
	no_sanitizer_report "$I/service/smtp/log/main/current"
}

@test "pipelining: swaks --pipeline, and a raw socket writing a whole transaction" {
	start
	add_abc
	run -0 swaks --pipeline --server "127.0.0.1:$PORT" --helo swaks.example \
	    --from sender@client.example --to john@abc.com --body 'pipelined'
	printf '%s\n' "$output" | grep -q '^<-  250-PIPELINING'
	printf '%s\n' "$output" | grep -qE '^<-  250 2\.0\.0 ok '
	[ "$(nqueued "$Q")" = 1 ]

	# one write: two transactions and QUIT; every reply, in order
	run -0 python3 - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 20)
s.sendall(b"EHLO raw.example\r\nMAIL FROM:<a@client.example>\r\n"
          b"RCPT TO:<john@abc.com>\r\nRCPT TO:<x@foreign.example>\r\nDATA\r\n"
          b"Subject: raw 1\r\n\r\none\r\n.\r\n"
          b"MAIL FROM:<b@client.example>\r\nRCPT TO:<john@abc.com>\r\nDATA\r\n"
          b"Subject: raw 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
assert data.endswith(b"\r\n"), data
for line in data.decode().split("\r\n")[:-1]:
    print(line)
EOF
	[ "${lines[0]}" = '220 mx.example.net ESMTP' ]
	[ "${lines[1]}" = '250-mx.example.net' ]
	[ "${lines[5]}" = '250 ENHANCEDSTATUSCODES' ]
	[ "${lines[6]}" = '250 2.1.0 ok' ]
	[ "${lines[7]}" = '250 2.1.5 ok' ]
	[ "${lines[8]}" = "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts" ]
	[ "${lines[9]}" = '354 go ahead, end with <CRLF>.<CRLF>' ]
	[[ ${lines[10]} =~ ^250\ 2\.0\.0\ ok\ [0-9]+\.[a-z0-9]{16}$ ]]
	[ "${lines[11]}" = '250 2.1.0 ok' ]
	[ "${lines[12]}" = '250 2.1.5 ok' ]
	[ "${lines[13]}" = '354 go ahead, end with <CRLF>.<CRLF>' ]
	[[ ${lines[14]} =~ ^250\ 2\.0\.0\ ok\ [0-9]+\.[a-z0-9]{16}$ ]]
	[ "${lines[15]}" = '221 2.0.0 mx.example.net closing connection' ]
	[ "${#lines[@]}" = 16 ]
	[ "$(nqueued "$Q")" = 3 ]
	[ "$(qpart "$Q/new/${lines[10]##* }" rcpts)" = john@abc.com ]
	[ "$(qpart "$Q/new/${lines[14]##* }" message | after_received)" = "$(printf 'Subject: raw 2\n\ntwo')" ]
	check_queue_files "$Q"
	no_sanitizer_report "$I/service/smtp/log/main/current"
}

@test "a pipelined group is answered without waiting for more input" {
	start
	add_abc
	run -0 python3 - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
f = s.makefile("rb")
def replies(n):
    return [f.readline().decode().rstrip("\r\n") for _ in range(n)]
print(*replies(1), sep="\n")
s.sendall(b"HELO raw.example\r\nMAIL FROM:<a@client.example>\r\n"
          b"RCPT TO:<john@abc.com>\r\nDATA\r\n")
print(*replies(4), sep="\n")        # a timeout here: the group was not flushed
s.sendall(b"Subject: g\r\n\r\nbody\r\n.\r\n")
print(*replies(1), sep="\n")
s.sendall(b"QUIT\r\n")
print(*replies(1), sep="\n")
EOF
	[ "${lines[4]}" = '354 go ahead, end with <CRLF>.<CRLF>' ]
	[[ ${lines[5]} =~ ^250\ 2\.0\.0\ ok\  ]]
	[ "${lines[6]}" = '221 2.0.0 mx.example.net closing connection' ]
	[ "$(nqueued "$Q")" = 1 ]
	no_sanitizer_report "$I/service/smtp/log/main/current"
}

@test "relaying: refused from 127.0.0.1, allowed for 127.0.0.2 (tcprules RELAYCLIENT)" {
	start --relay 127.0.0.2
	run -0 smtplib_send x@foreign.example 'relay me'
	[ "${lines[0]}" = '250 2.1.0 ok' ]
	[ "${lines[1]}" = "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts" ]
	[ "${#lines[@]}" = 2 ]
	run -0 smtplib_send 'user%foreign.example@mx.example.net'
	[ "${lines[1]}" = '550 5.7.1 sorry, no relaying through this server' ]
	[ "$(nqueued "$Q")" = 0 ]

	run -0 smtplib_send x@foreign.example 'relayed body' 127.0.0.2
	[ "${lines[1]}" = '250 2.1.5 ok' ]
	[[ ${lines[2]} =~ ^250\ 2\.0\.0\ ok\ ([^ ]+)$ ]]
	local id=${BASH_REMATCH[1]}
	[ "$(queued "$Q")" = "$Q/new/$id" ]
	[ "$(qpart "$Q/new/$id" rcpts)" = x@foreign.example ]
	[ "$(qpart "$Q/new/$id" message | head -n 1)" = 'Received: from client.example ([127.0.0.2])' ]
	qpart "$Q/new/$id" message | grep -qx 'relayed body'
	check_queue_files "$Q"
	wait_for 5 grep -q "msg=$id ip=127.0.0.2 " "$I/service/smtp/log/main/current"
	no_sanitizer_report "$I/service/smtp/log/main/current"
}

@test "10 concurrent clients, 5 messages each: 50 whole files in queue/new" {
	start
	add_abc
	run -0 python3 - "$PORT" <<'EOF'
import smtplib, sys, threading
port = int(sys.argv[1])
errors = []
def client(i):
    try:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="c%d.example" % i,
                          timeout=60) as s:
            for j in range(5):
                body = "client %d message %d\r\n" % (i, j) + "x" * 5000 * (j + 1)
                refused = s.sendmail("c%d@client.example" % i, ["john@abc.com"],
                                     "Subject: c%d m%d\r\n\r\n%s\r\n" % (i, j, body))
                assert refused == {}, refused
    except Exception as e:
        errors.append("client %d: %r" % (i, e))
threads = [threading.Thread(target=client, args=(i,)) for i in range(10)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF
	[ "$(nqueued "$Q")" = 50 ]
	[ -z "$(ls -A "$Q/tmp")" ]
	check_queue_files "$Q"
	local f
	for f in $(queued "$Q"); do
		qpart "$f" message | sed -n 's/^client \([0-9]*\) message \([0-9]*\)$/\1.\2/p'
	done | sort >"$T/got"
	for i in $(seq 0 9); do for j in $(seq 0 4); do echo "$i.$j"; done; done | sort >"$T/want"
	cmp "$T/got" "$T/want"
	no_sanitizer_report "$I/service/smtp/log/main/current"
}

@test "after stop_services nothing of the instance is left running" {
	start
	run -0 smtplib_send postmaster@mx.example.net
	[ "${lines[1]}" = '250 2.1.5 ok' ]
	[ -n "$(pgrep -f -- "$S")" ]
	[ -n "$(scratch_pids)" ]
	no_sanitizer_report "$I/service/smtp/log/main/current"
	stop_services
	wait_gone
	[ -z "$(pgrep -f -- "$S")" ]
	run ! python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' "$PORT"
}
