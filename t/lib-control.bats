# t/lib-control.bats -- src/lib/control: the root and control files (driver: test-control)
load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	mkdir -p root/control
	export VDMAIL_ROOT=$T/root
	C=$T/root/control
}

@test "list: comments and blank lines dropped, space around entries trimmed" {
	printf '# a comment\n\n  example.org  \n\t\nmx.example.net\t\n   # indented comment\nlast' >"$C/rcpthosts"
	run -0 test-control list rcpthosts
	[ "$output" = "$(printf 'r=1 n=3\n[example.org]\n[mx.example.net]\n[last]')" ]
}

@test "list: space inside an entry is kept, a '#' after text is not a comment" {
	printf 'a b\tc\nx # y\n' >"$C/me"
	run -0 test-control list me
	[ "$output" = "$(printf 'r=1 n=2\n[a b\tc]\n[x # y]')" ]
}

@test "list: CRLF line ends are trimmed like other space" {
	printf 'one\r\ntwo\r\n' >"$C/crlf"
	run -0 test-control list crlf
	[ "$output" = "$(printf 'r=1 n=2\n[one]\n[two]')" ]
}

@test "list: fold lowercases, without fold the case is kept" {
	printf 'Example.ORG\nMX.Example.Net\n' >"$C/rcpthosts"
	run -0 test-control list rcpthosts fold
	[ "$output" = "$(printf 'r=1 n=2\n[example.org]\n[mx.example.net]')" ]
	run -0 test-control list rcpthosts
	[ "$output" = "$(printf 'r=1 n=2\n[Example.ORG]\n[MX.Example.Net]')" ]
}

@test "list: an entry with a NUL byte is dropped, the others kept" {
	printf 'good\nba\0d\nalso\n' >"$C/nul"
	run -0 test-control list nul
	[ "$output" = "$(printf 'r=1 n=2\n[good]\n[also]')" ]
}

@test "list: a missing file is the default: status 0, no entries" {
	run -0 test-control list nosuchfile
	[ "$output" = 'r=0 n=0' ]
}

@test "list: an empty file and a file of comments exist but hold nothing" {
	: >"$C/empty"
	run -0 test-control list empty
	[ "$output" = 'r=1 n=0' ]
	printf '#x\n\n  \n' >"$C/comments"
	run -0 test-control list comments
	[ "$output" = 'r=1 n=0' ]
}

@test "list: a directory where the file should be is an error (-1, EISDIR)" {
	mkdir "$C/rcpthosts"
	run -1 test-control list rcpthosts
	[ "$output" = 'r=-1 21 Is a directory' ]
	run -1 test-control line rcpthosts default
	[ "$output" = 'r=-1 21 Is a directory' ]
	run -1 test-control ulong rcpthosts 5
	[ "$output" = 'r=-1 21 Is a directory' ]
}

@test "list: a missing control directory is the default too" {
	rmdir "$C"
	run -0 test-control list me
	[ "$output" = 'r=0 n=0' ]
}

@test "list: a file of exactly 8 MiB is read, one byte more is refused (EFBIG)" {
	# 8 MiB of "abc\n": 2097152 entries
	yes abc | head -c 8388608 >"$C/big"
	run -0 test-control count big
	[ "$output" = 'r=1 n=2097152' ]
	printf 'x' >>"$C/big"
	run -1 test-control count big
	[ "$output" = 'r=-1 27 File too large' ]
}

@test "list: many entries (past any initial capacity) all arrive in order" {
	seq 1 5000 >"$C/many"
	run -0 test-control list many
	[ "${lines[0]}" = 'r=1 n=5000' ]
	[ "${lines[1]}" = '[1]' ]
	[ "${lines[2500]}" = '[2500]' ]
	[ "${lines[5000]}" = '[5000]' ]
}

@test "line: the first entry, or the default when missing or empty" {
	printf '# greeting\n\n  mx.example.net  \nsecond\n' >"$C/me"
	run -0 test-control line me dflt
	[ "$output" = 'r=1 [mx.example.net]' ]
	run -0 test-control line missing dflt
	[ "$output" = 'r=0 [dflt]' ]
	printf '# nothing\n' >"$C/blank"
	run -0 test-control line blank dflt
	[ "$output" = 'r=0 [dflt]' ]
}

@test "line: a value that does not fit the caller's buffer is an error" {
	head -c 300 /dev/zero | tr '\0' a >"$C/long"
	run -1 test-control line long x
	[ "$output" = 'r=-1 36 File name too long' ]
	head -c 255 /dev/zero | tr '\0' a >"$C/fits"
	run -0 test-control line fits x
	[ "$output" = "r=1 [$(head -c 255 /dev/zero | tr '\0' a)]" ]
}

@test "ulong: a number, trimmed; missing or empty gives the default" {
	printf '  42 \n' >"$C/databytes"
	run -0 test-control ulong databytes 7
	[ "$output" = 'r=1 42' ]
	run -0 test-control ulong missing 7
	[ "$output" = 'r=0 7' ]
	: >"$C/empty"
	run -0 test-control ulong empty 7
	[ "$output" = 'r=0 7' ]
	printf '0\n' >"$C/zero"
	run -0 test-control ulong zero 7
	[ "$output" = 'r=1 0' ]
}

@test "ulong: a non-number is an error (EINVAL), never the default" {
	for v in abc 12abc 1.5 -1 '+3' '0x10' '1 2'; do
		printf '%s\n' "$v" >"$C/n"
		run -1 test-control ulong n 7
		[ "$output" = 'r=-1 22 Invalid argument' ] || {
			echo "value '$v' gave: $output"
			return 1
		}
	done
}

@test "ulong: a number out of range is an error (ERANGE)" {
	printf '99999999999999999999999999\n' >"$C/n"
	run -1 test-control ulong n 7
	[ "$output" = 'r=-1 34 Numerical result out of range' ]
}

@test "root: VDMAIL_ROOT when absolute" {
	VDMAIL_ROOT=/some/where run -0 test-control root
	[ "$output" = /some/where ]
	VDMAIL_ROOT=/some/where run -0 test-control rootpath queue
	[ "$output" = /some/where/queue ]
}

@test "root: unset, empty or relative VDMAIL_ROOT uses the built-in default" {
	unset VDMAIL_ROOT
	run -0 test-control root
	default=$output
	[[ "$default" == /* ]]
	VDMAIL_ROOT=relative/dir run -0 test-control root
	[ "$output" = "$default" ]
	VDMAIL_ROOT='' run -0 test-control root
	[ "$output" = "$default" ]
	VDMAIL_ROOT=./x run -0 test-control root
	[ "$output" = "$default" ]
}

@test "libexec: VDMAIL_LIBEXEC when absolute, else the built-in default" {
	VDMAIL_LIBEXEC=/x/libexec run -0 test-control libexec
	[ "$output" = /x/libexec ]
	unset VDMAIL_LIBEXEC
	run -0 test-control libexec
	default=$output
	[[ "$default" == /* ]]
	VDMAIL_LIBEXEC=libexec run -0 test-control libexec
	[ "$output" = "$default" ]
}

@test "root_path: a path that does not fit is ENAMETOOLONG, not cut" {
	run -1 test-control rootpath "$(head -c 80 /dev/zero | tr '\0' q)"
	[ "$output" = 'r=-1 36 File name too long' ]
}
