# Makefile: builds libagentprof.so, agentprof-view and the agentprof launcher; runs tests and demos.
#
#   make            build everything into build/
#   make demo       install missing packages (as root), build, run the example agent, show views
#   make test       unit + integration tests; ends with "N passed, N failed"
#   make bench      overhead benchmarks (ratios with/without the preload, measured in one run)
#   make fuzz       libFuzzer targets for a bounded time
#   make stress     the writer's interleaving loops, long (scripts/stress.sh)
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
# The three layers (docs/internals/layout.md): preload/core is pure code shared by the preload and
# the viewer; preload/runtime and preload/hooks make the shared object; tools/view/{load,analyze,
# render,export,cmd} make the viewer. Each layer is its own static archive; headers by folder.
CORE_DIR := preload/core
VIEW_DIRS := load analyze render export cmd
CORE_INC := -Iinclude -I$(CORE_DIR)
RT_INC := $(CORE_INC) -Ipreload/runtime
VIEW_INC := $(CORE_INC) $(addprefix -Itools/view/,$(VIEW_DIRS))
BASE_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE $(WARN)
PRELOAD_CFLAGS := $(BASE_CFLAGS) $(RT_INC) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-omit-frame-pointer -fno-stack-protector
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
SAN_FLAGS :=
endif
TOOL_CFLAGS := $(BASE_CFLAGS) $(VIEW_INC) $(SAN_FLAGS)

CORE_SRC := $(wildcard $(CORE_DIR)/*.c)
RT_SRC := $(wildcard preload/runtime/*.c preload/hooks/*.c)
VIEW_LIB_SRC := $(foreach d,load analyze render export,$(wildcard tools/view/$(d)/*.c))
VIEW_CMD_SRC := $(wildcard tools/view/cmd/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
CORE_HDR := $(wildcard include/*.h $(CORE_DIR)/*.h)
RT_HDR := $(CORE_HDR) $(wildcard preload/runtime/*.h)
VIEW_HDR := $(CORE_HDR) $(foreach d,$(VIEW_DIRS),$(wildcard tools/view/$(d)/*.h))

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))
PIC_CORE_OBJ := $(call obj,pic,$(CORE_SRC))
PIC_RT_OBJ := $(call obj,pic,$(RT_SRC))
CORE_OBJ := $(call obj,tool,$(CORE_SRC))
VIEW_LIB_OBJ := $(call obj,tool,$(VIEW_LIB_SRC))
VIEW_CMD_OBJ := $(call obj,tool,$(VIEW_CMD_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

# Archives, one per layer: the core twice (PIC for the .so, sanitized for the viewer and tests).
CORE_PIC_A := $(BUILD)/libapcore-pic.a
RT_A := $(BUILD)/libaprt.a
CORE_A := $(BUILD)/libapcore.a
VIEW_A := $(BUILD)/libapview.a

ZSTD_A := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libzstd.a /usr/lib/*/libzstd.a /usr/lib/libzstd.a))
HAVE_LIBDW := $(shell pkg-config --exists libdw 2>/dev/null && echo 1)
VIEW_DEFS := $(if $(HAVE_LIBDW),-DAP_HAVE_LIBDW)
VIEW_LIBS := -lzstd -lz -lm $(if $(HAVE_LIBDW),-ldw)

LIB := $(BUILD)/libagentprof.so
VIEW := $(BUILD)/agentprof-view
LAUNCHER := $(BUILD)/agentprof

.PHONY: all deps demo test unittest bench fuzz stress format check-format check-layers clean help
all: $(LIB) $(VIEW) $(LAUNCHER)

help:
	@sed -n '2,14p' Makefile | sed 's/^# \{0,1\}//'

$(BUILD)/pic/%.o: %.c $(RT_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(BUILD)/tool/%.o: %.c $(VIEW_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(TOOL_CFLAGS) $(VIEW_DEFS) -c $< -o $@

$(CORE_PIC_A): $(PIC_CORE_OBJ)
$(RT_A): $(PIC_RT_OBJ)
$(CORE_A): $(CORE_OBJ)
$(VIEW_A): $(VIEW_LIB_OBJ)
$(CORE_PIC_A) $(RT_A) $(CORE_A) $(VIEW_A):
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# The zstd archive is linked in and hidden; libunwind and zlib are dlopen()ed privately at init.
$(LIB): $(RT_A) $(CORE_PIC_A) preload/hooks/exports.map
	@echo "  LD      $@"
	$(Q)test -n "$(ZSTD_A)" || { echo "libzstd.a not found: run 'make deps' (needs libzstd-dev)"; exit 1; }
	$(Q)$(CC) -shared -o $@ -Wl,--whole-archive $(RT_A) -Wl,--no-whole-archive $(CORE_PIC_A) \
		$(ZSTD_A) -Wl,--exclude-libs,libzstd.a \
		-Wl,--version-script=preload/hooks/exports.map -Wl,--no-undefined -Wl,-z,now \
		-ldl -lpthread

$(VIEW): $(VIEW_CMD_OBJ) $(VIEW_A) $(CORE_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(VIEW_CMD_OBJ) $(VIEW_A) $(CORE_A) $(VIEW_LIBS)

$(LAUNCHER): tools/launcher/agentprof.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(BASE_CFLAGS) -Iinclude -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(VIEW_A) $(CORE_A) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(TOOL_CFLAGS) -Itests/unit -o $@ $< $(VIEW_A) $(CORE_A) $(VIEW_LIBS)

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

stress: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/stress.sh

FORMAT_SRC = $(wildcard include/*.h preload/*/*.[ch] tools/launcher/*.[ch] tools/view/*/*.[ch] tests/unit/*.[ch] tests/fixtures/*.c examples/*.c)
format:
	$(Q)clang-format -i $(FORMAT_SRC)

check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format ok"

clean:
	$(Q)rm -rf $(BUILD)
