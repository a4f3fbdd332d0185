# t/lib-addr.bats -- src/lib/addr: SMTP paths and addresses (driver: test-addr)
load helpers/common

# parses PATH EXPECTED-OUTPUT: test-addr parse gives exactly that line,
# with exit 0 for "ok ..." and 1 for "err ...".
parses() {
	local want_status=0

	[[ "$2" == err* ]] && want_status=1
	run test-addr parse "$1"
	if [ "$status" -ne "$want_status" ] || [ "$output" != "$2" ]; then
		printf 'parse %q\n  got:  %s (exit %s)\n  want: %s\n' \
		    "$1" "$output" "$status" "$2"
		return 1
	fi
}

# rep N CHAR: CHAR repeated N times
rep() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

@test "parse: <a@b.c>, with and without ESMTP parameters" {
	parses '<a@b.c>' 'ok a@b.c||routed=0'
	parses '<a@b.c> SIZE=10' 'ok a@b.c| SIZE=10|routed=0'
	parses '<a@b.c> SIZE=10 BODY=8BITMIME' 'ok a@b.c| SIZE=10 BODY=8BITMIME|routed=0'
	parses '   <a@b.c>' 'ok a@b.c||routed=0'
	parses '<First.Last+tag@Example.COM>' 'ok First.Last+tag@Example.COM||routed=0'
}

@test "parse: <> is the null path" {
	parses '<>' 'ok ||routed=0'
	parses '<> SIZE=5' 'ok | SIZE=5|routed=0'
}

@test "parse: a bare address without brackets" {
	parses 'a@b.c' 'ok a@b.c||routed=0'
	parses 'a@b.c SIZE=1' 'ok a@b.c| SIZE=1|routed=0'
	parses 'postmaster' 'ok postmaster||routed=0'
}

@test "parse: nothing at all is not a path (the null path needs its brackets)" {
	parses '' 'err syntax'
	parses '   ' 'err syntax'
}

@test "parse: a quoted local part loses its quotes" {
	parses '<"a b"@c.d>' 'ok a b@c.d||routed=0'
	parses '<"a\"b"@c.d>' 'ok a"b@c.d||routed=0'
	parses '<"a\\b"@c.d>' 'ok a\b@c.d||routed=0'
	parses '<"a>b"@c.d> X=1' 'ok a>b@c.d| X=1|routed=0'
}

@test "parse: a quoted local part must be followed by @, and closed" {
	parses '<"a"b@c.d>' 'err syntax'
	parses '<"a b@c.d>' 'err syntax'
	parses '<"a"@c.d' 'err syntax'
	parses '<"a\' 'err syntax'
}

@test "parse: a source route sets routed=1 and is dropped" {
	parses '<@x.y,@z.w:a@b.c>' 'ok a@b.c||routed=1'
	parses '<@x.y:a@b.c>' 'ok a@b.c||routed=1'
	parses '<@[1.2.3.4]:a@b.c>' 'ok a@b.c||routed=1'
	parses '@x.y:a@b.c' 'ok a@b.c||routed=1'
}

@test "parse: a malformed source route is a syntax error" {
	parses '<@x.y,a@b.c>' 'err syntax'
	parses '<@x.y;a@b.c>' 'err syntax'
	parses '<@,@z:a@b.c>' 'err syntax'
	parses '<@x.y,z.w:a@b.c>' 'err syntax'
}

@test "parse: a local part without a domain is OK (<postmaster>)" {
	parses '<postmaster>' 'ok postmaster||routed=0'
	parses '<Postmaster> SIZE=1' 'ok Postmaster| SIZE=1|routed=0'
}

@test "parse: domain literals, IPv4 and IPv6" {
	parses '<a@[127.0.0.1]>' 'ok a@[127.0.0.1]||routed=0'
	parses '<a@[IPv6:::1]>' 'ok a@[IPv6:::1]||routed=0'
	parses '<a@[IPv6:2001:db8::1]>' 'ok a@[IPv6:2001:db8::1]||routed=0'
}

@test "parse: malformed domain literals" {
	parses '<a@[]>' 'err syntax'
	parses '<a@[1.2.3.4>' 'err syntax'
	parses '<a@[1.2]3]>' 'err syntax'
	parses '<a@x[1.2.3.4]>' 'err syntax'
	parses '<a[b@c.d>' 'err syntax'
	parses '<a:b@c.d>' 'err syntax'
}

@test "parse: a missing '>' is a syntax error" {
	parses '<a@b.c' 'err syntax'
	parses '<a@b.c SIZE=10' 'err syntax'
	parses '<' 'err syntax'
	parses '<postmaster' 'err syntax'
}

