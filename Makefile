# Gantry: `make` builds everything into build/; `make check` runs the unit and
# end-to-end tests on a sanitized build in build/asan; `make run` starts a
# private redis-server, gantryd and an agent. See README.md.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
BUILD ?= build
CC ?= cc
SAN ?=
PYTHON ?= /usr/bin/python3
FUZZ_TIME ?= 20
# The shared data (the DCGM CSV, the Alibaba trace), read in place:
# ../shared/data beside the checkout, else /work/shared/data, where this
# project's machines keep it; GANTRY_DATA=DIR names another folder.
GANTRY_DATA ?= $(firstword $(realpath ../shared/data /work/shared/data))
export GANTRY_DATA

PKGS := hiredis jansson inih libsystemd libssl libcrypto libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wformat=2 \
        -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
          -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DGANTRY_VERSION='"$(VERSION)"' $(WARN) \
              -Isrc $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LIBS := -lev -lwslay -lhttp_parser $(PKG_LIBS) -ldl -lm

# One archive per module; programs link them in one group, so each takes only
# what it uses. The arrows between modules are checked by scripts/layers.sh.
MODULES := core graphql reactor proto store http agent cli replay
MAINS := src/agent/main.c src/cli/main.c src/replay/main.c
define module_srcs
$(filter-out $(MAINS),$(wildcard src/$(1)/*.c))
endef
$(foreach m,$(MODULES),$(eval SRC_$(m) := $(call module_srcs,$(m))))
ARCHIVES := $(foreach m,$(MODULES),$(if $(SRC_$(m)),$(BUILD)/lib$(m).a))

PROGRAMS := $(BUILD)/gantryd \
            $(if $(wildcard src/agent/main.c),$(BUILD)/gantry-agent) \
            $(if $(wildcard src/cli/main.c),$(BUILD)/gantryctl) \
            $(if $(wildcard src/replay/main.c),$(BUILD)/gantry-replay)
# A bench program is bench/NAME.c, or a folder bench/NAME/ of .c files.
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_DIRS := $(patsubst %/,%,$(dir $(wildcard bench/*/*.c)))
BENCH_PROGS := $(patsubst bench/%.c,$(BUILD)/%,$(BENCH_SRCS)) \
               $(patsubst bench/%,$(BUILD)/%,$(sort $(BENCH_DIRS)))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_PROGS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all run check unit e2e bench fuzz install clean deps layers
.DEFAULT_GOAL := all

all: $(PROGRAMS) $(BENCH_PROGS)

# V=1 shows the commands.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The interactive API documentation (/swagger/) runs Swagger UI, npm's
# swagger-ui-dist at a pinned version: scripts/swagger_ui.sh fetches it once
# (npm pack) into build/cache/, checks it against this sha512 and unpacks
# the two files the page needs; it is never copied into the repository, and
# with the cache present the build needs no network.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_SHA512 := U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
SWAGGER_UI_CACHE ?= build/cache
SWAGGER_UI_DIR := $(SWAGGER_UI_CACHE)/swagger-ui-dist-$(SWAGGER_UI_VERSION)
SWAGGER_UI_LIBS := $(SWAGGER_UI_DIR)/swagger-ui-bundle.js $(SWAGGER_UI_DIR)/swagger-ui.css
$(SWAGGER_UI_LIBS) &: scripts/swagger_ui.sh
	$(Q)sh scripts/swagger_ui.sh $(SWAGGER_UI_VERSION) $(SWAGGER_UI_SHA512) $(SWAGGER_UI_CACHE)

