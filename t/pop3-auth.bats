# t/pop3-auth.bats -- pop3-auth: the AUTHORIZATION state of POP3 (SPEC
# section 9; pop3-auth(8)).
#
# pop3-auth is driven over pipes with stub checkpassword programs
# (scripts that record what they were given and exit 0, 1 or 111), and
# once with the real vcheckpassword on an instance with a virtual user.
load helpers/common
load helpers/pop3

HOST=mx.example.net

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	# stub CODE: saves fd 3 to $T/fd3 and its arguments to $T/args,
	# exits CODE; when it logs in (0) it speaks to the client
	for code in 0 1 111; do
		cat >"$T/stub$code" <<EOF
#!/bin/sh
cat <&3 >"$T/fd3"
printf '%s\n' "\$@" >"$T/args"
[ $code = 0 ] && echo "stub $code ran"
exit $code
EOF
		chmod 0755 "$T/stub$code"
	done
}

teardown() {
	scratch_cleanup
}

# auth CHECKPROGRAM COMMAND...: pop3-auth HOST CHECKPROGRAM sub arg, fed
# these command lines (CRLF added); its output in $T/raw as it is and on
# stdout without CRs.  Its exit status is pop3-auth's.
auth() {
	local check=$1 rc=0
	shift
	printf '%s\r\n' "$@" | pop3-auth "$HOST" "$check" sub arg \
	    >"$T/raw" 2>"$T/err" || rc=$?
	tr -d '\r' <"$T/raw"
	return "$rc"
}

