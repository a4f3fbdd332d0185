# t/pop3-session.bats -- pop3-session: the TRANSACTION and UPDATE states
# of POP3 on one Maildir (SPEC section 9; pop3-session(8)).
#
# pop3-session is driven over pipes, as the sandbox user, on a Maildir $MD
# in a scratch directory: `session CMD...` feeds it command lines; the
# tests that need a session held open (snapshots, two sessions at once)
# use pipe_py from helpers/pop3.
load helpers/common
load helpers/pop3

# The three messages of most tests: two in new/, one seen in cur/.
M1=1700000001.M1P101.host
M2=1700000002.M2P102.host
M3=1700000003.M3P103.host

setup() {
	T=$BATS_TEST_TMPDIR
	scratch_dir || return 1
	cd "$S" || return 1
	MD=$S/Maildir
	as_sandbox maildirmake "$MD" || return 1
	printf '%s\n' 'Return-Path: <alice@example.org>' 'Subject: one' '' \
	    'line 1' '.dot line' '..two dots' '.' 'last line' |
	    pop3_put "$MD/new/$M1"
	# no newline at its end
	printf 'Subject: two\n\nbody 1\nbody 2\nbody 3\nbody 4' |
	    pop3_put "$MD/new/$M2"
	printf 'Subject: three\n\nthree\n' | pop3_put "$MD/cur/$M3:2,S"
}

teardown() {
	scratch_cleanup
}

# session COMMAND...: one pop3-session on $MD fed these command lines (CRLF
# added), as the sandbox user.  Its replies go to $S/raw as they are and
# to stdout without CRs; its stderr to $S/err.  Its exit status is
# pop3-session's.
session() {
	local rc=0
	printf '%s\r\n' "$@" | as_sandbox pop3-session "$MD" >"$S/raw" \
	    2>"$S/err" || rc=$?
	tr -d '\r' <"$S/raw"
	return "$rc"
}

# all_crlf: every line of $S/raw ends with CRLF.
all_crlf() {
	[ -s "$S/raw" ] &&
	    [ "$(tail -c 1 "$S/raw" | od -An -tx1 | tr -d ' ')" = 0a ] &&
	    [ "$(grep -c $'\r$' "$S/raw")" = "$(wc -l <"$S/raw")" ] &&
	    ! sed 's/\r$//' "$S/raw" | grep -q $'\r'
}

# wire FILE: the size of FILE as pop3-session sends it: each LF as CRLF,
# and a last line without LF ended.
wire() {
	python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
print(len(d) + d.count(b"\n") + (2 if d and not d.endswith(b"\n") else 0))' "$1"
}

# where NAME: the path of the message NAME (new/NAME or cur/NAME:*).
where() {
	find "$MD" -name "$1*" -type f
}