@test "parse: an empty local part is a syntax error" {
	parses '<@b.c>' 'err syntax'
	parses '@b.c' 'err syntax'
	parses '<""@b.c>' 'err syntax'
}

@test "parse: bad domains are syntax errors" {
	parses '<a@b..c>' 'err syntax'
	parses '<a@.b>' 'err syntax'
	parses '<a@b_c.d>' 'err syntax'
	parses '<a@b.c.>' 'err syntax'
	parses '<a@>' 'err syntax'
	parses '<a@b,c>' 'err syntax'
	parses '<a@b c>' 'err syntax'
	parses '<a@b@>' 'err syntax'
}

@test "parse: hyphens may stand inside a label" {
	parses '<a@mx-1.ex-ample.org>' 'ok a@mx-1.ex-ample.org||routed=0'
}

@test "parse: specials in an unquoted local part are syntax errors" {
	parses '<a b@c.d>' 'err syntax'
	parses '<a(b)@c.d>' 'err syntax'
	parses '<a,b@c.d>' 'err syntax'
	parses '<a;b@c.d>' 'err syntax'
	parses '<a<b@c.d>' 'err syntax'
	parses '<a\b@c.d>' 'err syntax'
}

@test "parse: a label of 63 bytes is OK, 64 is not" {
	parses "<a@$(rep 63 x).com>" "ok a@$(rep 63 x).com||routed=0"
	parses "<a@$(rep 64 x).com>" 'err syntax'
	parses "<a@b.$(rep 64 y)>" 'err syntax'
}

@test "domain_valid: a domain of 255 bytes is OK, 256 is not" {
	l=$(rep 63 d)
	d255="$l.$l.$l.$l"
	[ "${#d255}" -eq 255 ]
	run -0 test-addr domain-valid "$d255"
	[ "$output" = 1 ]
	run -0 test-addr domain-valid "$d255.e"
	[ "$output" = 0 ]
	run -0 test-addr domain-valid "x$d255"
	[ "$output" = 0 ]
}

@test "domain_valid: labels, dots and literals" {
	for d in example.org a b-c.d 1.2.3.4 '[1.2.3.4]' '[IPv6:::1]'; do
		run -0 test-addr domain-valid "$d"
		[ "$output" = 1 ] || { echo "$d: $output"; return 1; }
	done
	for d in '' . a. .a a..b a_b 'a b' '[]' '[x' 'x]' '[a]b]' '[a b]' \
	    "$(rep 64 q)" "$(printf 'a\001b')" "$(printf 'caf\351.fr')"; do
		run -0 test-addr domain-valid "$d"
		[ "$output" = 0 ] || { echo "'$d': $output"; return 1; }
	done
}

@test "parse: a path of 256 bytes (brackets included) is OK, 257 is TOOLONG" {
	p256="<$(rep 250 u)@b.c>"
	[ "${#p256}" -eq 256 ]
	parses "$p256" "ok $(rep 250 u)@b.c||routed=0"
	p257="<$(rep 251 u)@b.c>"
	parses "$p257" 'err toolong'
	# without brackets the same limit holds for the bare address
	parses "$(rep 253 u)@b.c" 'err toolong'
}

@test "parse: a path far over the limit is TOOLONG, without a crash" {
	parses "<$(rep 5000 u)@b.c>" 'err toolong'
	parses "<\"$(rep 5000 u)\"@b.c>" 'err toolong'
}

@test "parse: a source route counts toward the 256 bytes" {
	parses "<@$(rep 200 r).net:$(rep 48 u)@b.c>" 'err toolong'
	parses "<@$(rep 20 r).net:$(rep 48 u)@b.c>" "ok $(rep 48 u)@b.c||routed=1"
}

@test "parse: an address that does not fit the caller's buffer is TOOLONG" {
	run -1 test-addr parse '<abcdef@b.c>' 5
	[ "$output" = 'err toolong' ]
	# 10 bytes and the NUL fit in 11
	run -0 test-addr parse '<abcdef@b.c>' 11
	[ "$output" = 'ok abcdef@b.c||routed=0' ]
	run -1 test-addr parse '<abcdef@b.c>' 10
	[ "$output" = 'err toolong' ]
	run -1 test-addr parse '<"abcdef"@b.c>' 4
	[ "$output" = 'err toolong' ]
}

@test "parse: control characters are BADCHAR" {
	parses "$(printf '<a\001b@c.d>')" 'err badchar'
	parses "$(printf '<a\tb@c.d>')" 'err badchar'
	parses "$(printf '<a@c.d\177>')" 'err badchar'
	parses "$(printf '<a\rb@c.d>')" 'err badchar'
	parses "$(printf '<"a\001b"@c.d>')" 'err badchar'
	parses "$(printf '<"a\\\001b"@c.d>')" 'err badchar'
	parses "$(printf '<a@b.c\033>')" 'err badchar'
}