@test "greeting and QUIT; every line ends with CRLF" {
	run -0 auth "$T/stub0" QUIT
	[ "$output" = "+OK $HOST POP3 ready
+OK bye" ]
	[ "$(grep -c $'\r$' "$T/raw")" = 2 ]
	# the end of input without QUIT: exit 0 too
	run -0 auth "$T/stub0" NOOP
	[ ! -e "$T/fd3" ]
}

@test "CAPA: USER, TOP, UIDL; no APOP, no PIPELINING" {
	run -0 auth "$T/stub0" CAPA capa QUIT
	[ "$output" = "+OK $HOST POP3 ready
+OK capabilities follow
USER
TOP
UIDL
RESP-CODES
IMPLEMENTATION vdmail
.
+OK capabilities follow
USER
TOP
UIDL
RESP-CODES
IMPLEMENTATION vdmail
.
+OK bye" ]
	run ! grep -qi -e APOP -e PIPELINING "$T/raw"
}

@test "USER and PASS: a program that logs in (exit 0) takes over; pop3-auth says nothing more" {
	run -0 auth "$T/stub0" 'USER jane@abc.com' 'PASS secret pass' QUIT
	[ "$output" = "+OK $HOST POP3 ready
+OK
stub 0 ran" ]
	# the program gets SUBPROGRAM and its arguments
	[ "$(cat "$T/args")" = 'sub
arg' ]
	# lowercase commands too
	run -0 auth "$T/stub0" 'user jane@abc.com' 'pass x'
	[ "${lines[2]}" = 'stub 0 ran' ]
}

@test "the program gets exactly user\\0password\\0<...@HOST>\\0 on fd 3" {
	run -0 auth "$T/stub0" 'USER jane@abc.com' 'PASS  two  spaces '
	python3 - "$T/fd3" "$HOST" <<'EOF'
import re, sys

data = open(sys.argv[1], "rb").read()
host = sys.argv[2].encode()
parts = data.split(b"\0")
assert len(parts) == 4 and parts[3] == b"", parts
assert parts[0] == b"jane@abc.com", parts
# the password as typed after "PASS ": spaces kept
assert parts[1] == b" two  spaces ", parts
assert re.fullmatch(rb"<[0-9]+\.[0-9]+@" + re.escape(host) + rb">", parts[2]), parts
EOF
}

@test "a bad login (exit 1): -ERR after at least a second; the session goes on, USER again" {
	t0=$(now_ms)
	run -0 auth "$T/stub1" 'USER jane@abc.com' 'PASS wrong' 'PASS again' \
	    'USER jane@abc.com' 'PASS wrong' QUIT
	t=$(($(now_ms) - t0))
	[ "$output" = "+OK $HOST POP3 ready
+OK
-ERR authorization failed
-ERR USER first
+OK
-ERR authorization failed
+OK bye" ]
	# two failures, a second each
	[ "$t" -ge 2000 ]
}

@test "the third failed login ends the session: no guessing without end on one connection" {
	run -0 auth "$T/stub1" 'USER jane@abc.com' 'PASS a' 'USER jane@abc.com' \
	    'PASS b' 'USER jane@abc.com' 'PASS c' 'USER jane@abc.com' 'PASS d' QUIT
	[ "$output" = "+OK $HOST POP3 ready
+OK
-ERR authorization failed
+OK
-ERR authorization failed
+OK
-ERR too many failed logins" ]
}

@test "a temporary failure (exit 111) is a different -ERR, after the same delay" {
	t0=$(now_ms)
	run -0 auth "$T/stub111" 'USER jane@abc.com' 'PASS x' QUIT
	t=$(($(now_ms) - t0))
	[ "${lines[2]}" = '-ERR temporary failure; try again later' ]
	[ "${lines[3]}" = '+OK bye' ]
	[ "$t" -ge 1000 ]
	# a program that cannot be run is a temporary failure too
	run -0 auth "$T/no-such-program" 'USER jane@abc.com' 'PASS x' QUIT
	[ "${lines[2]}" = '-ERR temporary failure; try again later' ]
}

@test "a third temporary failure ends the session too, still called temporary" {
	run -0 auth "$T/stub111" 'USER jane@abc.com' 'PASS a' 'USER jane@abc.com' \
	    'PASS b' 'USER jane@abc.com' 'PASS c' QUIT
	[ "$output" = "+OK $HOST POP3 ready
+OK
-ERR temporary failure; try again later
+OK
-ERR temporary failure; try again later
+OK
-ERR temporary failure; try again later" ]
}

@test "PASS before USER: -ERR, the program is not run" {
	run -0 auth "$T/stub0" 'PASS secret' QUIT
	[ "$output" = "+OK $HOST POP3 ready
-ERR USER first
+OK bye" ]
	[ ! -e "$T/fd3" ]
}

@test "APOP is refused: -ERR, the program is not run" {
	run -0 auth "$T/stub0" 'APOP jane@abc.com c4c9334bac560ecc979e58001b3e22fb' QUIT
	[ "$output" = "+OK $HOST POP3 ready
-ERR APOP is not offered: use USER and PASS
+OK bye" ]
	[ ! -e "$T/fd3" ]
}

@test "USER: a name is needed, of at most 256 bytes" {
	run -0 auth "$T/stub0" USER "USER $(printf '%257s' '' | tr ' ' u)" \
	    "USER $(printf '%256s' '' | tr ' ' u)" 'PASS x'
	[ "${lines[1]}" = '-ERR syntax: USER name' ]
	[ "${lines[2]}" = '-ERR syntax: USER name' ]
	[ "${lines[3]}" = '+OK' ]
	[ "$(head -c 257 "$T/fd3" | tr -d 'u' | od -An -c | tr -d ' ')" = '\0' ]
}

@test "a line of 512 bytes (CRLF included) is taken; a longer one gets -ERR and the session goes on" {
	run -0 auth "$T/stub0" "QUIT$(printf '%506s' '')"
	[ "${lines[1]}" = '+OK bye' ]
	run -0 auth "$T/stub0" "QUIT$(printf '%507s' '')" QUIT
	[ "$output" = "+OK $HOST POP3 ready
-ERR line too long
+OK bye" ]
	# a very long line too, with no CR
	{
		head -c 100000 /dev/zero | tr '\0' x
		printf '\nQUIT\r\n'
	} >"$T/long"
	run -0 pop3-auth "$HOST" "$T/stub0" sub <"$T/long"
	[ "${lines[1]}" = $'-ERR line too long\r' ]
	[ "${lines[2]}" = $'+OK bye\r' ]
}

@test "errors: the 11th closes the session" {
	local c=() i
	for i in $(seq 10); do c+=(STAT); done
	run -0 auth "$T/stub0" "${c[@]}" QUIT
	[ "${#lines[@]}" = 12 ]
	[ "${lines[10]}" = '-ERR authorization first' ]
	[ "${lines[11]}" = '+OK bye' ]
	c+=(LIST)
	run -0 auth "$T/stub0" "${c[@]}" QUIT
	# one reply a command: the 11th gets the ending in place of its own
	[ "${#lines[@]}" = 12 ]
	[ "${lines[10]}" = '-ERR authorization first' ]
	[ "${lines[11]}" = '-ERR too many errors' ]
	# over-long lines count too
	c=()
	for i in $(seq 11); do c+=("$(printf '%600s' '')"); done
	run -0 auth "$T/stub0" "${c[@]}" QUIT
	[ "${#lines[@]}" = 12 ]
	[ "${lines[10]}" = '-ERR line too long' ]
	[ "${lines[11]}" = '-ERR too many errors' ]
}

@test "with vcheckpassword: an unknown user and a wrong password get the same reply after the same delay" {
	scratch_dir
	pop3_instance
	vuser_add jane@abc.com correct-horse-9 >/dev/null
	# vcheckpassword runs as the sandbox user: so does pop3-auth here
	try() {
		printf 'USER %s\r\nPASS %s\r\n' "$1" "$2" |
		    as_sandbox pop3-auth "$HOST" vcheckpassword pop3-session
	}
	t0=$(now_ms)
	run -0 try jane@abc.com wrong-password
	t1=$(now_ms)
	wrong=$output
	run -0 try nobody@abc.com wrong-password
	t2=$(now_ms)
	[ "$output" = "$wrong" ]
	[ "${lines[2]}" = $'-ERR authorization failed\r' ]
	[ $((t1 - t0)) -ge 1000 ]
	[ $((t2 - t1)) -ge 1000 ]
	[ $((t1 - t0 - (t2 - t1))) -le 500 ]
	[ $((t2 - t1 - (t1 - t0))) -le 500 ]
	# and the right password gets the session
	run -0 try jane@abc.com correct-horse-9
	[ "${lines[2]}" = $'+OK 0 messages\r' ]
}

@test "usage: fewer than three arguments is 100; a HOST over 255 bytes is 111" {
	run -100 --separate-stderr pop3-auth "$HOST" vcheckpassword </dev/null
	[ "$stderr" = 'pop3-auth: fatal: usage: pop3-auth HOST CHECKPROGRAM SUBPROGRAM [ARG...]' ]
	run -0 pop3-auth "$(printf '%255s' '' | tr ' ' h)" a b </dev/null
	run -111 --separate-stderr pop3-auth "$(printf '%256s' '' | tr ' ' h)" a b </dev/null
	[ "$stderr" = 'pop3-auth: fatal: HOST longer than 255 bytes' ]
}
