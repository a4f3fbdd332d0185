# t/smtp-accept.bats -- smtp-accept driven over pipes: the session on its
# stdin, the replies (CRLF) on its stdout, the queue in $T/root/queue.
load helpers/common
load helpers/smtp

G='220 mx.example.net ESMTP'
H='250 mx.example.net'
MOK='250 2.1.0 ok'
ROK='250 2.1.5 ok'
GO='354 go ahead, end with <CRLF>.<CRLF>'
OK='250 2.0.0 ok'
BYE='221 2.0.0 mx.example.net closing connection'
NORELAY='550 5.7.1 sorry, no relaying through this server'
NOTMINE="553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts"
IDRE='^250 2\.0\.0 ok ([0-9]+\.[a-km-np-z2-9]{16})$'

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	make_root "$T/root"
}

# The id in the 250 reply to DATA (reply line $1, from 0); fails unless the
# line is such a reply.
id_of() {
	[[ ${reply[$1]} =~ $IDRE ]] || {
		echo "reply line $(($1 + 1)) is not a 250 with an id: '${reply[$1]}'" >&2
		return 1
	}
	echo "${BASH_REMATCH[1]}"
}

# rcpt_session ADDR -- one recipient, then DATA; writes $T/in.
rcpt_session() {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' "RCPT TO:$1" \
	    DATA 'Subject: t' '' 'body' . QUIT
}

# --- greeting, EHLO, HELO and the simple verbs ---

@test "greeting names control/me, QUIT closes with 221, exit 0" {
	session QUIT NOOP
	smtp
	[ "$status" = 0 ]
	expect_reply "$G" "$BYE"
}

@test "control/smtpgreeting replaces the greeting text" {
	echo 'greet.example.net ready when you are' >"$R/control/smtpgreeting"
	session QUIT
	smtp
	expect_reply '220 greet.example.net ready when you are ESMTP' "$BYE"
}

@test "EHLO lists PIPELINING, 8BITMIME, SIZE databytes, ENHANCEDSTATUSCODES" {
	session 'EHLO client.test' QUIT
	smtp
	expect_reply "$G" '250-mx.example.net' 250-PIPELINING 250-8BITMIME \
	    '250-SIZE 20971520' '250 ENHANCEDSTATUSCODES' "$BYE"
	echo 1000 >"$R/control/databytes"
	smtp
	[ "${reply[4]}" = '250-SIZE 1000' ]
}

@test "HELO works; HELO or EHLO without a name gets 501" {
	session 'HELO client.test' HELO 'EHLO ' 'ehlo x' QUIT
	smtp
	expect_reply "$G" "$H" '501 5.5.4 HELO needs a host name' \
	    '501 5.5.4 EHLO needs a host name' '250-mx.example.net' \
	    250-PIPELINING 250-8BITMIME '250-SIZE 20971520' \
	    '250 ENHANCEDSTATUSCODES' "$BYE"
}

@test "order: MAIL before HELO 503, RCPT before MAIL 503, DATA 503 or 554" {
	session 'MAIL FROM:<a@b.example>' 'HELO client.test' \
	    'RCPT TO:<x@example.net>' DATA 'MAIL FROM:<a@b.example>' \
	    DATA 'MAIL FROM:<c@b.example>' QUIT
	smtp
	expect_reply "$G" '503 5.5.1 send HELO or EHLO first' "$H" \
	    '503 5.5.1 MAIL first' '503 5.5.1 MAIL first' "$MOK" \
	    '554 5.5.1 no valid recipients' \
	    '503 5.5.1 one MAIL per transaction (RSET first)' "$BYE"
	[ "$(nqueued)" = 0 ]
}

@test "RSET clears the transaction" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' RSET 'RCPT TO:<x@example.net>' DATA \
	    'MAIL FROM:<a@b.example>' QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" "$OK" '503 5.5.1 MAIL first' \
	    '503 5.5.1 MAIL first' "$MOK" "$BYE"
	[ "$(nqueued)" = 0 ]
}

@test "NOOP 250, VRFY 252, HELP 214, lower case verbs, nothing after QUIT" {
	session NOOP 'VRFY john@example.net' HELP 'noop' 'quit' NOOP
	smtp
	[ "$status" = 0 ]
	expect_reply "$G" "$OK" \
	    '252 2.5.2 send some mail and I will try my best' \
	    '214 2.0.0 see smtp-accept(8); commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT' \
	    "$OK" "$BYE"
}

@test "unknown commands get 500; the 11th error gets 421 and the end" {
	session BOGUS1 BOGUS2 BOGUS3 BOGUS4 BOGUS5 NOOP BOGUS6 BOGUS7 BOGUS8 \
	    BOGUS9 BOGUS10 BOGUS11 NOOP QUIT
	smtp
	[ "$status" = 0 ]
	local u='500 5.5.1 command not recognized'
	expect_reply "$G" "$u" "$u" "$u" "$u" "$u" "$OK" "$u" "$u" "$u" "$u" \
	    "$u" '421 4.7.0 mx.example.net too many errors, closing connection'
}

