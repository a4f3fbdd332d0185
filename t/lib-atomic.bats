# t/lib-atomic.bats -- src/lib/atomic: durable replacement of a file (driver: test-atomic)
load helpers/common

@test "writes the file with the exact bytes and mode" {
	umask 022
	mkdir d
	printf 'line one\n\0binary\377\r\nno newline' >want
	test-atomic write "$T/d/f" 640 <want
	cmp want d/f
	[ "$(stat -c %a d/f)" = 640 ]
	test-atomic write "$T/d/g" 600 <want
	[ "$(stat -c %a d/g)" = 600 ]
	test-atomic write "$T/d/h" <want
	[ "$(stat -c %a d/h)" = 644 ]
}

@test "an empty file and a large file" {
	mkdir d
	test-atomic write "$T/d/empty" </dev/null
	[ -f d/empty ]
	[ ! -s d/empty ]
	head -c 3000000 /dev/urandom >want
	test-atomic write "$T/d/big" <want
	cmp want d/big
}

@test "replaces an existing file: new bytes, new mode, a new inode" {
	umask 022
	mkdir d
	printf 'old contents, longer than the new\n' >d/f
	chmod 600 d/f
	ln d/f old-link		# keeps the old inode reachable
	printf 'new\n' | test-atomic write "$T/d/f" 644
	[ "$(cat d/f)" = new ]
	[ "$(stat -c %a d/f)" = 644 ]
	# rename, not an overwrite in place: the old inode is untouched
	[ "$(cat old-link)" = 'old contents, longer than the new' ]
	[ "$(stat -c %i d/f)" != "$(stat -c %i old-link)" ]
}

@test "leaves no temporary file behind on success" {
	mkdir d
	for i in 1 2 3; do
		printf '%s\n' "$i" | test-atomic write "$T/d/f"
	done
	[ "$(ls -A d)" = f ]
	[ "$(cat d/f)" = 3 ]
}

@test "a relative path without a directory part writes in the working directory" {
	mkdir d
	cd d
	printf 'here\n' | test-atomic write f
	[ "$(cat f)" = here ]
	[ "$(ls -A)" = f ]
}

@test "a stale temporary file left by a crash (same pid) does not block the write" {
	mkdir d
	# the shell's pid is the writer's pid after exec: plant its temporary
	# name first, as a crash of an earlier process with that pid would
	printf 'new\n' >want
	sh -c 'printf "stale half-writ" >"d/f.tmp$$"
exec test-atomic write d/f <want'
	cmp want d/f
	[ "$(ls -A d)" = f ]
}

@test "the target's directory is missing: fails with ENOENT and leaves nothing" {
	mkdir d
	run -1 --separate-stderr test-atomic write "$T/d/missing/f" <<<'data'
	[ "$stderr" = 'test-atomic: 2 No such file or directory' ]
	[ -z "$(ls -A d)" ]
	[ ! -e d/missing ]
}

@test "a directory where the file should be: fails and leaves no temporary file" {
	mkdir -p d/f
	run -1 --separate-stderr test-atomic write "$T/d/f" <<<'data'
	[[ "$stderr" == 'test-atomic: 21 '* ]]
	[ "$(ls -A d)" = f ]
	[ -d d/f ]
	[ -z "$(ls -A d/f)" ]
}

@test "a path too long for the temporary name fails cleanly" {
	mkdir d
	long=$T/d/$(head -c 5000 /dev/zero | tr '\0' n)
	run -1 --separate-stderr test-atomic write "$long" <<<'data'
	[ "$stderr" = 'test-atomic: 36 File name too long' ]
	[ -z "$(ls -A d)" ]
}

@test "a reader never sees a mix of the old and the new contents" {
	mkdir d
	head -c 200000 /dev/zero | tr '\0' A >a
	head -c 300000 /dev/zero | tr '\0' B >b
	test-atomic write "$T/d/f" <a
	(
		for i in $(seq 40); do
			test-atomic write "$T/d/f" <b || exit 1
			test-atomic write "$T/d/f" <a || exit 1
		done
	) &
	writer=$!
	python3 - "$T/d/f" <<'EOF'
import sys
a = b'A' * 200000
b = b'B' * 300000
for _ in range(2000):
    with open(sys.argv[1], 'rb') as f:
        data = f.read()
    if data != a and data != b:
        sys.exit('mixed contents: %d bytes' % len(data))
EOF
	wait "$writer"
	[ "$(ls -A d)" = f ]
}
