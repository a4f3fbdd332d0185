# t/maildirmake.bats -- maildirmake DIR: DIR, DIR/cur, DIR/new, DIR/tmp,
# mode 0700; an existing Maildir is fine.
load helpers/common

mode() { stat -c %a "$1"; }

@test "makes DIR with cur/, new/ and tmp/, all mode 0700, and prints nothing" {
	run -0 --separate-stderr maildirmake Maildir
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	for d in Maildir Maildir/cur Maildir/new Maildir/tmp; do
		[ -d "$d" ]
		[ "$(mode "$d")" = 700 ]
	done
	[ "$(ls -A Maildir | sort | tr '\n' ' ')" = 'cur new tmp ' ]
}

@test "the modes do not depend on the umask" {
	umask 000
	maildirmake md
	for d in md md/cur md/new md/tmp; do
		[ "$(mode "$d")" = 700 ]
	done
}

@test "the new Maildir takes a message from maildir-store" {
	maildirmake md
	printf 'Subject: x\n\nhi\n' >msg
	run -0 maildir-store md <msg
	cmp msg md/new/*
}

@test "an existing Maildir is fine: exit 0, its messages untouched" {
	maildirmake md
	printf 'kept\n' >md/new/1.M1P1_R000000000000.host
	printf 'seen\n' >md/cur/2.M1P1_R000000000000.host:2,S
	run -0 --separate-stderr maildirmake md
	[ "$stderr" = '' ]
	[ "$(cat md/new/1.M1P1_R000000000000.host)" = kept ]
	[ "$(cat md/cur/2.M1P1_R000000000000.host:2,S)" = seen ]
}

@test "an existing directory without the subdirectories is completed" {
	mkdir -p half/new
	run -0 maildirmake half
	[ -d half/cur ]
	[ -d half/new ]
	[ -d half/tmp ]
}

@test "DIR is a file: exit 100, the file unchanged" {
	printf 'not a dir\n' >afile
	run -100 --separate-stderr maildirmake afile
	[ "$output" = '' ]
	[ "$stderr" = 'maildirmake: fatal: afile: exists and is not a directory' ]
	[ "$(cat afile)" = 'not a dir' ]
}

@test "a file where a subdirectory belongs: exit 111, not a Maildir" {
	mkdir md
	: >md/new
	run -111 --separate-stderr maildirmake md
	[ "$stderr" = 'maildirmake: fatal: make md: Not a directory' ]
	[ -f md/new ]
}

@test "a missing parent directory: exit 111, stderr names DIR" {
	run -111 --separate-stderr maildirmake nosuch/md
	[ "$stderr" = 'maildirmake: fatal: make nosuch/md: No such file or directory' ]
	[ ! -e nosuch ]
}

@test "usage: no argument, two, or an option: exit 100" {
	run -100 --separate-stderr maildirmake
	[ "$output" = '' ]
	[ "$stderr" = 'maildirmake: fatal: usage: maildirmake DIR' ]
	run -100 maildirmake a b
	run -100 maildirmake -v
	[ ! -e a ]
	[ ! -e b ]
	[ ! -e -v ]
}
