# vdmail - one non-recursive Makefile.
#
#   make                 build every program into bin/ and libexec/
#   make check           build, run every test, then again under ASan+UBSan
#   make run             build, make var/demo, run it on 127.0.0.1
#   make install PREFIX=/usr/local DESTDIR=
#   make clean

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/vdmail
MANDIR ?= $(PREFIX)/share/man
ROOT ?= /var/vdmail
BUILD ?= build

BIN = vdmail-init
LIBEXEC = queue-inject smtp-accept
LIBMODS = die xio line control addr msgid atomic queue
UNITS = $(LIBMODS)

XCFLAGS = -std=c11 -O2 -g -Wall -Wextra -Werror -Wpedantic -Wshadow \
	-Wformat=2 -Wconversion -Wno-sign-conversion
XCPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc/lib \
	-DVDMAIL_ROOT_DEFAULT='"$(ROOT)"' \
	-DVDMAIL_LIBEXEC_DEFAULT='"$(LIBEXECDIR)"'
XLDFLAGS =
LDLIBS ?=

ifeq ($(BUILD),build)
BINOUT = bin
LIBEXECOUT = libexec
else
BINOUT = $(BUILD)/bin
LIBEXECOUT = $(BUILD)/libexec
endif

LIBOBJ = $(LIBMODS:%=$(BUILD)/src/lib/%.o)
LIBA = $(BUILD)/libvdmail.a
PROGS = $(BIN:%=$(BINOUT)/%) $(LIBEXEC:%=$(LIBEXECOUT)/%)
TESTS = $(UNITS:%=$(BUILD)/t/test-%)

all: $(PROGS) $(TESTS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XCPPFLAGS) $(CPPFLAGS) $(XCFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BINOUT)/%: $(BUILD)/src/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIBEXECOUT)/%: $(BUILD)/src/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/t/test-%: $(BUILD)/t/lib/test-%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@sh t/helpers/deps

# The suite, then the same suite against a sanitizer build.
check: deps all
	VDMAIL_TESTBIN=$(CURDIR)/build/t bats t
	$(MAKE) BUILD=build-asan \
	    XCFLAGS='-std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' all
	VDMAIL_ASAN=1 ASAN_OPTIONS=abort_on_error=0:detect_leaks=0 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    VDMAIL_BIN=$(CURDIR)/build-asan/bin \
	    VDMAIL_LIBEXEC=$(CURDIR)/build-asan/libexec \
	    VDMAIL_TESTBIN=$(CURDIR)/build-asan/t bats t

run: deps all
	@sh etc/demo-run "$(CURDIR)"

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BIN:%=bin/%) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(LIBEXEC:%=libexec/%) $(DESTDIR)$(LIBEXECDIR)/
	for s in 1 5 7 8; do \
	    for f in man/man$$s/*.$$s; do \
	        [ -f "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(MANDIR)/man$$s/ || :; \
	    done; \
	done

manlint:
	mandoc -Tlint -W warning man/man*/*.[0-9]

clean:
	rm -rf build build-asan bin libexec

.PHONY: all check deps run install clean manlint
.SECONDARY:

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/src/lib/*.d $(BUILD)/t/lib/*.d)
