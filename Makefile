# ektp — build, run and test.  GNU make + pkg-config.
#
#   make            build bin/ektpd and bin/ektpctl
#   make run        install missing packages, build, run the daemon on config/ektpd.conf
#   make check      install missing packages, build, run every test; last line "N passed, N failed"
#   make check-asan the same tests against an AddressSanitizer + UBSan build
#   make check-valgrind  the unit tests and one enroll-and-print cycle under valgrind's memcheck
#   make crashtest  the kill -9 campaign over enrollment and printing, 500 trials (CRASH_TRIALS=N)
#   make demo       a guided tour on the simulators (tests/demo.sh); its pictures go to var/demo
#   make fuzz       every libFuzzer harness in tests/fuzz/ for FUZZ_SECONDS each (default 300)
#   make bench      run every benchmark in bench/ (each prints its same-run baseline)
#   make deps       install the Debian packages the build and the tests need

# Debian packages: build libraries, then test tools.
DEBS_BUILD := gcc make pkg-config libglib2.0-dev libsoup-3.0-dev libjson-glib-dev \
              libsqlite3-dev libssl-dev libfprint-2-dev libusb-1.0-0-dev libpng-dev \
              libfreetype-dev fonts-liberation libjpeg62-turbo-dev libpcsclite-dev
DEBS_TEST  := libcmocka-dev curl jq sqlite3 util-linux procps umockdev libumockdev-dev \
              openssl pcscd vsmartcard-vpcd opensc clang libclang-rt-dev valgrind
DEBS       := $(DEBS_BUILD) $(DEBS_TEST)

PKGS_DAEMON := glib-2.0 gio-2.0 gio-unix-2.0 libsoup-3.0 json-glib-1.0 sqlite3 libcrypto \
               libfprint-2 libusb-1.0 libpng freetype2 libjpeg libpcsclite
PKGS_CTL    := glib-2.0 gio-2.0 gio-unix-2.0 libsoup-3.0 json-glib-1.0

# BUILD names the object tree; the sanitizer build uses its own so both can coexist.
BUILD  ?= build/default
BIN    ?= bin
SAN    ?=
CC     ?= cc
OPT    ?= -O2

WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Isrc -I. -MMD -MP
CFLAGS   += $(WARN) $(OPT) -g $(SAN)
LDFLAGS  += $(SAN)

PKG_CFLAGS_D := $(shell pkg-config --cflags $(PKGS_DAEMON) 2>/dev/null)
PKG_LIBS_D   := $(shell pkg-config --libs $(PKGS_DAEMON) 2>/dev/null) -lm
PKG_CFLAGS_C := $(shell pkg-config --cflags $(PKGS_CTL) 2>/dev/null)
PKG_LIBS_C   := $(shell pkg-config --libs $(PKGS_CTL) 2>/dev/null)
CMOCKA_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)
UMOCKDEV_CFLAGS := $(shell pkg-config --cflags umockdev-1.0 2>/dev/null)
UMOCKDEV_LIBS := $(shell pkg-config --libs umockdev-1.0 2>/dev/null)

