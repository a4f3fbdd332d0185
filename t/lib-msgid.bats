# t/lib-msgid.bats -- src/lib/msgid: message identities (driver: test-msgid)
load helpers/common

ID_RE='^[0-9]+\.[a-km-np-z2-9]{16}$'

@test "the alphabet: 32 distinct characters, no look-alikes (l, o, 0, 1), no '/' or '.'" {
	run -0 test-msgid alphabet
	[ "$output" = abcdefghijkmnpqrstuvwxyz23456789 ]
	[ "${#output}" -eq 32 ]
	[ "$(fold -w1 <<<"$output" | sort -u | wc -l)" -eq 32 ]
	[[ "$output" =~ ^[a-km-np-z2-9]+$ ]]
}

@test "1000 fresh ids are unique, valid and of the documented form" {
	test-msgid new 1000 >ids
	[ "$(wc -l <ids)" -eq 1000 ]
	[ "$(sort -u ids | wc -l)" -eq 1000 ]
	[ "$(grep -Evc "$ID_RE" ids)" -eq 0 ]
	while read -r id; do
		test-msgid valid "$id" >/dev/null || { echo "invalid: $id"; return 1; }
	done <ids
}

@test "ids from many processes are unique too" {
	for _ in $(seq 50); do
		test-msgid new 20 >>ids &
	done
	wait
	[ "$(wc -l <ids)" -eq 1000 ]
	[ "$(sort -u ids | wc -l)" -eq 1000 ]
}

@test "the random part uses the whole alphabet" {
	test-msgid new 1000 | cut -d. -f2 | fold -w1 | sort -u >chars
	[ "$(wc -l <chars)" -eq 32 ]
}

@test "the number before the dot is the time in seconds" {
	before=$(date +%s)
	id=$(test-msgid new)
	after=$(date +%s)
	t=${id%%.*}
	[ "$t" -ge "$before" ]
	[ "$t" -le "$after" ]
}

@test "bucket: the last character of the id" {
	run -0 test-msgid bucket 1764074000.q3f8a2k9d0b1m4c7
	[ "$output" = 7 ]
	for id in $(test-msgid new 50); do
		b=$(test-msgid bucket "$id")
		[ "$b" = "${id: -1}" ]
	done
}

@test "bucket: always one of the 32 queue buckets" {
	test-msgid new 500 | while read -r id; do test-msgid bucket "$id"; done |
	    sort -u >buckets
	# 500 random ids fill every bucket (all but surely), and an empty
	# list would check nothing
	[ "$(wc -l <buckets)" -eq 32 ]
	alphabet=$(test-msgid alphabet)
	while read -r b; do
		[[ "$alphabet" == *"$b"* ]] || { echo "bucket $b"; return 1; }
	done <buckets
}

@test "valid: well-formed ids" {
	for id in 1764074000.abcdefghijkmnpqr 0.2222222222222222 \
	    123456789012.zzzzzzzzzzzzzzzz 1.23456789abcdefgh; do
		run -0 test-msgid valid "$id"
		[ "$output" = valid ] || { echo "$id: $output"; return 1; }
	done
}

@test "valid: malformed ids are refused" {
	for id in '' 1764074000 .abcdefghijkmnpqr 1764074000. \
	    1764074000abcdefghijkmnpqr \
	    1764074000.abcdefghijkmnpq \
	    1764074000.abcdefghijkmnpqrs \
	    1764074000.abcdefgh/ijkmnpq \
	    1764074000.abcdefgh..kmnpqr \
	    ../../../../etc/passwd \
	    1764074000./bcdefghijkmnpqr \
	    1764074000.abcdefghijkmnpq/ \
	    1764074000.abcdefghijklmnpq \
	    1764074000.abcdefghijkmnpq0 \
	    1764074000.abcdefghijkmnpq1 \
	    1764074000.ABCDEFGHIJKMNPQR \
	    '1764074000.abcdefghijkmn qr' \
	    -1.abcdefghijkmnpqr \
	    1234567890123.abcdefghijkmnpqr \
	    1.2.abcdefghijkmnpqr \
	    x1.abcdefghijkmnpqr; do
		run -1 test-msgid valid "$id"
		[ "$output" = invalid ] || { echo "'$id': $output"; return 1; }
	done
}