@test "parse: \"user@host\"@d is parsed first, then spotted as routing" {
	parses '<"user@host"@d>' 'ok user@host@d||routed=0'
	run -0 test-addr routing 'user@host@d'
	[ "$output" = 1 ]
	run -0 test-addr domain 'user@host@d'
	[ "$output" = d ]
}

@test "parse: user@host@d parses, its domain is the last part" {
	parses '<user@host@d>' 'ok user@host@d||routed=0'
}

@test "addr_has_routing: % ! and @ in the local part" {
	for a in 'user%host@d' 'host!user@d' 'user@host@d' 'a%b' 'x!y' \
	    'u%h@other.net'; do
		run -0 test-addr routing "$a"
		[ "$output" = 1 ] || { echo "$a: $output"; return 1; }
	done
}

@test "addr_has_routing: not for plain addresses" {
	for a in 'user@d' 'postmaster' 'first.last+ext@d' 'u@d%x' 'u@d!x' ''; do
		run -0 test-addr routing "$a"
		[ "$output" = 0 ] || { echo "$a: $output"; return 1; }
	done
}

@test "addr_domain: after the last @, none without one" {
	run -0 test-addr domain 'a@b.c'
	[ "$output" = b.c ]
	run -0 test-addr domain 'postmaster'
	[ "$output" = '(none)' ]
	run -0 test-addr domain 'a@'
	[ "$output" = '' ]
	run -0 test-addr domain '@x'
	[ "$output" = x ]
}

@test "is_clean: printable text and 8-bit bytes are clean" {
	for s in 'abc' 'a b' '~!#$%' "$(printf 'caf\351')" "$(printf '\200\377')"; do
		run -0 test-addr clean "$s"
		[ "$output" = 1 ] || { echo "'$s': $output"; return 1; }
	done
	run -0 test-addr clean - </dev/null
	[ "$output" = 1 ]
}

@test "is_clean: control characters, DEL and NUL are not" {
	for s in "$(printf 'a\tb')" "$(printf 'a\rb')" "$(printf 'a\001')" \
	    "$(printf '\177')" "$(printf '\037x')"; do
		run -0 test-addr clean "$s"
		[ "$output" = 0 ] || { echo "'$s': $output"; return 1; }
	done
	run -0 test-addr clean - < <(printf 'a\nb')
	[ "$output" = 0 ]
	run -0 test-addr clean - < <(printf 'ab\0cd')
	[ "$output" = 0 ]
	run -0 test-addr clean - < <(printf 'abcd')
	[ "$output" = 1 ]
}

@test "parse: a label may hold a hyphen inside, never at either end" {
	run -0 test-addr parse '<a@x-y.example>'
	[ "$output" = 'ok a@x-y.example||routed=0' ]
	run -1 test-addr parse '<a@-x.example>'
	[ "$output" = 'err syntax' ]
	run -1 test-addr parse '<a@x-.example>'
	[ "$output" = 'err syntax' ]
	run -1 test-addr parse '<a@example.x->'
	[ "$output" = 'err syntax' ]
}

@test "quote: a dot-atom local part stays as it is; any other is quoted, so that nothing in it ends the path" {
	run -0 test-addr quote 'jane.doe+tag@example.com'
	[ "$output" = 'jane.doe+tag@example.com' ]
	run -0 test-addr quote ''
	[ "$output" = '' ]
	run -0 test-addr quote 'postmaster'
	[ "$output" = 'postmaster' ]
	run -0 test-addr quote 'a> RET=HDRS ENVID=zz@evil.com'
	[ "$output" = '"a> RET=HDRS ENVID=zz"@evil.com' ]
	run -0 test-addr quote 'say "hi"\x@example.com'
	[ "$output" = '"say \"hi\"\\x"@example.com' ]
	run -0 test-addr quote '.lead@example.com'
	[ "$output" = '".lead"@example.com' ]
	run -0 test-addr quote 'a..b@example.com'
	[ "$output" = '"a..b"@example.com' ]
	run -0 test-addr quote 'trail.@example.com'
	[ "$output" = '"trail."@example.com' ]
	# the last '@' is the domain's: one in a quoted local part stays in it
	run -0 test-addr quote 'a@b@example.com'
	[ "$output" = '"a@b"@example.com' ]
	# the worst case fits: every byte of 1000 escaped
	run -0 test-addr quote "$(printf '"%.0s' $(seq 1000))"
	[ "${#output}" -eq 2002 ]
}
