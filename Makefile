# Makefile: builds libagentprof.so, agentprof-view and the agentprof launcher; runs tests and demos.
#
#   make            build everything into build/
#   make demo       install missing packages (as root), build, run the example agent, show views
#   make test       unit + integration tests; ends with "N passed, N failed"
#   make bench      overhead benchmarks (ratios with/without the preload, measured in one run)
#   make fuzz       libFuzzer targets for a bounded time
#   make format / check-format
#
# Switches: SAN=0 builds viewer and unit tests without ASan/UBSan. V=1 prints commands.

CC ?= cc
BUILD := build
SAN ?= 1

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wstrict-prototypes
BASE_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -Iinclude -Ipreload -Itools/view $(WARN)
PRELOAD_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-omit-frame-pointer -fno-stack-protector
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
SAN_FLAGS :=
endif
TOOL_CFLAGS := $(BASE_CFLAGS) $(SAN_FLAGS)

# preload/: files named rt_*.c or hook_*.c are runtime-only (they interpose libc); every other
# file is "core": pure code (codec, parsers, classification) shared with the viewer and tests.
PRELOAD_ALL := $(wildcard preload/*.c)
RT_SRC := $(filter preload/rt_%.c preload/hook_%.c,$(PRELOAD_ALL))
CORE_SRC := $(filter-out $(RT_SRC),$(PRELOAD_ALL))
VIEW_SRC := $(wildcard tools/view/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

PIC_OBJ := $(patsubst preload/%.c,$(BUILD)/pic/%.o,$(RT_SRC) $(CORE_SRC))
CORE_OBJ := $(patsubst preload/%.c,$(BUILD)/core/%.o,$(CORE_SRC))
VIEW_OBJ := $(patsubst tools/view/%.c,$(BUILD)/view/%.o,$(VIEW_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

ZSTD_A := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libzstd.a /usr/lib/*/libzstd.a /usr/lib/libzstd.a))
VIEW_LIBS := -lzstd -lz -lm $(shell pkg-config --exists libdw 2>/dev/null && echo -ldw -DAP_HAVE_LIBDW)

LIB := $(BUILD)/libagentprof.so
VIEW := $(BUILD)/agentprof-view
LAUNCHER := $(BUILD)/agentprof

.PHONY: all deps demo test unittest bench fuzz format check-format clean help
all: $(LIB) $(VIEW) $(LAUNCHER)

help:
	@sed -n '2,14p' Makefile | sed 's/^# \{0,1\}//'

$(BUILD)/pic/%.o: preload/%.c $(wildcard include/*.h preload/*.h) | $(BUILD)/pic
	@echo "  CC      $@"
	$(Q)$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(BUILD)/core/%.o: preload/%.c $(wildcard include/*.h preload/*.h) | $(BUILD)/core
	@echo "  CC      $@"
	$(Q)$(CC) $(TOOL_CFLAGS) -c $< -o $@

$(BUILD)/view/%.o: tools/view/%.c $(wildcard include/*.h preload/*.h tools/view/*.h) | $(BUILD)/view
	@echo "  CC      $@"
	$(Q)$(CC) $(TOOL_CFLAGS) $(filter -DAP_HAVE_LIBDW,$(VIEW_LIBS)) -c $< -o $@

# The zstd archive is linked in and hidden; libunwind and zlib are dlopen()ed privately at init.
$(LIB): $(PIC_OBJ) preload/exports.map
	@echo "  LD      $@"
	$(Q)test -n "$(ZSTD_A)" || { echo "libzstd.a not found: run 'make deps' (needs libzstd-dev)"; exit 1; }
	$(Q)$(CC) -shared -o $@ $(PIC_OBJ) $(ZSTD_A) -Wl,--exclude-libs,ALL \
		-Wl,--version-script=preload/exports.map -Wl,--no-undefined -Wl,-z,now \
		-ldl -lpthread

$(VIEW): $(VIEW_OBJ) $(CORE_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(filter-out -DAP_HAVE_LIBDW,$(VIEW_LIBS))

$(LAUNCHER): tools/launcher/agentprof.c | $(BUILD)
	@echo "  CC      $@"
	$(Q)$(CC) $(BASE_CFLAGS) -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJ) $(wildcard tests/unit/*.h) | $(BUILD)/tests
	@echo "  CC      $@"
	$(Q)$(CC) $(TOOL_CFLAGS) -Itests/unit -o $@ $< $(CORE_OBJ) -lzstd -lz -lm

$(BUILD) $(BUILD)/pic $(BUILD)/core $(BUILD)/view $(BUILD)/tests:
	$(Q)mkdir -p $@

deps:
	$(Q)scripts/install-deps.sh

unittest: $(UNIT_BIN)

test: deps
	$(Q)$(MAKE) --no-print-directory all unittest
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench.sh

fuzz: deps
	$(Q)scripts/fuzz.sh

FORMAT_SRC = $(wildcard include/*.h preload/*.[ch] tools/*/*.[ch] tests/unit/*.[ch] tests/fixtures/*.c examples/*.c)
format:
	$(Q)clang-format -i $(FORMAT_SRC)

check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format ok"

clean:
	$(Q)rm -rf $(BUILD)
