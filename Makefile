# Makefile: builds libagentprof.so, agentprof-view and the agentprof launcher; runs tests and demos.
#
#   make            release build (optimised, no sanitizer) into build/
#   make san        the viewer and unit tests with ASan/UBSan into build/san/ (also: make debug)
#   make install    PREFIX=/usr/local DESTDIR= (and make uninstall): bin, lib/agentprof, include,
#                   pkg-config, man pages, bash completion
#   make demo       install missing packages (as root), build, run the example agent, show views
#   make test       unit + integration tests (sanitized viewer); ends with "N passed, N failed"
#   make bench      overhead benchmarks (ratios with/without the preload, measured in one run)
#   make fuzz       libFuzzer targets for a bounded time
#   make stress     the writer's interleaving loops, long (scripts/stress.sh)
#   make format / check-format
#
# Switches: SAN=1 builds build/agentprof-view with ASan/UBSan too. V=1 prints commands.
# PGO=0 builds the preload without profile feedback (by default, with GCC, it is trained first).
# The unit tests and build/san/agentprof-view (used by the integration tests) are always sanitized.

CC ?= cc
BUILD := build
SAN_BUILD := $(BUILD)/san
SAN ?= 0
VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
LIBDIR := $(PREFIX)/lib
PKGLIBDIR := $(LIBDIR)/agentprof
INCLUDEDIR := $(PREFIX)/include
MANDIR := $(PREFIX)/share/man
PKGCONFIGDIR := $(LIBDIR)/pkgconfig
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions

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
# Profile feedback (PGO=1, the default with GCC): the preload is first built instrumented into
# build/pgo/, run on the benchmarks' LLM workloads (scripts/pgo-train.sh), then rebuilt with the
# profile. Code the training does not reach stays optimised as with PGO=0
# (-fprofile-partial-training). If the training cannot run, the release build goes on without a
# profile and says so. PGO=0: one compile, for the edit loop and for bit-reproducible builds.
# GCC only (-dumpbase and the .gcda format): another compiler builds without.
PGO ?= $(if $(shell $(CC) -v 2>&1 | grep '^gcc version'),1,0)
PGO_DIR := $(BUILD)/pgo
PGO_LIB := $(PGO_DIR)/libagentprof.so
PGO_TRAINED := $(PGO_DIR)/trained
PGO_GEN := -fprofile-generate -fprofile-update=atomic
PGO_USE := -fprofile-use -fprofile-partial-training -Wno-error=missing-profile
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ifeq ($(SAN),1)
SAN_FLAGS := $(SANITIZE)
else
SAN_FLAGS :=
endif
TOOL_CFLAGS := $(BASE_CFLAGS) $(VIEW_INC) $(SAN_FLAGS)
SAN_TOOL_CFLAGS := $(BASE_CFLAGS) $(VIEW_INC) $(SANITIZE)

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
GEN_CORE_OBJ := $(call obj,pgo/pic,$(CORE_SRC))
GEN_RT_OBJ := $(call obj,pgo/pic,$(RT_SRC))
# SAN=1 links build/agentprof-view from the sanitized objects of build/san/.
TOOL_OBJDIR := $(if $(filter 1,$(SAN)),san/tool,tool)
CORE_OBJ := $(call obj,$(TOOL_OBJDIR),$(CORE_SRC))
VIEW_LIB_OBJ := $(call obj,$(TOOL_OBJDIR),$(VIEW_LIB_SRC))
VIEW_CMD_OBJ := $(call obj,$(TOOL_OBJDIR),$(VIEW_CMD_SRC))
SAN_CORE_OBJ := $(call obj,san/tool,$(CORE_SRC))
SAN_VIEW_LIB_OBJ := $(call obj,san/tool,$(VIEW_LIB_SRC))
SAN_VIEW_CMD_OBJ := $(call obj,san/tool,$(VIEW_CMD_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC)) $(BUILD)/tests/test_gen_spans

