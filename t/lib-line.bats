# t/lib-line.bats -- src/lib/line: the bounded line reader (driver: test-line)
load helpers/common

@test "lines ending in LF: the LF is removed" {
	run -0 test-line getline 100 < <(printf 'hello\nworld\n')
	[ "$output" = "$(printf 'ok 5 hello\nok 5 world\neof')" ]
}

@test "lines ending in CRLF: the CR is kept in the line" {
	run -0 test-line getline 100 < <(printf 'MAIL FROM:<a@b>\r\nQUIT\r\n')
	[ "$output" = "$(printf 'ok 16 MAIL FROM:<a@b>\\x0d\nok 5 QUIT\\x0d\neof')" ]
}

@test "an empty line is a line of length 0" {
	run -0 test-line getline 100 < <(printf '\n\r\nx\n')
	[ "$output" = "$(printf 'ok 0 \nok 1 \\x0d\nok 1 x\neof')" ]
}

@test "empty input is EOF at once" {
	run -0 test-line getline 100 </dev/null
	[ "$output" = eof ]
}

@test "a line exactly at the limit (max counts the LF) is read" {
	# max 5: four bytes and the LF
	run -0 test-line getline 5 < <(printf 'abcd\n')
	[ "$output" = "$(printf 'ok 4 abcd\neof')" ]
	# the CR of a CRLF line counts too
	run -0 test-line getline 5 < <(printf 'abc\r\n')
	[ "$output" = "$(printf 'ok 4 abc\\x0d\neof')" ]
}

@test "one byte over the limit is TOOLONG, and the next line is still read whole" {
	run -0 test-line getline 5 < <(printf 'abcde\nxyz\nabcd\n')
	[ "$output" = "$(printf 'toolong\nok 3 xyz\nok 4 abcd\neof')" ]
}

@test "a limit of 1 takes only empty lines" {
	run -0 test-line getline 1 < <(printf '\na\n\n')
	[ "$output" = "$(printf 'ok 0 \ntoolong\nok 0 \neof')" ]
}

@test "a long line over several buffer fills is TOOLONG; the lines around it are exact" {
	{
		printf 'before\n'
		head -c 100000 /dev/zero | tr '\0' a
		printf '\nafter\n'
	} >in
	run -0 test-line getline 1000 <in
	[ "$output" = "$(printf 'ok 6 before\ntoolong\nok 5 after\neof')" ]
}

@test "a line longer than the read buffer but under the limit is read whole" {
	head -c 20000 /dev/zero | tr '\0' b >in
	printf '\n' >>in
	run -0 test-line getline 20001 <in
	[ "${lines[0]}" = "ok 20000 $(head -c 20000 /dev/zero | tr '\0' b)" ]
	[ "${lines[1]}" = eof ]
	run -0 test-line getline 20000 <in
	[ "$output" = "$(printf 'toolong\neof')" ]
}

@test "EOF inside a line is PARTIAL, with the bytes read" {
	run -0 test-line getline 100 < <(printf 'one\ntwo')
	[ "$output" = "$(printf 'ok 3 one\npartial 3 two\neof')" ]
}

@test "2 MB without a newline is TOOLONG, without a crash and without a cut line" {
	head -c 2000000 /dev/zero | tr '\0' z >in
	run -0 test-line getline 1000 <in
	[ "$output" = "$(printf 'toolong\neof')" ]
}

@test "EOF inside an over-long line is TOOLONG, never a truncated PARTIAL" {
	run -0 test-line getline 5 < <(printf 'ok\nabcdefgh')
	[ "$output" = "$(printf 'ok 2 ok\ntoolong\neof')" ]
	# just at the limit: 4 bytes need 5 with the NUL, so that is PARTIAL
	run -0 test-line getline 5 < <(printf 'abcd')
	[ "$output" = "$(printf 'partial 4 abcd\neof')" ]
	run -0 test-line getline 5 < <(printf 'abcde')
	[ "$output" = "$(printf 'toolong\neof')" ]
}

@test "a NUL byte inside a line is kept, and counted in its length" {
	run -0 test-line getline 100 < <(printf 'a\0b\n\0\n')
	[ "$output" = "$(printf 'ok 3 a\\x00b\nok 1 \\x00\neof')" ]
}

@test "8-bit bytes pass unchanged" {
	run -0 test-line getline 100 < <(printf '\xff\xe9\x80\n')
	[ "$output" = "$(printf 'ok 3 \\xff\\xe9\\x80\neof')" ]
}

@test "a silent writer: TIMEOUT after the deadline" {
	mkfifo p
	exec 7<>p
	start=$(date +%s%N)
	run -0 test-line getline 100 300 <&7
	end=$(date +%s%N)
	exec 7<&-
	[ "$output" = timeout ]
	ms=$(( (end - start) / 1000000 ))
	[ "$ms" -ge 290 ]
	[ "$ms" -lt 5000 ]
}

@test "a writer that goes silent inside a line: the lines before, then TIMEOUT" {
	mkfifo p
	exec 7<>p
	printf 'HELO x\r\nMAIL FR' >&7
	run -0 test-line getline 100 300 <&7
	exec 7<&-
	[ "$output" = "$(printf 'ok 7 HELO x\\x0d\ntimeout')" ]
}

@test "a slow writer within the deadline is waited for" {
	mkfifo p
	exec 7<>p
	( printf 'ab' >&7; sleep 0.2; printf 'c\n' >&7; sleep 0.2; printf 'd\n' >&7 ) &
	run -0 test-line getline 100 2000 <&7
	wait
	exec 7<&-
	# both lines, then the deadline on the idle pipe
	[ "$output" = "$(printf 'ok 3 abc\nok 1 d\ntimeout')" ]
}

@test "no deadline (-1) waits for the data" {
	run -0 bash -c '{ sleep 0.3; printf "late\n"; } | test-line getline 100 -1'
	[ "$output" = "$(printf 'ok 4 late\neof')" ]
}

@test "getc: bytes one by one, EOF, and what is left buffered" {
	run -0 test-line getc 2 < <(printf 'abc')
	[ "$output" = "$(printf 'c 61\nc 62\npending 1')" ]
	run -0 test-line getc 5 < <(printf 'a\0')
	[ "$output" = "$(printf 'c 61\nc 00\neof\neof\neof\npending 0')" ]
}