# The daemon's modules, bottom floor first (see README "Source layout").
UTIL_SRC   := $(wildcard src/util/*.c)
CRYPTO_SRC := $(wildcard src/crypto/*.c)
STORE_SRC  := $(wildcard src/store/*.c)
CORE_SRC   := $(wildcard src/core/*.c)
HAL_SRC    := $(wildcard src/hal/*.c) $(wildcard drivers/*/*.c)
QUALITY_SRC := $(wildcard src/quality/*.c)
IMAGE_SRC  := $(wildcard src/image/*.c)
CARD_SRC   := $(wildcard src/card/*.c)
API_SRC    := $(wildcard src/api/*.c)
LIB_SRC    := $(UTIL_SRC) $(CRYPTO_SRC) $(STORE_SRC) $(IMAGE_SRC) $(HAL_SRC) $(QUALITY_SRC) \
              $(CARD_SRC) $(CORE_SRC) \
              $(API_SRC)
CTL_SRC    := $(wildcard src/ektpctl/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ := $(CTL_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

LIBEKTPD := $(BUILD)/libektpd.a

# Quiet by default: "CC file"; V=1 shows the whole commands.
ifeq ($(V),1)
Q :=
else
Q = @echo "  $(if $(filter %.a,$@),AR,$(if $(filter %.o,$@),CC,LD)) $@";
endif

.PHONY: all deps run demo crashtest fuzz fuzz-build check check-asan check-valgrind unit bench clean
all: $(BIN)/ektpd $(BIN)/ektpctl

$(BUILD)/src/ektpctl/%.o: src/ektpctl/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS_C) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS_D) $(CFLAGS) -c $< -o $@

$(LIBEKTPD): $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# -rdynamic: driver plug-ins resolve the hal_dev_* accessors from ektpd itself.
$(BIN)/ektpd: $(BUILD)/src/ektpd.o $(LIBEKTPD)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(PKG_LIBS_D)

# The printer simulator built as a driver plug-in, for the tests of dlopen loading.
PLUGIN := $(BUILD)/plugins/sim-plugin.so
$(PLUGIN): $(wildcard drivers/sim/*.c)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS_D) $(CFLAGS) -DSIM_PLUGIN -fPIC -fvisibility=hidden -shared -o $@ $(filter %.c,$^) \
	    $(PKG_LIBS_D)

$(BIN)/ektpctl: $(CTL_OBJ)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS_C)

$(BUILD)/tests/%: tests/unit/%.c $(LIBEKTPD)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS_D) $(UMOCKDEV_CFLAGS) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIBEKTPD) \
	    $(PKG_LIBS_D) $(CMOCKA_LIBS) $(UMOCKDEV_LIBS)

# Test peers: programs that play a device for the real drivers (tests/emu/).
EMU_SRC := $(wildcard tests/emu/*.c)
EMU_BIN := $(EMU_SRC:tests/emu/%.c=$(BUILD)/emu/%)
$(BUILD)/emu/%: tests/emu/%.c $(LIBEKTPD)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS_D) $(CFLAGS) -o $@ $< $(LIBEKTPD) $(PKG_LIBS_D)

# The compiled halves of some benchmarks (bench/*.c); t_load uses api_load too.
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.c $(LIBEKTPD)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS_D) $(CFLAGS) -o $@ $< $(LIBEKTPD) $(PKG_LIBS_D)

unit: $(UNIT_BIN) $(PLUGIN) $(EMU_BIN) $(BENCH_BIN)

# deps: dpkg tells what is missing; root installs it, anyone else is told the exact command.
deps:
	@missing=$$(for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done | tr '\n' ' '); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $$missing; \
	else \
	  echo "deps: missing Debian packages; run as root:"; \
	  echo "  apt-get update && apt-get install -y $$missing"; exit 1; \
	fi

# The recursive call re-reads pkg-config once the packages are there.
run: deps
	@$(MAKE) --no-print-directory all
	$(BIN)/ektpd -c config/ektpd.conf

demo: deps
	@$(MAKE) --no-print-directory all
	@EKTPD=$(BIN)/ektpd EKTPCTL=$(BIN)/ektpctl tests/demo.sh

# The whole-pipeline crash campaign at length; make check runs 50 of its trials.
CRASH_TRIALS ?= 500
crashtest: deps
	@$(MAKE) --no-print-directory all unit
	@EKTPD=$(BIN)/ektpd EKTPCTL=$(BIN)/ektpctl EKTP_EMU_DIR=$(BUILD)/emu \
	  EKTP_CRASH_TRIALS=$(CRASH_TRIALS) bash tests/regress/t_crash.sh

check: deps
	@$(MAKE) --no-print-directory all unit
	@EKTPD=$(BIN)/ektpd EKTPCTL=$(BIN)/ektpctl UNIT_DIR=$(BUILD)/tests EKTP_PLUGIN=$(PLUGIN) \
	  EKTP_EMU_DIR=$(BUILD)/emu tests/run

check-asan: deps
	@$(MAKE) --no-print-directory all unit BUILD=build/asan BIN=build/asan/bin OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  EKTPD=build/asan/bin/ektpd EKTPCTL=build/asan/bin/ektpctl UNIT_DIR=build/asan/tests \
	  EKTP_PLUGIN=build/asan/plugins/sim-plugin.so EKTP_EMU_DIR=build/asan/emu \
	  EKTP_TEST_SLOW=4 tests/run

# memcheck over every unit test (two at a time: memcheck runs a program on one
# core) and t_cycle (a daemon enrolling a resident and printing the card, from
# start to SIGTERM): an error or a definite leak makes the program exit 99,
# which tests/run counts as a failure.  GLib's own suppressions cover its type
# system's one-time allocations; tests/valgrind.supp says what it covers.
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
            --errors-for-leak-kinds=definite --num-callers=30 \
            --suppressions=$(shell pkg-config --variable=prefix glib-2.0)/share/glib-2.0/valgrind/glib.supp \
            --suppressions=$(CURDIR)/tests/valgrind.supp
check-valgrind: deps
	@$(MAKE) --no-print-directory all unit
	@RUN_UNDER="$(VALGRIND)" TESTS="$${TESTS:-test_ t_cycle}" EKTP_TEST_SLOW=20 JOBS=2 \
	  EKTPD=$(BIN)/ektpd EKTPCTL=$(BIN)/ektpctl UNIT_DIR=$(BUILD)/tests EKTP_PLUGIN=$(PLUGIN) \
	  EKTP_EMU_DIR=$(BUILD)/emu tests/run

# Fuzzers: tests/fuzz/fuzz_*.c, each a libFuzzer harness around one parser,
# linked with a clang build of the library under AddressSanitizer and UBSan in
# build/fuzz/ (clang warns where gcc does not about "{ NULL }" initialisers).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)
FUZZ_SECONDS ?= 300
$(BUILD)/fuzzers/%: tests/fuzz/%.c $(LIBEKTPD)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS_D) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBEKTPD) \
	    $(PKG_LIBS_D)

fuzz-build: deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT=-O1 \
	    WARN="$(WARN) -Wno-missing-field-initializers" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/fuzzers/%)

fuzz: fuzz-build
	@FUZZ_DIR=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 tests/fuzz/run

# Benchmarks print each figure beside its baseline from the same run.
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@failed=""; for b in bench/*; do [ -f "$$b" ] && [ -x "$$b" ] || continue; \
	  EKTPD=$(BIN)/ektpd BENCH_DIR=$(BUILD)/bench "$$b" || failed="$$failed $${b#bench/}"; done; \
	  if [ -n "$$failed" ]; then echo "bench: target missed by:$$failed"; exit 1; fi

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
