# postern - a mail server suite.
#
#   make            build build/posternd and build/posternctl
#   make run        install build dependencies, build, run on the embedded default
#   make test       install test dependencies, build, run unit, fuzz-smoke and
#                   integration tests (the suite runs under ASan + UBSan)
#   make bench      SMTP and POP3 benchmark, side by side with Postfix and Dovecot
#   make bench-peers  install Postfix and Dovecot (Debian) for make bench to compare with
#   make fuzz       build the libFuzzer targets
#   make fuzz-long  run each fuzz target for FUZZ_SECONDS (300) with its dictionary
#   make install    install under $(DESTDIR)$(PREFIX)

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PYTHON  ?= /usr/bin/python3

PKGS    := libevent libevent_openssl libevent_pthreads openssl libcares hiredis lmdb libcrypt zlib libpq
DEPLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -levent_openssl -levent_pthreads -levent -lssl -lcrypto -lcares -lhiredis -llmdb -lcrypt -lz -lpq) -lpthread
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -Isrc $(PQ_CFLAGS)

ifeq ($(SAN),1)
BUILD   ?= build/asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
BUILD   ?= build
OPT     := -O2
endif

CFLAGS  ?=
CFLAGS  += $(BASE_CFLAGS) $(OPT)
LDFLAGS += $(OPT)

MAINS   := src/posternd.c src/posternctl.c
LIB_SRC := $(filter-out $(MAINS),$(shell find src -name '*.c' | sort))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

.PHONY: all run test unit integration fuzz fuzz-smoke fuzz-long bench bench-peers install clean deps-build deps-test deps-bench checktools

all: $(BUILD)/posternd $(BUILD)/posternctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libpostern.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/posternd: $(BUILD)/obj/src/posternd.o $(BUILD)/libpostern.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/posternctl: $(BUILD)/obj/src/posternctl.o $(BUILD)/libpostern.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpostern.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libpostern.a $(DEPLIBS) -lcmocka

-include $(LIB_OBJ:.o=.d) $(MAINS:%.c=$(BUILD)/obj/%.d)

# deps-build and deps-test also create the system user "postern" (as root,
# when missing): posternd started as root runs as it (SPEC.md server.user).
deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
# Every external program the tests call can do what they need (or: its package).
checktools:
	@PYTHON=$(PYTHON) scripts/checktools.sh
deps-bench:
	@scripts/deps.sh bench

# Started as root, posternd binds its ports and runs as "postern", with its data
# in ./var (made for postern); otherwise it runs as whoever started it.
run: deps-build
	@$(MAKE) --no-print-directory all
	./build/posternd

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all checktools
	POSTERND=$(abspath $(BUILD)/posternd) POSTERNCTL=$(abspath $(BUILD)/posternctl) \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# Fuzz targets: clang + libFuzzer, linked against the parser sources only.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isrc -fsanitize=fuzzer,address,undefined
build/fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(shell sed -n 's,^// *FUZZ_SOURCES: *,,p' $<) \
		$(shell sed -n 's,^// *FUZZ_LIBS: *,,p' $<)

fuzz: $(FUZZ_BIN)

# A target that crashes, or whose seed corpus is missing, fails the run (its log is shown).
fuzz-smoke: fuzz
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus-$$n; echo "== $$n"; \
		[ -d fuzz/corpus/$$n ] || { echo "fuzz/corpus/$$n: no seed corpus"; exit 1; }; \
		if ! $$f -max_total_time=5 -print_final_stats=0 \
			$$( [ -f fuzz/$$n.dict ] && echo -dict=fuzz/$$n.dict ) \
			build/fuzz/corpus-$$n fuzz/corpus/$$n > build/fuzz/$$n.smoke.log 2>&1; then \
			tail -n 40 build/fuzz/$$n.smoke.log; exit 1; fi; \
		tail -n 1 build/fuzz/$$n.smoke.log; done

# Each target for FUZZ_SECONDS with its dictionary: new inputs in
# build/fuzz/corpus-NAME, crashes in build/fuzz/crashes/NAME-*; fails if any crashed.
FUZZ_SECONDS ?= 300
fuzz-long: fuzz
	@mkdir -p build/fuzz/crashes; failed=; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus-$$n; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; $$f -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 -artifact_prefix=build/fuzz/crashes/$$n- \
			$$( [ -f fuzz/$$n.dict ] && echo -dict=fuzz/$$n.dict ) \
			build/fuzz/corpus-$$n fuzz/corpus/$$n > build/fuzz/$$n.log 2>&1 \
			|| failed="$$failed $$n"; grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==ERROR)' \
			build/fuzz/$$n.log | head -n 3; done; \
		if [ -n "$$failed" ]; then echo "crashed:$$failed (see build/fuzz/crashes/)"; exit 1; fi

test: deps-test
	@$(MAKE) --no-print-directory checktools
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SAN=1 all unit
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory SAN=1 integration

# The load generators, the disk probe and the bare responder: optimised, never
# sanitized (they must outrun the servers they measure).
BENCH_BIN := $(BUILD)/pop3load $(BUILD)/imapload $(BUILD)/diskprobe $(BUILD)/floorsrv
$(BENCH_BIN): $(BUILD)/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) -o $@ $(filter %.c,$^) -lpthread
# Both load generators share bench/loadconn.c; imapload is two files more
# (the push-latency part is in imapload_push.c).
$(BUILD)/pop3load $(BUILD)/imapload: bench/loadconn.c bench/loadconn.h
$(BUILD)/imapload: bench/imapload_push.c bench/imapload.h

# BENCH_QUICK=1 for one short run; the other BENCH_* settings are in bench/bench.py.
bench: deps-bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	POSTERND=$(abspath $(BUILD)/posternd) POSTERNCTL=$(abspath $(BUILD)/posternctl) \
		POP3LOAD=$(abspath $(BUILD)/pop3load) IMAPLOAD=$(abspath $(BUILD)/imapload) DISKPROBE=$(abspath $(BUILD)/diskprobe) \
		FLOORSRV=$(abspath $(BUILD)/floorsrv) $(PYTHON) bench/bench.py

bench-peers:
	@scripts/deps.sh peers

install: all
	@[ -n "$(DESTDIR)" ] || scripts/deps.sh user
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/doc/postern \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 build/posternd build/posternctl $(DESTDIR)$(PREFIX)/sbin/
	ln -sf posternctl $(DESTDIR)$(PREFIX)/sbin/sendmail
	install -m 644 doc/postern.conf.example $(DESTDIR)$(PREFIX)/share/doc/postern/
	ln -sf posternctl $(DESTDIR)$(PREFIX)/sbin/mailq
	install -m 644 doc/posternd.8 doc/posternctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 doc/postern.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	sed 's,@PREFIX@,$(PREFIX),g' doc/posternd.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/posternd.service
	chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/posternd.service

clean:
	rm -rf build
