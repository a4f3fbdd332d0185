# t/lib-die.bats -- src/lib/die: the one shape of diagnostics (driver: test-die)
load helpers/common

@test "die: 'prog: fatal: what' on stderr, nothing on stdout, the code passed through" {
	run -3 --separate-stderr test-die -p prog fatal 3 what
	[ "$output" = '' ]
	[ "$stderr" = 'prog: fatal: what' ]
}

@test "die: exit codes 0, 100 and 111 pass through unchanged" {
	run -0 --separate-stderr test-die fatal 0 'done'
	[ "$stderr" = 'test-die: fatal: done' ]
	run -100 --separate-stderr test-die fatal 100 'permanent'
	[ "$stderr" = 'test-die: fatal: permanent' ]
	run -111 --separate-stderr test-die fatal 111 'temporary'
	[ "$stderr" = 'test-die: fatal: temporary' ]
}

@test "die: the line ends in exactly one newline" {
	test-die -p prog fatal 7 'what' 2>err || [ $? -eq 7 ]
	printf 'prog: fatal: what\n' >want
	cmp err want
}

@test "die_sys: appends the errno text of the call that failed" {
	run -111 --separate-stderr test-die -p prog sys 111 "$T/missing"
	[ "$output" = '' ]
	[ "$stderr" = "prog: fatal: open $T/missing: No such file or directory" ]
}

@test "die_sys: another errno gives its own text" {
	mkdir d
	: >d/file
	run -100 --separate-stderr test-die sys 100 "$T/d/file/x"
	[ "$stderr" = "test-die: fatal: open $T/d/file/x: Not a directory" ]
}

@test "warn: 'prog: warning: ...' and the program goes on" {
	run -0 --separate-stderr test-die -p prog warn 'disk nearly full'
	[ "$stderr" = 'prog: warning: disk nearly full' ]
	[ "$output" = 'after' ]
}

@test "warn_sys: appends the errno text and leaves errno as it was" {
	run -0 --separate-stderr test-die -p prog warnsys 2 'stat x'
	[ "$stderr" = 'prog: warning: stat x: No such file or directory' ]
	[ "$output" = 'errno=2' ]
	run -0 --separate-stderr test-die -p prog warnsys 13 'open y'
	[ "$stderr" = 'prog: warning: open y: Permission denied' ]
	[ "$output" = 'errno=13' ]
}

@test "usage: 'prog: fatal: usage: prog SYNOPSIS' and exit 100" {
	run -100 --separate-stderr test-die -p prog usage '[-n] dir'
	[ "$output" = '' ]
	[ "$stderr" = 'prog: fatal: usage: prog [-n] dir' ]
}

@test "a 5000-byte message is cut to one line that still ends in a newline" {
	test-die -p prog long 111 5000 2>err || [ $? -eq 111 ]
	# exactly one line, ending in a newline, and shorter than the message
	[ "$(wc -l <err)" -eq 1 ]
	[ "$(tail -c 1 err | od -An -tx1 | tr -d ' ')" = 0a ]
	size=$(wc -c <err)
	[ "$size" -gt 512 ]
	[ "$size" -le 1024 ]
	# its start is the usual prefix followed by the message's bytes
	[ "$(head -c 13 err)" = 'prog: fatal: ' ]
	[ "$(head -n 1 err | tail -c +14 | tr -d x)" = '' ]
}

@test "a message that just fits is not cut" {
	# "p: fatal: " is 10 bytes; with 1000 x's and the newline: 1011 bytes
	test-die -p p long 1 1000 2>err || [ $? -eq 1 ]
	[ "$(wc -c <err)" -eq 1011 ]
	[ "$(wc -l <err)" -eq 1 ]
}

@test "each diagnostic is one write(2)" {
	command -v strace >/dev/null || skip 'no strace'
	strace -o /dev/null true 2>/dev/null || skip 'strace cannot trace here'
	strace -s 8192 -e trace=write -o trace test-die -p prog long 111 3000 2>err ||
	    [ $? -eq 111 ]
	[ "$(grep -c '^write(2,' trace)" -eq 1 ]
	strace -s 8192 -e trace=write -o trace test-die -p prog sys 111 "$T/missing" \
	    2>err || [ $? -eq 111 ]
	[ "$(grep -c '^write(2,' trace)" -eq 1 ]
	grep -q 'No such file or directory\\n", ' trace
}