# Archives, one per layer: the core three times (PIC for the .so, release for the viewer, and
# sanitized for the unit tests and build/san/agentprof-view).
CORE_PIC_A := $(BUILD)/libapcore-pic.a
RT_A := $(BUILD)/libaprt.a
GEN_CORE_A := $(PGO_DIR)/libapcore-pic.a
GEN_RT_A := $(PGO_DIR)/libaprt.a
CORE_A := $(BUILD)/libapcore.a
VIEW_A := $(BUILD)/libapview.a
SAN_CORE_A := $(SAN_BUILD)/libapcore.a
SAN_VIEW_A := $(SAN_BUILD)/libapview.a

ZSTD_A := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libzstd.a /usr/lib/*/libzstd.a /usr/lib/libzstd.a))
HAVE_LIBDW := $(shell pkg-config --exists libdw 2>/dev/null && echo 1)
VIEW_DEFS := $(if $(HAVE_LIBDW),-DAP_HAVE_LIBDW)
VIEW_LIBS := -lzstd -lz -lm -pthread $(if $(HAVE_LIBDW),-ldw)

LIB := $(BUILD)/libagentprof.so
VIEW := $(BUILD)/agentprof-view
LAUNCHER := $(BUILD)/agentprof
SAN_VIEW := $(SAN_BUILD)/agentprof-view
PC_FILE := $(BUILD)/agentprof.pc

.PHONY: all deps deps-extra demo test unittest san debug bench fuzz stress format check-format check-layers clean \
	help install uninstall FORCE
all: $(LIB) $(VIEW) $(LAUNCHER)

san debug: $(SAN_VIEW) $(UNIT_BIN)

help:
	@sed -n '2,17p' Makefile | sed 's/^# \{0,1\}//'

# An instrumented object is compiled as if it were its release object (-dumpbase): GCC names the
# .gcda file and the static functions' profile ids after it, so that the training writes
# build/pic/X.gcda and the release compile of build/pic/X.o reads it (when the training ran).
$(BUILD)/pic/%.o: %.c $(RT_HDR) $(BUILD)/pgo.stamp $(if $(filter 1,$(PGO)),$(PGO_TRAINED))
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)pgo=; if [ "$(PGO)" = 1 ] && grep -qx ok $(PGO_TRAINED) 2>/dev/null && \
		[ -s $(@:.o=.gcda) ]; then pgo='$(PGO_USE)'; fi; $(CC) $(PRELOAD_CFLAGS) $$pgo -c $< -o $@

$(PGO_DIR)/pic/%.o: %.c $(RT_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(PRELOAD_CFLAGS) $(PGO_GEN) -dumpbase $(BUILD)/pic/$* -c $< -o $@

$(BUILD)/tool/%.o: %.c $(VIEW_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(TOOL_CFLAGS) $(VIEW_DEFS) -c $< -o $@

$(SAN_BUILD)/tool/%.o: %.c $(VIEW_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(SAN_TOOL_CFLAGS) $(VIEW_DEFS) -c $< -o $@

# The HTML report's page (real files under tools/view/render/page/) embedded as bytes into the
# viewer by scripts/embed_files.c, so the page is edited, linted and diffed as HTML/CSS/JS.
PAGE_FILES := $(addprefix tools/view/render/page/,report.html report.css report.js)
EMBED := $(BUILD)/gen/embed_files
PAGE_C := $(BUILD)/gen/report_page.c
PAGE_OBJ := $(BUILD)/gen/report_page.o
$(EMBED): scripts/embed_files.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(BASE_CFLAGS) -o $@ $<
$(PAGE_C): $(EMBED) $(PAGE_FILES)
	@echo "  EMBED   $@"
	$(Q)$(EMBED) $@ $(foreach f,$(PAGE_FILES),ap_page_$(subst .,_,$(notdir $(f)))=$(f))
$(PAGE_OBJ): $(PAGE_C)
	@echo "  CC      $@"
	$(Q)$(CC) $(BASE_CFLAGS) -c $< -o $@

$(CORE_PIC_A): $(PIC_CORE_OBJ)
$(RT_A): $(PIC_RT_OBJ)
$(GEN_CORE_A): $(GEN_CORE_OBJ)
$(GEN_RT_A): $(GEN_RT_OBJ)
$(CORE_A): $(CORE_OBJ)
$(VIEW_A): $(VIEW_LIB_OBJ) $(PAGE_OBJ)
$(SAN_CORE_A): $(SAN_CORE_OBJ)
$(SAN_VIEW_A): $(SAN_VIEW_LIB_OBJ) $(PAGE_OBJ)
$(CORE_PIC_A) $(RT_A) $(GEN_CORE_A) $(GEN_RT_A) $(CORE_A) $(VIEW_A) $(SAN_CORE_A) $(SAN_VIEW_A):
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# The zstd archive is linked in and hidden; libunwind, zlib, libcapstone and libnghttp2 are
# dlopen()ed privately at init. Executed directly (build/libagentprof.so --version) it prints its
# version: rt_version.c's entry.
# link_so RT_ARCHIVE,CORE_ARCHIVE,EXTRA_FLAGS: the recipe for the release and instrumented objects.
define link_so
	@echo "  LD      $@"
	$(Q)test -n "$(ZSTD_A)" || { echo "libzstd.a not found: run 'make deps' (needs libzstd-dev)"; exit 1; }
	$(Q)$(CC) -shared -o $@ -Wl,--whole-archive $(1) -Wl,--no-whole-archive $(2) \
		$(ZSTD_A) -Wl,--exclude-libs,libzstd.a \
		-Wl,--version-script=preload/hooks/exports.map -Wl,--no-undefined -Wl,-z,now \
		-Wl,-e,ap_so_main -ldl -lpthread $(3)
endef

$(LIB): $(RT_A) $(CORE_PIC_A) preload/hooks/exports.map
	$(call link_so,$(RT_A),$(CORE_PIC_A))

$(PGO_LIB): $(GEN_RT_A) $(GEN_CORE_A) preload/hooks/exports.map
	$(call link_so,$(GEN_RT_A),$(GEN_CORE_A),$(PGO_GEN))

# The training writes the instrumented objects' .gcda files; "ok" when it ran, "none" if it could
# not (then the release objects are built without a profile).
$(PGO_TRAINED): $(PGO_LIB) scripts/pgo-train.sh scripts/bench_io.c scripts/bench_writer.c
	@echo "  TRAIN   $(PGO_LIB)"
	$(Q)mkdir -p $(BUILD)/pic && find $(BUILD)/pic -name '*.gcda' -delete
	$(Q)if scripts/pgo-train.sh $(PGO_LIB) >$(PGO_DIR)/train.log 2>&1; then echo ok >$@; else \
		echo none >$@; echo "  PGO     training failed ($(PGO_DIR)/train.log): no profile"; fi

# The release objects are rebuilt when PGO changes (the stamp holds its value).
$(BUILD)/pgo.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(PGO)' | cmp -s - $@ || echo '$(PGO)' >$@

$(VIEW): $(VIEW_CMD_OBJ) $(VIEW_A) $(CORE_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(VIEW_CMD_OBJ) $(VIEW_A) $(CORE_A) $(VIEW_LIBS)

$(SAN_VIEW): $(SAN_VIEW_CMD_OBJ) $(SAN_VIEW_A) $(SAN_CORE_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(SANITIZE) -o $@ $(SAN_VIEW_CMD_OBJ) $(SAN_VIEW_A) $(SAN_CORE_A) $(VIEW_LIBS)

# The stack cache marks its copies of stack words defined for valgrind's memcheck when
# <valgrind/memcheck.h> is installed (rt_stack.c): rebuilt when the header comes or goes (the
# stamp holds its path, or nothing).
MEMCHECK_H := $(firstword $(wildcard /usr/include/valgrind/memcheck.h))
$(BUILD)/memcheck.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(MEMCHECK_H)' | cmp -s - $@ || echo '$(MEMCHECK_H)' >$@

$(BUILD)/pic/preload/runtime/rt_stack.o $(PGO_DIR)/pic/preload/runtime/rt_stack.o: $(BUILD)/memcheck.stamp

# The launcher looks for its library next to itself, in ../lib/agentprof/, then in PKGLIBDIR
# (rebuilt when PREFIX changes: the stamp holds the directory).
$(BUILD)/pkglibdir.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(PKGLIBDIR)' | cmp -s - $@ || echo '$(PKGLIBDIR)' >$@

$(LAUNCHER): tools/launcher/agentprof.c $(BUILD)/pkglibdir.stamp
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(BASE_CFLAGS) -Iinclude -DAP_PKGLIBDIR='"$(PKGLIBDIR)"' -o $@ $<

# Unit tests always run sanitized.
$(BUILD)/tests/%: tests/unit/%.c $(SAN_VIEW_A) $(SAN_CORE_A) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(SAN_TOOL_CFLAGS) -Itests/unit -o $@ $< $(SAN_VIEW_A) $(SAN_CORE_A) $(VIEW_LIBS)

# The span generator (tests/targets/gen_spans.c, built for the tests into build/targets/) is its own
# unit test: run without arguments, every shape it writes must decode.
$(BUILD)/tests/test_libc: preload/runtime/rt_libc.c # the test includes it

$(BUILD)/tests/test_gen_spans: tests/targets/gen_spans.c $(SAN_CORE_A) tests/unit/unit.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(SAN_TOOL_CFLAGS) -Itests/unit -o $@ $< $(SAN_CORE_A) $(VIEW_LIBS)

# test_h2 drives the HTTP/2 observer with nghttp2's HPACK linked in (the preload dlopen()s it).
$(BUILD)/tests/test_h2: VIEW_LIBS += -lnghttp2

deps:
	$(Q)scripts/install-deps.sh

# make test and make bench also use the extra packages (chromium, prometheus, redis, valgrind...).
deps-extra:
	$(Q)scripts/install-deps.sh --extra

# unittest also builds the sanitized viewer the integration tests use (tests/integration/lib.sh).
unittest: $(UNIT_BIN) $(SAN_VIEW)

test: deps-extra
	$(Q)$(MAKE) --no-print-directory all unittest
	$(Q)tests/run.sh

# --- install -------------------------------------------------------------------------------------

MAN_PAGES := $(wildcard docs/man/*.[1-9])
COMPLETION := scripts/completion/agentprof.bash

$(PC_FILE): FORCE
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'libdir=$(PKGLIBDIR)' '' \
		'Name: agentprof' 'Description: annotations for programs profiled by libagentprof.so' \
		'Version: $(VERSION)' 'Cflags: -I$${includedir}' >$@.tmp && \
		{ cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@; }

install: all $(PC_FILE)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(LAUNCHER) $(VIEW) $(DESTDIR)$(BINDIR)/
	install -m 755 $(LIB) $(DESTDIR)$(PKGLIBDIR)/
	install -m 644 include/agentprof.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(PC_FILE) $(DESTDIR)$(PKGCONFIGDIR)/agentprof.pc
	for m in $(MAN_PAGES); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	install -m 644 $(COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/agentprof
	ln -sf agentprof $(DESTDIR)$(BASHCOMPDIR)/agentprof-view

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/agentprof $(DESTDIR)$(BINDIR)/agentprof-view \
		$(DESTDIR)$(PKGLIBDIR)/libagentprof.so $(DESTDIR)$(INCLUDEDIR)/agentprof.h \
		$(DESTDIR)$(PKGCONFIGDIR)/agentprof.pc $(DESTDIR)$(BASHCOMPDIR)/agentprof \
		$(DESTDIR)$(BASHCOMPDIR)/agentprof-view
	for m in $(notdir $(MAN_PAGES)); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; done
	-rmdir $(DESTDIR)$(PKGLIBDIR)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

bench: deps-extra
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench.sh

fuzz: deps
	$(Q)scripts/fuzz.sh

stress: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/stress.sh

FORMAT_SRC = $(wildcard include/*.h preload/*/*.[ch] tools/launcher/*.[ch] tools/view/*/*.[ch] tests/unit/*.[ch] tests/targets/*.c examples/*.c)
format:
	$(Q)clang-format -i $(FORMAT_SRC)

check-layers:
	$(Q)scripts/check-layers.sh

check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format ok"

clean:
	$(Q)rm -rf $(BUILD)