@test "a command line of 512 bytes (CRLF included) is taken; 513 gets 500 5.5.2" {
	local pad510 pad511
	pad510=$(printf 'NOOP %505s' x)
	pad511=$(printf 'NOOP %506s' x)
	[ "${#pad510}" = 510 ]
	[ "${#pad511}" = 511 ]
	session "$pad510" "$pad511" NOOP
	{
		printf '%sx\n' "$pad510"	# 512 with a bare LF: taken
		printf '%sxy\n' "$pad510"	# 513: refused
		printf 'QUIT\r\n'
	} >>"$T/in"
	smtp
	[ "$status" = 0 ]
	expect_reply "$G" "$OK" '500 5.5.2 line too long' "$OK" "$OK" \
	    '500 5.5.2 line too long' "$BYE"
}

@test "a much longer line is refused whole and the session goes on" {
	{ printf 'HELO '; head -c 100000 /dev/zero | tr '\0' a; printf '\r\nHELO client.test\r\nQUIT\r\n'; } >"$T/in"
	smtp
	expect_reply "$G" '500 5.5.2 line too long' "$H" "$BYE"
}

@test "NUL bytes in a command get 500 5.5.2 and the session goes on" {
	printf 'NOOP\0\r\nHELO cli\0ent\r\n\0\r\nHELO client.test\r\nQUIT\r\n' >"$T/in"
	smtp
	[ "$status" = 0 ]
	expect_reply "$G" '500 5.5.2 NUL in command' '500 5.5.2 NUL in command' \
	    '500 5.5.2 NUL in command' "$H" "$BYE"
}

@test "2 MB of random bytes: answered, no crash, no core" {
	head -c 2000000 /dev/urandom >"$T/in"
	smtp
	[ "$status" -lt 128 ]
	[ "${reply[0]}" = "$G" ]
	[ "${#reply[@]}" -ge 2 ]
	[ -z "$(find "$T" -maxdepth 1 -name 'core*')" ]
	[ "$(nqueued)" = 0 ]
}

@test "2 MB of random bytes after DATA: no crash, nothing queued" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA
	head -c 2000000 /dev/urandom >>"$T/in"
	smtp
	[ "$status" -lt 128 ]
	[ "$status" = 111 ]	# the client left inside DATA
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO"
	[ -z "$(find "$T" -maxdepth 1 -name 'core*')" ]
	[ "$(nqueued)" = 0 ]
	[ -z "$(ls -A "$R/queue/tmp")" ]
}

@test "random bytes in many command lines: each answered until the 421" {
	python3 -c '
import os, sys
out = sys.stdout.buffer
for i in range(2000):
    out.write(os.urandom(i % 700).replace(b"\n", b"") + b"\r\n")
' >"$T/in"
	smtp
	[ "$status" = 0 ]
	[ "${#reply[@]}" = 12 ]
	[ "${reply[11]}" = '421 4.7.0 mx.example.net too many errors, closing connection' ]
}

# --- recipients ---

@test "without rcpthosts: exactly the domains of locals and virtualdomains" {
	printf 'abc.com:abc\n:catchall\n.wild.example:w\n' >"$R/control/virtualdomains"
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' 'RCPT TO:<x@EXAMPLE.Net>' \
	    'RCPT TO:<john@abc.com>' 'RCPT TO:<x@sub.example.net>' \
	    'RCPT TO:<x@net>' 'RCPT TO:<x@example.net.evil>' \
	    'RCPT TO:<x@other.org>' 'RCPT TO:<x@sub.abc.com>' \
	    'RCPT TO:<x@a.wild.example>' 'RCPT TO:<x@wild.example>' \
	    'RCPT TO:<x@mx.example.net>' QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" "$ROK" "$ROK" "$NOTMINE" \
	    "$NOTMINE" "$NOTMINE" "$NOTMINE" "$NOTMINE" "$ROK" "$NOTMINE" \
	    "$ROK" "$BYE"
}

@test "without rcpthosts, locals or virtualdomains: nothing is accepted" {
	rm "$R/control/locals" "$R/control/virtualdomains"
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' 'RCPT TO:<x@mx.example.net>' QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$NOTMINE" "$NOTMINE" "$BYE"
}

@test "with rcpthosts: exact entries, and .example.com for its subdomains only" {
	printf '# comment\nexample.org\n.example.com\n  Spaced.Example  \n' \
	    >"$R/control/rcpthosts"
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.org>' 'RCPT TO:<x@sub.example.org>' \
	    'RCPT TO:<x@sub.example.com>' 'RCPT TO:<x@a.b.example.com>' \
	    'RCPT TO:<x@example.com>' 'RCPT TO:<x@badexample.com>' \
	    'RCPT TO:<x@spaced.example>' 'RCPT TO:<x@example.net>' \
	    'RCPT TO:<x@abc.com>' QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" "$NOTMINE" "$ROK" "$ROK" \
	    "$NOTMINE" "$NOTMINE" "$ROK" "$NOTMINE" "$NOTMINE" "$BYE"
}

@test "a foreign domain gets 553 5.7.1 and nothing is queued" {
	rcpt_session '<x@other.org>'
	smtp
	local u='500 5.5.1 command not recognized'
	expect_reply "$G" "$H" "$MOK" "$NOTMINE" '554 5.5.1 no valid recipients' \
	    "$u" "$u" "$u" "$u" "$BYE"
	[ "$(nqueued)" = 0 ]
}