@test "greeting, STAT, LIST, LIST n, UIDL, UIDL n: sizes with CRLF line ends" {
	run -0 session STAT LIST 'LIST 2' UIDL 'UIDL 3' QUIT
	s1=$(wire "$(where "$M1")") s2=$(wire "$(where "$M2")")
	s3=$(wire "$(where "$M3")")
	# LF counted as CRLF; the last line of message 2 gets its CRLF
	[ "$s1" = 95 ]
	[ "$s2" = 48 ]
	[ "$s3" = 25 ]
	[ "$output" = "+OK 3 messages
+OK 3 $((s1 + s2 + s3))
+OK
1 $s1
2 $s2
3 $s3
.
+OK 2 $s2
+OK
1 $M1
2 $M2
3 $M3
.
+OK 3 $M3
+OK bye" ]
	all_crlf
	[ ! -s "$S/err" ]
}

@test "an empty Maildir: +OK 0 messages, STAT 0 0, an empty LIST" {
	rm -f "$MD"/new/* "$MD"/cur/*
	run -0 session STAT LIST UIDL QUIT
	[ "$output" = "+OK 0 messages
+OK 0 0
+OK
.
+OK
.
+OK bye" ]
}

@test "RETR: LF becomes CRLF, lines starting with a dot are byte-stuffed, the last line is ended" {
	run -0 session 'RETR 1' 'RETR 2' QUIT
	printf '%s\r\n' '+OK 3 messages' "+OK $(wire "$MD/cur/$M1:2,") octets" \
	    'Return-Path: <alice@example.org>' 'Subject: one' '' 'line 1' \
	    '..dot line' '...two dots' '..' 'last line' . \
	    "+OK $(wire "$MD/cur/$M2:2,") octets" 'Subject: two' '' \
	    'body 1' 'body 2' 'body 3' 'body 4' . '+OK bye' >want
	cmp want "$S/raw"
}

@test "RETR: the octets unstuffed with CRLF are the size LIST gives (as poplib counts them)" {
	pipe_py '
x = Prog("pop3-session", argv[0])
sizes = dict(l.split() for l in x.multi("LIST")[1])
for n in sorted(sizes):
    first, lines = x.multi("RETR " + n)
    octets = sum(len(l) + 2 for l in lines)
    assert first == "+OK %s octets" % sizes[n], (first, sizes[n])
    assert octets == int(sizes[n]), (n, octets, sizes[n])
assert x.cmd("QUIT") == "+OK bye"
' "$MD"
}

@test "RETR of a large message: every byte arrives, stuffed and CRLF" {
	python3 -c 'import sys
lines = []
for i in range(60000):
    lines.append("." * (i % 5) + "x" * (i % 300))
sys.stdout.write("Subject: big\n\n" + "\n".join(lines) + "\n")' |
	    pop3_put "$MD/new/1700000004.M4P104.host"
	pipe_py '
x = Prog("pop3-session", argv[0])
first, lines = x.multi("RETR 4")
want = open(argv[1], "rb").read().decode().split("\n")[:-1]
assert lines == want, "content differs"
assert first == "+OK %d octets" % sum(len(l) + 2 for l in want), first
assert x.cmd("QUIT") == "+OK bye"
' "$MD" "$MD/cur/1700000004.M4P104.host:2,"
}

@test "TOP n 0 gives the header and the blank line; TOP n 2 two body lines; more lines than the body: all" {
	run -0 session 'TOP 2 0' 'TOP 2 2' 'TOP 2 99' 'TOP 1 1' QUIT
	s2=$(wire "$MD/cur/$M2:2,")
	[ "$output" = "+OK 3 messages
+OK $s2 octets
Subject: two

.
+OK $s2 octets
Subject: two

body 1
body 2
.
+OK $s2 octets
Subject: two

body 1
body 2
body 3
body 4
.
+OK $(wire "$MD/cur/$M1:2,") octets
Return-Path: <alice@example.org>
Subject: one

line 1
.
+OK bye" ]
	all_crlf
}

@test "TOP: a message without header lines, and one without a body" {
	printf '\nonly a body\nline 2\n' | pop3_put "$MD/new/1700000005.M5P105.host"
	printf 'Subject: no body\n' | pop3_put "$MD/new/1700000006.M6P106.host"
	run -0 session 'TOP 4 0' 'TOP 4 1' 'TOP 5 0' QUIT
	[ "$output" = "+OK 5 messages
+OK 23 octets

.
+OK 23 octets

only a body
.
+OK 18 octets
Subject: no body
.
+OK bye" ]
}

@test "TOP: bad arguments" {
	run -0 session 'TOP 1' 'TOP 1 x' 'TOP 1 -1' 'TOP' 'TOP 9 0' QUIT
	[ "$output" = "+OK 3 messages
-ERR syntax: TOP msg lines
-ERR syntax: TOP msg lines
-ERR syntax: TOP msg lines
-ERR syntax: a message number
-ERR no such message
+OK bye" ]
}

@test "DELE then RSET: the message is back, nothing is removed" {
	run -0 session 'DELE 1' STAT 'LIST 1' 'RETR 1' 'DELE 1' LIST RSET STAT \
	    'LIST 1' QUIT
	s1=$(wire "$MD/cur/$M1:2,") s2=$(wire "$MD/cur/$M2:2,")
	s3=$(wire "$MD/cur/$M3:2,S")
	[ "$output" = "+OK 3 messages
+OK message 1 deleted
+OK 2 $((s2 + s3))
-ERR message 1 is deleted
-ERR message 1 is deleted
-ERR message 1 is deleted
+OK
2 $s2
3 $s3
.
+OK
+OK 3 $((s1 + s2 + s3))
+OK 1 $s1
+OK bye" ]
	[ "$(find "$MD/cur" -type f | wc -l)" = 3 ]
}

@test "DELE then QUIT: the file is removed, the others stay" {
	run -0 session 'DELE 2' QUIT
	[ "$output" = "+OK 3 messages
+OK message 2 deleted
+OK bye" ]
	[ -z "$(where "$M2")" ]
	[ -f "$MD/cur/$M1:2," ]
	[ -f "$MD/cur/$M3:2,S" ]
	run -0 session STAT UIDL QUIT
	[ "${lines[0]}" = '+OK 2 messages' ]
	[ "${lines[3]}" = "1 $M1" ]
	[ "${lines[4]}" = "2 $M3" ]
}

@test "DELE without QUIT: the end of input removes nothing" {
	run -0 session 'DELE 1' 'DELE 2' 'DELE 3'
	[ "$(find "$MD/cur" -type f | wc -l)" = 3 ]
	# nor does a QUIT without its line end
	printf 'DELE 1\r\nQUIT' | as_sandbox pop3-session "$MD" >/dev/null
	[ "$(find "$MD/cur" -type f | wc -l)" = 3 ]
}

@test "new/ moves to cur/ with :2, at the start; cur/ names, tmp/ and dot files are left alone" {
	printf 'Subject: half\n' | pop3_put "$MD/tmp/1700000009.M9P109.host"
	printf 'x\n' | pop3_put "$MD/cur/.hidden"
	run -0 session QUIT
	[ "${lines[0]}" = '+OK 3 messages' ]
	[ -z "$(ls -A "$MD/new")" ]
	[ "$(cd "$MD/cur" && ls)" = "$M1:2,
$M2:2,
$M3:2,S" ]
	[ -f "$MD/tmp/1700000009.M9P109.host" ]
	[ -f "$MD/cur/.hidden" ]
}

@test "a message marked T (trashed) in cur/ is not shown, and stays" {
	printf 'Subject: trash\n\nx\n' | pop3_put "$MD/cur/1700000000.M0P100.host:2,ST"
	run -0 session STAT UIDL 'DELE 1' QUIT
	[ "${lines[0]}" = '+OK 3 messages' ]
	run ! grep -q 1700000000 <<<"$output"
	[ -f "$MD/cur/1700000000.M0P100.host:2,ST" ]
	[ -z "$(where "$M1")" ]
}

@test "bad message numbers" {
	run -0 session 'LIST 0' 'LIST 4' 'RETR -1' 'DELE x' 'UIDL 99999999999999999999999' \
	    'RETR' 'LIST 1x' QUIT
	[ "$output" = "+OK 3 messages
-ERR no such message
-ERR no such message
-ERR syntax: a message number
-ERR syntax: a message number
-ERR no such message
-ERR syntax: a message number
+OK 1 $(wire "$MD/cur/$M1:2,")
+OK bye" ]
}

@test "CAPA, NOOP, lowercase commands, an unknown command" {
	run -0 session CAPA NOOP stat 'list 3' FROB QUIT
	[ "$output" = "+OK 3 messages
+OK capabilities follow
TOP
UIDL
USER
PIPELINING
RESP-CODES
IMPLEMENTATION vdmail
.
+OK
+OK 3 $(($(wire "$MD/cur/$M1:2,") + $(wire "$MD/cur/$M2:2,") + $(wire "$MD/cur/$M3:2,S")))
+OK 3 $(wire "$MD/cur/$M3:2,S")
-ERR unknown command
+OK bye" ]
	all_crlf
}

@test "pipelined commands all get their replies, in order" {
	local c=() i
	for i in $(seq 200); do c+=(NOOP); done
	run -0 session "${c[@]}" QUIT
	[ "${#lines[@]}" = 202 ]
	[ "${lines[200]}" = '+OK' ]
	[ "${lines[201]}" = '+OK bye' ]
}

@test "a command line of 512 bytes (CRLF included) is taken; a longer one refused, and the session goes on" {
	run -0 session "NOOP$(printf '%506s' '')" "NOOP$(printf '%507s' '')" QUIT
	[ "$output" = "+OK 3 messages
+OK
-ERR line too long
+OK bye" ]
}

@test "more than 20 errors end the session without deletions" {
	local c=('DELE 1')
	for i in $(seq 21); do c+=(FROB); done
	run -0 session "${c[@]}" QUIT
	[ "${#lines[@]}" = 23 ]
	[ "${lines[22]}" = '-ERR unknown command' ]
	[ "$(find "$MD/cur" -type f | wc -l)" = 3 ]
	# 20 are borne
	c=()
	for i in $(seq 20); do c+=(FROB); done
	run -0 session "${c[@]}" QUIT
	[ "${lines[21]}" = '+OK bye' ]
}

@test "a message delivered after the start is not in the listing, but is in the next session's" {
	pipe_py '
import subprocess
x = Prog("pop3-session", argv[0])
assert x.greeting == "+OK 3 messages", x.greeting
prefix = os.environ["PIPE_PY_PREFIX"].split()
subprocess.run(prefix + ["maildir-store", argv[0]], check=True,
               input=b"Subject: late\n\nlate\n")
assert len(x.multi("LIST")[1]) == 3
assert x.cmd("STAT").startswith("+OK 3 ")
assert x.cmd("RETR 4") == "-ERR no such message"
assert x.cmd("QUIT") == "+OK bye"
y = Prog("pop3-session", argv[0])
assert y.greeting == "+OK 4 messages", y.greeting
first, lines = y.multi("RETR 4")
assert "Subject: late" in lines, lines
assert y.cmd("QUIT") == "+OK bye"
' "$MD"
}

@test "two sessions: the second sees the same messages; after the first deletes one, the second gets -ERR for it and its DELE is harmless" {
	pipe_py '
a = Prog("pop3-session", argv[0])
b = Prog("pop3-session", argv[0])
assert a.greeting == b.greeting == "+OK 3 messages", (a.greeting, b.greeting)
assert a.multi("UIDL") == b.multi("UIDL")
assert a.multi("LIST") == b.multi("LIST")
assert a.cmd("DELE 2") == "+OK message 2 deleted"
assert a.cmd("QUIT") == "+OK bye"
assert a.close() == 0
assert b.cmd("RETR 2") == "-ERR message 2 was deleted by another session"
assert b.cmd("TOP 2 0") == "-ERR message 2 was deleted by another session"
assert b.multi("RETR 1")[0].startswith("+OK ")
assert b.cmd("DELE 2") == "+OK message 2 deleted"
assert b.cmd("QUIT") == "+OK bye"
assert b.close() == 0
c = Prog("pop3-session", argv[0])
assert c.greeting == "+OK 2 messages", c.greeting
c.cmd("QUIT")
' "$MD"
	[ -z "$(where "$M2")" ]
	[ -f "$MD/cur/$M1:2," ]
	[ -f "$MD/cur/$M3:2,S" ]
}

@test "UIDLs are stable across sessions, through the move to cur/ and a flag change" {
	run -0 session UIDL QUIT
	first=$output
	# a mail reader marks message 1 seen
	as_sandbox mv "$MD/cur/$M1:2," "$MD/cur/$M1:2,S"
	run -0 session UIDL QUIT
	[ "$output" = "$first" ]
	grep -qx "1 $M1" <<<"$output"
}

@test "the Maildir from \$MAILDIR when no argument is given (as vcheckpassword sets it)" {
	noarg() {
		printf 'STAT\r\nQUIT\r\n' | MAILDIR=$MD as_sandbox pop3-session
	}
	run -0 noarg
	[ "${lines[0]}" = $'+OK 3 messages\r' ]
}

@test "a missing Maildir: -ERR and exit 111" {
	run -111 --separate-stderr as_sandbox pop3-session "$S/nowhere" </dev/null
	[ "$output" = $'-ERR unable to open your mailbox; try again later\r' ]
	[[ "$stderr" = "pop3-session: fatal: chdir $S/nowhere: No such file or directory" ]]
	# a Maildir without cur/
	rmdir "$MD/cur" 2>/dev/null || rm -rf "$MD/cur"
	run -111 --separate-stderr as_sandbox pop3-session "$MD" </dev/null
	[[ "$stderr" = 'pop3-session: fatal: open cur/: '* ]]
}

@test "usage: more than one argument is 100" {
	run -100 --separate-stderr as_sandbox pop3-session a b </dev/null
	[ "$stderr" = 'pop3-session: fatal: usage: pop3-session [MAILDIR]' ]
}
