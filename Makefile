# m4sim build. `make` builds build/m4sim and build/libm4sim.a; `make test` runs
# the suite; `make test SAN=1` runs it under AddressSanitizer + UBSan.
CC      ?= gcc
SAN     ?= 0
PREFIX  ?= /usr/local

ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1 -g
else
BUILD   := build
SANFLAGS :=
OPT     := -O3 -g
endif

CFLAGS  ?=
# -fno-math-errno: nothing reads errno after a math call, and without it GCC
# cannot use glibc's vector expf (libmvec) in the GRU loops (src/nn/layers.c).
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration -fno-math-errno $(OPT) $(SANFLAGS) \
           -Iinclude -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread -MMD -MP
LDLIBS  := -lopenblas -lmvec -lm -lpthread
LDFLAGS += $(SANFLAGS)

# Layers: core -> net -> workload -> sim -> {flow, packet, nn} -> m4 -> app -> cli
LIB_SRC := $(sort $(wildcard src/core/*.c src/net/*.c src/workload/*.c src/sim/*.c \
             src/flow/*.c src/packet/*.c src/packet/cc/*.c src/nn/*.c src/m4/*.c \
             src/app/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Headers shared by the tests (testlib.h, scratch.h, packet_driver.h): every
# test binary depends on all of them, since the .d files that -MMD writes next
# to the test binaries are not included and test_library is built without them.
TEST_HDR := $(wildcard tests/*.h)

VERSION := $(shell sed -n 's/^\#define M4SIM_VERSION_STRING "\(.*\)"/\1/p' include/m4sim.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
# Programs that must see the public header only (no -Isrc): the examples and
# tests/test_library*.c.
PUBLIC_CFLAGS := -std=c17 -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration $(OPT) $(SANFLAGS) -Iinclude

.PHONY: all test test-bins clean demo bench eval fuzz model install examples
all: $(BUILD)/m4sim $(BUILD)/libm4sim.a

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libm4sim.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The shared library is built from separate -fPIC objects, only for install.
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(BUILD)/libm4sim.so: $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,libm4sim.so.$(SOMAJOR) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/examples/%: examples/%.c include/m4sim.h $(BUILD)/libm4sim.a
	@mkdir -p $(dir $@)
	$(CC) $(PUBLIC_CFLAGS) -o $@ $< $(BUILD)/libm4sim.a $(LDFLAGS) $(LDLIBS)

examples: $(EXAMPLE_BIN)

$(BUILD)/m4sim: $(CLI_OBJ) $(BUILD)/libm4sim.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libm4sim.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_HDR) $(BUILD)/libm4sim.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libm4sim.a $(LDFLAGS) $(LDLIBS)

LIBRARY_TEST_BIN := $(filter $(BUILD)/tests/test_library%,$(TEST_BIN))
$(LIBRARY_TEST_BIN): $(BUILD)/tests/%: tests/%.c $(TEST_HDR) include/m4sim.h $(BUILD)/libm4sim.a
	@mkdir -p $(dir $@)
	$(CC) $(PUBLIC_CFLAGS) -D_GNU_SOURCE -Itests -o $@ $< $(BUILD)/libm4sim.a $(LDFLAGS) $(LDLIBS)

test-bins: $(TEST_BIN) $(BUILD)/m4sim examples

# Each test binary prints its own cases; run_all.sh adds them up into the
# closing "N passed, N failed" line that CI reads.
test: test-bins
	M4SIM=$(abspath $(BUILD)/m4sim) BUILD=$(BUILD) sh tests/run_all.sh $(TEST_BIN)

demo: $(BUILD)/m4sim
	sh tools/demo.sh $(BUILD)/m4sim

bench: all
	sh bench/run.sh $(BUILD)/m4sim

eval: all
	sh tools/eval.sh $(BUILD)/m4sim

# make install PREFIX=... [DESTDIR=...]: the CLI, libm4sim.a, libm4sim.so (with
# its soname link), the public header, m4sim.pc and the man page m4sim.1.
install: all $(BUILD)/libm4sim.so
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/m4sim $(DESTDIR)$(PREFIX)/bin/m4sim
	install -m 644 $(BUILD)/libm4sim.a $(DESTDIR)$(PREFIX)/lib/libm4sim.a
	install -m 755 $(BUILD)/libm4sim.so $(DESTDIR)$(PREFIX)/lib/libm4sim.so.$(VERSION)
	ln -sf libm4sim.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libm4sim.so.$(SOMAJOR)
	ln -sf libm4sim.so.$(SOMAJOR) $(DESTDIR)$(PREFIX)/lib/libm4sim.so
	install -m 644 include/m4sim.h $(DESTDIR)$(PREFIX)/include/m4sim.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' doc/m4sim.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/m4sim.pc
	install -m 644 doc/m4sim.1 $(DESTDIR)$(PREFIX)/share/man/man1/m4sim.1

model: all
	sh tools/make_model.sh $(BUILD)/m4sim

FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
fuzz:
	sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_SRC)

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(PIC_OBJ:.o=.d)