@test "relay tricks in the local part or a source route get 550 5.7.1, nothing queued" {
	local a
	for a in '<user%other.org@example.net>' '<"user@other.org"@example.net>' \
	    '<user@other.org@example.net>' '<other.org!user@example.net>' \
	    '<@other.net:user@example.net>' '<@a.net,@b.net:user@example.net>' \
	    '<user%example.net@other.org>'; do
		session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
		    "RCPT TO:$a" DATA QUIT
		smtp
		expect_reply "$G" "$H" "$MOK" "$NORELAY" \
		    '554 5.5.1 no valid recipients' "$BYE"
	done
	[ "$(nqueued)" = 0 ]
}

@test "relay tricks beside a good recipient: only the good one is queued" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<user%other.org@example.net>' 'RCPT TO:<good@example.net>' \
	    'RCPT TO:<"u@other.org"@example.net>' 'RCPT TO:<o!u@example.net>' \
	    DATA 'Subject: t' '' body . QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$NORELAY" "$ROK" "$NORELAY" "$NORELAY" \
	    "$GO" "${reply[8]}" "$BYE"
	id_of 8
	[ "$(nqueued)" = 1 ]
	[ "$(qpart "$(queued)" rcpts)" = good@example.net ]
}

@test "a domain literal is refused unless rcpthosts lists it, brackets included" {
	rcpt_session '<user@[127.0.0.1]>'
	smtp
	[ "${reply[3]}" = "$NOTMINE" ]
	[ "$(nqueued)" = 0 ]

	echo 127.0.0.1 >"$R/control/rcpthosts"
	smtp
	[ "${reply[3]}" = "$NOTMINE" ]
	[ "$(nqueued)" = 0 ]

	echo '[127.0.0.1]' >"$R/control/rcpthosts"
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO" "${reply[5]}" "$BYE"
	id_of 5
	[ "$(nqueued)" = 1 ]
	[ "$(qpart "$(queued)" rcpts)" = 'user@[127.0.0.1]' ]
}

@test "RCPT TO:<postmaster> without a domain is queued as postmaster@me" {
	session 'HELO client.test' 'MAIL FROM:<>' 'RCPT TO:<postmaster>' \
	    'RCPT TO:<john>' DATA 'Subject: t' '' body . QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" '553 5.1.2 a recipient needs a domain' \
	    "$GO" "${reply[6]}" "$BYE"
	id_of 6
	[ "$(qpart "$(queued)" env)" = "$(printf 'F\nTpostmaster@mx.example.net')" ]
}

@test "RCPT TO:<postmaster> is taken even where rcpthosts does not list me" {
	echo example.org >"$R/control/rcpthosts"
	session 'HELO client.test' 'MAIL FROM:<>' 'RCPT TO:<PostMaster>' \
	    'RCPT TO:<postmaster@mx.example.net>' DATA 'Subject: t' '' body . QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" "$NOTMINE" "$GO" "${reply[6]}" "$BYE"
	id_of 6
	[ "$(qpart "$(queued)" rcpts)" = PostMaster@mx.example.net ]
}