# Files embedded in gantryd, as one generated C table: the console
# (src/http/ui/), the GraphQL explorer (src/http/explorer/) and the chart
# library the console uses, read from Debian's libjs-dygraphs at build time,
# never copied into the repository; the API documentation page
# (src/http/swagger/) and Swagger UI.
DYGRAPHS ?= /usr/share/javascript/dygraphs
UI_SRCS := $(sort $(wildcard src/http/ui/*.* src/http/swagger/*.*)) \
           $(sort $(wildcard src/http/explorer/*.*))
UI_LIBS := $(DYGRAPHS)/dygraph.min.js $(DYGRAPHS)/dygraph.min.css $(SWAGGER_UI_LIBS)
GEN_http := $(BUILD)/obj/gen/ui_assets.o $(BUILD)/obj/gen/openapi_data.o
$(BUILD)/obj/gen/openapi_data.c: src/http/openapi.json scripts/embed.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed.sh $< openapi_data > $@.tmp
	$(Q)mv $@.tmp $@
$(BUILD)/obj/gen/ui_assets.c: $(UI_SRCS) $(UI_LIBS) src/http/ui src/http/swagger src/http/explorer \
                              scripts/embed_assets.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  EMBED $(words $(UI_SRCS) $(UI_LIBS)) files")
	$(Q)sh scripts/embed_assets.sh $(foreach f,$(UI_SRCS) $(UI_LIBS),$(notdir $(f))=$(f)) > $@.tmp
	$(Q)mv $@.tmp $@
# The folders are prerequisites (adding or removing a file changes their
# time); nothing makes them, whatever make's built-in rules would try with
# src/http/ui.c.
src/http/ui src/http/swagger src/http/explorer: ;
$(BUILD)/obj/gen/%.o: $(BUILD)/obj/gen/%.c
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

define archive_rule
$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(SRC_$(1))) $(GEN_$(1))
	@rm -f $$@
	$(Q)ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(if $(SRC_$(m)),$(eval $(call archive_rule,$(m)))))

LINK = @$(if $(Q),echo "  LINK  $@";) $(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) \
       -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS)
libs = $(filter $(foreach m,$(1),$(BUILD)/lib$(m).a),$(ARCHIVES))

# gantryd is src/gantryd.c and the wiring files beside it (src/gantryd_*.c).
$(BUILD)/gantryd: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/gantryd*.c)) \
                  $(call libs,core graphql reactor proto store http)
	$(LINK)
$(BUILD)/gantry-agent: $(BUILD)/obj/src/agent/main.o $(call libs,core reactor proto agent)
	$(LINK)
# Only gantryctl links the line editor.
EDIT_LIBS := $(shell pkg-config --libs libedit 2>/dev/null)
$(BUILD)/gantryctl: LIBS += $(EDIT_LIBS)
$(BUILD)/gantryctl: $(BUILD)/obj/src/cli/main.o $(call libs,core cli)
	$(LINK)
$(BUILD)/gantry-replay: $(BUILD)/obj/src/replay/main.o $(call libs,core reactor proto replay)
	$(LINK)
$(BUILD)/%: $(BUILD)/obj/bench/%.o $(ARCHIVES)
	$(LINK)
define bench_dir_rule
$(BUILD)/$(notdir $(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c)) $(ARCHIVES)
	@$(if $(Q),echo "  LINK  $$@";) $(CC) $(LDFLAGS) -o $$@ $$(filter %.o,$$^) \
	    -Wl,--start-group $(ARCHIVES) -Wl,--end-group $(LIBS)
endef
$(foreach d,$(sort $(BENCH_DIRS)),$(eval $(call bench_dir_rule,$(d))))
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(LINK) -lcmocka

deps:
	@scripts/deps.sh

layers:
	@scripts/layers.sh

# The tests run against a sanitized build of everything (AddressSanitizer and
# UndefinedBehaviorSanitizer), kept apart in build/asan; the few that
# measure memory or latency use the optimized build in build/.
check: deps layers
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-progs
	@scripts/check.sh build/asan

# A stand-in NVML library for the agent's GPU tests (there is no GPU here).
FAKE_NVML := $(BUILD)/tests/fake-nvml/libnvidia-ml.so.1
$(FAKE_NVML): tests/unit/fake_nvml.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fPIC -shared $< -o $@

unit-progs: $(UNIT_PROGS) $(if $(wildcard tests/unit/fake_nvml.c),$(FAKE_NVML))

# Packages come first, then a fresh make reads pkg-config with them present.
run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh $(BUILD)

bench:
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@bench/run.sh $(BUILD)

fuzz:
	@scripts/deps.sh --fuzz
	@scripts/fuzz.sh $(FUZZ_TIME)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/gantry \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 conf/gantry.conf $(DESTDIR)$(SYSCONFDIR)/gantry/gantry.conf
	for f in conf/*.service; do \
	    sed 's|@BINDIR@|$(PREFIX)/bin|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$f \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$f); done

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