@test "RELAYCLIENT: foreign domains and routing accepted, its value appended" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@other.org>' 'RCPT TO:<y@example.net>' \
	    'RCPT TO:<u%v@other.org>' 'RCPT TO:<john>' DATA \
	    'Subject: t' '' body . QUIT
	smtp RELAYCLIENT=
	expect_reply "$G" "$H" "$MOK" "$ROK" "$ROK" "$ROK" "$ROK" "$GO" \
	    "${reply[8]}" "$BYE"
	id_of 8
	[ "$(qpart "$(queued)" rcpts)" = "$(printf '%s\n' x@other.org \
	    y@example.net u%v@other.org john@mx.example.net)" ]
	rm "$R"/queue/new/*

	smtp RELAYCLIENT=.relayed
	id_of 8
	[ "$(qpart "$(queued)" rcpts)" = "$(printf '%s\n' x@other.org.relayed \
	    y@example.net.relayed u%v@other.org.relayed \
	    john@mx.example.net.relayed)" ]
}

@test "101 recipients: the 101st gets 452 and the message has 100" {
	local i lines=('HELO client.test' 'MAIL FROM:<a@b.example>') want=("$G" "$H" "$MOK")
	for i in $(seq 101); do
		lines+=("RCPT TO:<u$i@example.net>")
		want+=("$ROK")
	done
	want[103]='452 4.5.3 too many recipients'
	session "${lines[@]}" DATA 'Subject: t' '' body . QUIT
	smtp
	want+=("$GO" "${reply[105]}" "$BYE")
	expect_reply "${want[@]}"
	id_of 105
	[ "$(qpart "$(queued)" rcpts | wc -l)" = 100 ]
	[ "$(qpart "$(queued)" rcpts | tail -n 1)" = u100@example.net ]
}

@test "refused recipients: the 101st of a session gets 421 and the end, RSET or not" {
	local i lines=('HELO client.test' 'MAIL FROM:<a@b.example>') want=("$G" "$H" "$MOK")
	for i in $(seq 60); do
		lines+=("RCPT TO:<u$i@foreign.example>")
		want+=("$NOTMINE")
	done
	lines+=(RSET 'MAIL FROM:<a@b.example>')
	want+=('250 2.0.0 ok' "$MOK")
	for i in $(seq 41); do
		lines+=("RCPT TO:<v$i@foreign.example>")
		want+=("$NOTMINE")
	done
	want[$((${#want[@]} - 1))]='421 4.7.0 mx.example.net too many refused recipients, closing connection'
	session "${lines[@]}" QUIT
	smtp
	[ "$status" = 0 ]
	expect_reply "${want[@]}"
}

@test "refused recipients: the 452s past 100 recipients are not counted; the transaction goes through" {
	local i lines=('HELO client.test' 'MAIL FROM:<a@b.example>') want=("$G" "$H" "$MOK")
	for i in $(seq 220); do
		lines+=("RCPT TO:<u$i@example.net>")
		if [ "$i" -le 100 ]; then want+=("$ROK"); else want+=('452 4.5.3 too many recipients'); fi
	done
	session "${lines[@]}" DATA 'Subject: t' '' body . QUIT
	smtp
	want+=("$GO" "${reply[224]}" "$BYE")
	expect_reply "${want[@]}"
	id_of 224
}

@test "an address that delivery would certainly bounce gets 550 5.1.1" {
	rm "$R/alias/.qmail-default"
	touch "$R/alias/.qmail-postmaster" "$R/alias/.qmail-john" \
	    "$R/alias/.qmail-abc-default"
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<nobody@example.net>' 'RCPT TO:<john@example.net>' \
	    'RCPT TO:<John@Example.Net>' 'RCPT TO:<john-ext@example.net>' \
	    'RCPT TO:<anyone@abc.com>' 'RCPT TO:<postmaster>' \
	    'RCPT TO:<alias@example.net>' DATA 'Subject: t' '' body . QUIT
	smtp
	local nouser='550 5.1.1 sorry, no mailbox here by that name'
	expect_reply "$G" "$H" "$MOK" "$nouser" "$ROK" "$ROK" "$nouser" \
	    "$ROK" "$ROK" "$ROK" "$GO" "${reply[11]}" "$BYE"
	id_of 11
	[ "$(qpart "$(queued)" rcpts)" = "$(printf '%s\n' john@example.net \
	    John@Example.Net anyone@abc.com postmaster@mx.example.net \
	    alias@example.net)" ]
}

# assign_home DIR: users/assign routes abc.com to the user abc with home DIR.
assign_home() {
	printf '+abc-:abc:%s:%s:%s:-::\n.\n' "$(id -u)" "$(id -g)" "$1" >"$R/users/assign"
}

@test "routing files are read once for many RCPTs, and again as soon as they change" {
	strace -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	rm "$R/alias/.qmail-default"
	mkdir -m 755 "$T/habc" "$T/hxyz"
	touch "$T/habc/.qmail-john" "$T/hxyz/.qmail-mary"
	assign_home "$T/habc"
	touch -d '-10 seconds' "$R/users/assign" "$R/control/locals" \
	    "$R/control/virtualdomains"
	# One session: RCPTs, then users/assign rewritten in place (same
	# size, same inode), then the same RCPTs again.
	run -0 python3 - "$R/users/assign" "$T/hxyz" <<'PY'
import os, subprocess, sys
p = subprocess.Popen(["strace", "-qq", "-e", "trace=open,openat", "-o",
                      "trace", "smtp-accept"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE)
def say(line):
    p.stdin.write(line.encode() + b"\r\n"); p.stdin.flush()
    while True:
        r = p.stdout.readline().decode().rstrip("\r\n")
        if len(r) < 4 or r[3] != "-":
            return r
got = [p.stdout.readline().decode().rstrip("\r\n")]
for c in ["HELO client.test", "MAIL FROM:<a@b.example>",
          "RCPT TO:<john@abc.com>", "RCPT TO:<mary@abc.com>",
          "RCPT TO:<john@abc.com>"]:
    got.append(say(c))
n1 = sum('users/assign"' in l for l in open("trace"))
text = open(sys.argv[1]).read()
old = text.split(":")[4]
assert len(old) == len(sys.argv[2])
with open(sys.argv[1], "r+") as f:
    f.write(text.replace(old, sys.argv[2]))
for c in ["RCPT TO:<john@abc.com>", "RCPT TO:<mary@abc.com>"]:
    got.append(say(c))
# and once more at once, in the same second: still the file as it is now
with open(sys.argv[1], "r+") as f:
    f.write(text)
got.append(say("RCPT TO:<john@abc.com>"))
got.append(say("QUIT"))
p.wait()
print("\n".join(got))
print("opens before the edit:", n1)
PY
	[ "${lines[3]}" = '250 2.1.5 ok' ]
	[ "${lines[4]}" = '550 5.1.1 sorry, no mailbox here by that name' ]
	[ "${lines[5]}" = '250 2.1.5 ok' ]
	# after the edit: john has no mailbox, mary has
	[ "${lines[6]}" = '550 5.1.1 sorry, no mailbox here by that name' ]
	[ "${lines[7]}" = '250 2.1.5 ok' ]
	[ "${lines[8]}" = '250 2.1.5 ok' ]
	# three RCPTs, one read of users/assign
	[ "${lines[10]}" = 'opens before the edit: 1' ]
}

@test "users/assign unreadable: 451 at RCPT, nothing queued" {
	rm "$R/users/assign"
	mkdir "$R/users/assign"
	rcpt_session '<x@example.net>'
	smtp
	[ "${reply[3]}" = '451 4.3.0 unable to look the recipient up; try again later' ]
	[ "${reply[4]}" = '554 5.5.1 no valid recipients' ]
	[ "$(nqueued)" = 0 ]
}

# --- sizes and content limits ---

@test "MAIL SIZE= over databytes gets 552; up to it 250" {
	echo 1000 >"$R/control/databytes"
	session 'EHLO client.test' 'MAIL FROM:<a@b.example> SIZE=1001' \
	    'MAIL FROM:<a@b.example> SIZE=99999999999999999999999' \
	    'MAIL FROM:<a@b.example> SIZE=x' \
	    'MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME' QUIT
	smtp
	local big='552 5.3.4 message size exceeds fixed maximum message size'
	expect_reply "$G" '250-mx.example.net' 250-PIPELINING 250-8BITMIME \
	    '250-SIZE 1000' '250 ENHANCEDSTATUSCODES' "$big" "$big" \
	    '501 5.5.4 bad SIZE parameter' "$MOK" "$BYE"
}

@test "a message over databytes gets 552 after the dot, nothing queued" {
	echo 1000 >"$R/control/databytes"
	local x999 x1000
	x999=$(head -c 999 /dev/zero | tr '\0' x)
	x1000=${x999}x
	# 1001 bytes stored (LF line end): refused, and the session goes on
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA "$x1000" . \
	    'MAIL FROM:<a@b.example>' QUIT
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO" \
	    '552 5.3.4 message size exceeds fixed maximum message size' \
	    "$MOK" "$BYE"
	[ "$(nqueued)" = 0 ]
	[ -z "$(ls -A "$R/queue/tmp")" ]
	# exactly 1000 bytes: taken
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA "$x999" . QUIT
	smtp
	id_of 5
	[ "$(qpart "$(queued)" message | after_received)" = "$x999" ]
}

@test "a NUL byte in the message: 554 5.6.0 after the dot, nothing queued, session goes on" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA
	printf 'Subject: nul\r\n\r\nbefore\0after\r\n.\r\n' >>"$T/in"
	printf '%s\r\n' 'MAIL FROM:<a@b.example>' 'RCPT TO:<x@example.net>' \
	    DATA 'Subject: clean' '' body . QUIT >>"$T/in"
	smtp
	[ "$status" = 0 ]
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO" \
	    '554 5.6.0 message contains NUL characters' "$MOK" "$ROK" "$GO" \
	    "${reply[9]}" "$BYE"
	id_of 9
	[ "$(nqueued)" = 1 ]
	[ "$(qpart "$(queued)" message | after_received)" = "$(printf 'Subject: clean\n\nbody')" ]
	[ -z "$(ls -A "$R/queue/tmp")" ]
}

@test "100 Received: lines are a loop (554 5.4.6, nothing queued); 99 are taken" {
	local i
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA
	for i in $(seq 99); do
		printf 'Received: from hop%d by hop%d\r\n' "$i" "$((i + 1))"
	done >"$T/hops"
	{ cat "$T/in" "$T/hops"; printf 'received: last\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } >"$T/in100"
	{ cat "$T/in" "$T/hops"; printf 'Subject: x\r\n\r\nReceived: in the body\r\n.\r\nQUIT\r\n'; } >"$T/in99"
	mv "$T/in100" "$T/in"
	smtp
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO" \
	    '554 5.4.6 too many hops, this message is looping' "$BYE"
	[ "$(nqueued)" = 0 ]
	mv "$T/in99" "$T/in"
	smtp
	id_of 5
	[ "$(nqueued)" = 1 ]
	[ "$(qpart "$(queued)" message | grep -c '^Received:')" = 101 ]
}

# --- the DATA rules ---

@test "no SMTP smuggling: only <CR><LF>.<CR><LF> ends DATA" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA
	printf 'Subject: s\r\n\r\nA\n.\nMAIL FROM:<evil@x.example>\r\nB\n.\r\nRCPT TO:<v@other.org>\r\nC\r\n.\nDATA\r\nD\r\n.\r\nQUIT\r\n' >>"$T/in"
	smtp
	[ "$status" = 0 ]
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO" "${reply[5]}" "$BYE"
	id_of 5
	[ "$(nqueued)" = 1 ]
	qpart "$(queued)" message | after_received >"$T/got"
	printf 'Subject: s\n\nA\n.\nMAIL FROM:<evil@x.example>\nB\n.\nRCPT TO:<v@other.org>\nC\n.\nDATA\nD\n' >"$T/want"
	cmp "$T/got" "$T/want"
	[ "$(qpart "$(queued)" rcpts)" = x@example.net ]
}

@test "the message: dots unstuffed (after CRLF and bare LF), CRLF stored as LF, bare CR kept" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA
	printf 'Subject: d\r\n\r\n..x\r\na\n..y\r\n...\r\n.\rz\r\ncr\rin\r\nend\r\r\n\r\n.\r\n' >>"$T/in"
	printf 'QUIT\r\n' >>"$T/in"
	smtp
	id_of 5
	qpart "$(queued)" message | after_received >"$T/got"
	printf 'Subject: d\n\n.x\na\n.y\n..\n\rz\ncr\rin\nend\r\n\n' >"$T/want"
	cmp "$T/got" "$T/want"
}

@test "an empty message is taken: it holds only the Received: line" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA . QUIT
	smtp
	id_of 5
	[ "$(qpart "$(queued)" message | after_received | wc -c)" = 0 ]
}

@test "a 100,000-byte line is kept whole" {
	local long
	long=$(head -c 100000 /dev/zero | tr '\0' L)
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA 'Subject: long' '' "$long" tail . QUIT
	smtp
	id_of 5
	qpart "$(queued)" message | after_received >"$T/got"
	printf 'Subject: long\n\n%s\ntail\n' "$long" >"$T/want"
	cmp "$T/got" "$T/want"
}

@test "the 250 names the queue file and its id; envelope and sender as sent" {
	session 'HELO client.test' 'MAIL FROM:<Some.One@b.example>' \
	    'RCPT TO:<x@example.net>' 'RCPT TO:<Mixed.Case@ABC.com>' DATA \
	    'Subject: t' '' body . QUIT
	smtp
	local id
	id=$(id_of 6)
	[ "$(queued)" = "$R/queue/new/$id" ]
	[ "$(qpart "$R/queue/new/$id" id)" = "$id" ]
	[ "$(qpart "$R/queue/new/$id" env)" = "$(printf 'FSome.One@b.example\nTx@example.net\nTMixed.Case@ABC.com')" ]
	check_queue_files "$R/queue"
	grep -q "^smtp-accept: info: msg=$id " "$T/err"
}

@test "a quoted sender with spaces is logged quoted: it cannot add fields to the log line" {
	session 'HELO client.test' 'MAIL FROM:<"x> rcpts=99 ip=6.6.6.6 from=<y"@a.example>' \
	    'RCPT TO:<x@example.net>' DATA 'Subject: t' '' body . QUIT
	smtp
	local id
	id=$(id_of 5)
	grep -qx "smtp-accept: info: msg=$id ip=unknown from=<\"x> rcpts=99 ip=6.6.6.6 from=<y\"@a.example> rcpts=1 bytes=[0-9]*" "$T/err"
}

@test "one Received: line first, naming the HELO host, TCPREMOTEHOST and TCPREMOTEIP" {
	session 'EHLO helo.client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA 'Subject: t' '' body . QUIT
	smtp TCPREMOTEIP=192.0.2.7 TCPREMOTEHOST=client.example.org
	local id
	id=$(id_of 9)
	qpart "$(queued)" message >"$T/msg"
	[ "$(head -n 1 "$T/msg")" = 'Received: from helo.client.test (client.example.org [192.0.2.7])' ]
	[ "$(sed -n 2p "$T/msg")" = "	by mx.example.net (vdmail) with ESMTP id $id;" ]
	[ "$(grep -c '^Received:' "$T/msg")" = 1 ]
	[ "$(after_received <"$T/msg")" = "$(printf 'Subject: t\n\nbody')" ]
}

@test "without TCPREMOTEIP (inetd on a pipe) the Received: line says unknown" {
	session 'HELO helo.client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA 'Subject: t' '' body . QUIT
	smtp
	id_of 5
	qpart "$(queued)" message >"$T/msg"
	[ "$(head -n 1 "$T/msg")" = 'Received: from helo.client.test ([unknown])' ]
	[ "$(grep -c '^Received:' "$T/msg")" = 1 ]
}

@test "hostile TCPREMOTEHOST and HELO text cannot break the Received: line" {
	session $'HELO evil\tname\x01(x)' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA 'Subject: t' '' body . QUIT
	smtp TCPREMOTEIP=192.0.2.7 "TCPREMOTEHOST=$(printf 'h\nX-Evil: 1')"
	id_of 5
	qpart "$(queued)" message >"$T/msg"
	[ "$(head -n 1 "$T/msg")" = 'Received: from evil?name??x? (h?X-Evil:?1 [192.0.2.7])' ]
	[ "$(grep -c "^X-Evil" "$T/msg")" = 0 ]
}

@test "PIPELINING: a whole transaction in one write gets every reply in order" {
	session 'EHLO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' 'RCPT TO:<x@other.org>' \
	    'RCPT TO:<y@abc.com>' DATA 'Subject: p' '' one . \
	    'MAIL FROM:<c@b.example>' 'RCPT TO:<z@example.net>' DATA \
	    'Subject: q' '' two . QUIT
	[ "$(wc -c <"$T/in")" -lt 8192 ]
	smtp
	expect_reply "$G" '250-mx.example.net' 250-PIPELINING 250-8BITMIME \
	    '250-SIZE 20971520' '250 ENHANCEDSTATUSCODES' "$MOK" "$ROK" \
	    "$NOTMINE" "$ROK" "$GO" "${reply[11]}" "$MOK" "$ROK" "$GO" \
	    "${reply[15]}" "$BYE"
	id_of 11
	id_of 15
	[ "$(nqueued)" = 2 ]
	[ "$(qpart "$R/queue/new/$(id_of 11)" rcpts)" = "$(printf 'x@example.net\ny@abc.com')" ]
	[ "$(qpart "$R/queue/new/$(id_of 15)" message | after_received)" = "$(printf 'Subject: q\n\ntwo')" ]
}

# --- the queue program ---

@test "QMAILQUEUE exit 31 gives 554; exit 71 gives 451; a crash gives 451" {
	printf '#!/bin/sh\ncat >/dev/null\nexit 31\n' >"$T/qq31"
	printf '#!/bin/sh\ncat >/dev/null\nexit 71\n' >"$T/qq71"
	printf '#!/bin/sh\ncat >/dev/null\nkill -9 $$\n' >"$T/qqkill"
	printf '#!/bin/sh\nexit 11\n' >"$T/qq11"
	chmod +x "$T"/qq*
	rcpt_session '<x@example.net>'
	local want=("$G" "$H" "$MOK" "$ROK" "$GO" x "$BYE")
	smtp QMAILQUEUE="$T/qq31"
	want[5]='554 5.3.0 mail server permanently rejected message'
	expect_reply "${want[@]}"
	smtp QMAILQUEUE="$T/qq71"
	want[5]='451 4.3.0 queue failure (code 71); try again later'
	expect_reply "${want[@]}"
	smtp QMAILQUEUE="$T/qqkill"
	want[5]='451 4.3.0 queue failure (crashed); try again later'
	expect_reply "${want[@]}"
	smtp QMAILQUEUE="$T/qq11"
	want[5]='554 5.1.3 address too long'
	expect_reply "${want[@]}"
	[ "$(nqueued)" = 0 ]
}

@test "QMAILQUEUE gets the message on fd 0, the envelope on fd 1, and VDMAIL_MSGID" {
	mkdir "$T/rec"
	cat >"$T/qqrec" <<-'EOF'
	#!/bin/sh
	cat >"$OUT/msg"
	cat <&1 >"$OUT/env"
	printf '%s' "$VDMAIL_MSGID" >"$OUT/id"
	exit 0
	EOF
	chmod +x "$T/qqrec"
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' 'RCPT TO:<y@abc.com>' DATA \
	    'Subject: rec' '' body . QUIT
	smtp QMAILQUEUE="$T/qqrec" OUT="$T/rec" VDMAIL_MSGID=forged
	expect_reply "$G" "$H" "$MOK" "$ROK" "$ROK" "$GO" "${reply[6]}" "$BYE"
	local id
	id=$(id_of 6)
	[ "$(cat "$T/rec/id")" = "$id" ]
	printf 'Fa@b.example\0Tx@example.net\0Ty@abc.com\0\0' >"$T/want-env"
	cmp "$T/rec/env" "$T/want-env"
	head -n 1 "$T/rec/msg" | grep -q '^Received: from client.test (\[unknown\])$'
	[ "$(after_received <"$T/rec/msg")" = "$(printf 'Subject: rec\n\nbody')" ]
	[ "$(nqueued)" = 0 ]
}

@test "QMAILQUEUE: an envelope of 100 long recipients (over 4 KiB) arrives whole and in order" {
	mkdir "$T/rec"
	cat >"$T/qqrec" <<-'EOF'
	#!/bin/sh
	cat >/dev/null
	cat <&1 >"$OUT/env"
	exit 0
	EOF
	chmod +x "$T/qqrec"
	local i long lines=('HELO client.test' 'MAIL FROM:<a@b.example>') want=("$G" "$H" "$MOK")
	long=$(printf 'l%.0s' $(seq 60))
	printf 'Fa@b.example\0' >"$T/want-env"
	for i in $(seq 100); do
		lines+=("RCPT TO:<$long$i@example.net>")
		want+=("$ROK")
		printf 'T%s%s@example.net\0' "$long" "$i" >>"$T/want-env"
	done
	printf '\0' >>"$T/want-env"
	[ "$(stat -c %s "$T/want-env")" -gt 4096 ]
	session "${lines[@]}" DATA 'Subject: t' '' body . QUIT
	smtp QMAILQUEUE="$T/qqrec" OUT="$T/rec"
	want+=("$GO" "${reply[104]}" "$BYE")
	expect_reply "${want[@]}"
	id_of 104
	cmp "$T/rec/env" "$T/want-env"
}

@test "QMAILQUEUE that cannot be started: 451 before 354, session goes on" {
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA RSET NOOP QUIT
	smtp QMAILQUEUE="$T/no-such-program"
	expect_reply "$G" "$H" "$MOK" "$ROK" \
	    '451 4.3.0 unable to start the queue; try again later' "$OK" "$OK" "$BYE"
}

@test "queue-inject failing (no queue): 451, nothing lost, session goes on" {
	cp -a "$R" "$T/noq"
	rm -r "$T/noq/queue"
	session 'HELO client.test' 'MAIL FROM:<a@b.example>' \
	    'RCPT TO:<x@example.net>' DATA 'Subject: t' '' body . \
	    'MAIL FROM:<a@b.example>' NOOP QUIT
	smtp VDMAIL_ROOT="$T/noq"
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO" \
	    '451 4.3.0 queue failure (code 61); try again later' "$MOK" "$OK" "$BYE"
	[ ! -e "$T/noq/queue" ]
}

# --- timeouts ---

@test "timeoutsmtpd: an idle client gets 421 and is dropped within ~3 s" {
	echo 1 >"$R/control/timeoutsmtpd"
	mkfifo "$T/fifo"
	exec 4<>"$T/fifo"	# a writer that never writes and never closes
	printf 'HELO client.test\r\n' >&4
	local t0 t1
	t0=$(date +%s%N)
	status=0
	timeout 10 smtp-accept <"$T/fifo" >"$T/out" 2>"$T/err" 4>&- || status=$?
	t1=$(date +%s%N)
	exec 4>&-
	no_sanitizer_report "$T/err"
	mapfile -t reply < <(tr -d '\r' <"$T/out")
	[ "$status" = 111 ]
	expect_reply "$G" "$H" '421 4.4.2 mx.example.net timeout, closing connection'
	[ $(((t1 - t0) / 1000000)) -ge 900 ]
	[ $(((t1 - t0) / 1000000)) -lt 3000 ]
}

@test "timeoutsmtpd inside DATA: 451, nothing queued" {
	echo 1 >"$R/control/timeoutsmtpd"
	mkfifo "$T/fifo"
	exec 4<>"$T/fifo"
	printf 'HELO client.test\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.net>\r\nDATA\r\nSubject: slow\r\n\r\nhalf a mes' >&4
	status=0
	timeout 10 smtp-accept <"$T/fifo" >"$T/out" 2>"$T/err" 4>&- || status=$?
	exec 4>&-
	no_sanitizer_report "$T/err"
	mapfile -t reply < <(tr -d '\r' <"$T/out")
	[ "$status" = 111 ]
	expect_reply "$G" "$H" "$MOK" "$ROK" "$GO" \
	    '451 4.4.2 mx.example.net timeout, closing connection'
	[ "$(nqueued)" = 0 ]
	[ -z "$(ls -A "$R/queue/tmp")" ]
}

@test "EOF in the middle of a session: exit 0, nothing queued; inside DATA: 111" {
	printf 'HELO client.test\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.net>\r\n' >"$T/in"
	smtp
	[ "$status" = 0 ]
	expect_reply "$G" "$H" "$MOK" "$ROK"
	printf 'DATA\r\nSubject: cut\r\n\r\nno end\r\n' >>"$T/in"
	smtp
	[ "$status" = 111 ]
	[ "$(nqueued)" = 0 ]
	[ -z "$(ls -A "$R/queue/tmp")" ]
}

# --- inflow control: queue-run's mark on queue/lock/inflow ---

# ms that smtp-accept takes over the session in $T/in
timed_smtp() {
	local t0 t1
	t0=$(date +%s%N)
	smtp
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
}

@test "inflow: a fresh mark on lock/inflow holds DATA for control/inflowdelay ms, then the message is taken" {
	echo 600 >"$R/control/inflowdelay"
	touch "$R/queue/lock/inflow"
	rcpt_session '<x@mx.example.net>'
	timed_smtp
	[ "$status" = 0 ]
	id_of 5 >/dev/null
	[ "$ms" -ge 550 ]
	[ "$(ls "$R/queue/new" | wc -l)" = 1 ]
}

@test "inflow: a mark cleared to time 0, a stale mark, or inflowdelay 0 does not hold DATA" {
	echo 2000 >"$R/control/inflowdelay"
	rcpt_session '<x@mx.example.net>'
	touch -d @0 "$R/queue/lock/inflow"
	timed_smtp
	id_of 5 >/dev/null
	[ "$ms" -lt 1000 ]
	touch -d '-10 seconds' "$R/queue/lock/inflow"
	timed_smtp
	id_of 5 >/dev/null
	[ "$ms" -lt 1000 ]
	touch "$R/queue/lock/inflow"
	echo 0 >"$R/control/inflowdelay"
	timed_smtp
	id_of 5 >/dev/null
	[ "$ms" -lt 1000 ]
	rm "$R/queue/lock/inflow"
	echo 2000 >"$R/control/inflowdelay"
	timed_smtp
	id_of 5 >/dev/null
	[ "$ms" -lt 1000 ]
}

@test "inflow: a queue just made holds no mark: DATA is not held" {
	rm -rf "$R/queue"
	make_queue "$R/queue"
	rcpt_session '<x@mx.example.net>'
	timed_smtp
	id_of 5 >/dev/null
	[ "$ms" -lt 500 ]
}

@test "inflow: a mark cleared while DATA waits lets it go at once" {
	echo 5000 >"$R/control/inflowdelay"
	touch "$R/queue/lock/inflow"
	(sleep 0.5 && touch -d @0 "$R/queue/lock/inflow") &
	rcpt_session '<x@mx.example.net>'
	timed_smtp
	wait
	id_of 5 >/dev/null
	[ "$ms" -ge 400 ]
	[ "$ms" -lt 2500 ]
}
