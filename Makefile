# kazoo.so: Kamailio's kazoo AMQP module, in Go.
#
#   make            build build/kazoo.so for the kamailio installed here (kamailio -v)
#   make test       every test: Go unit tests, then end-to-end tests with real Kamailio,
#                   RabbitMQ and sipp (what .ci/run runs)
#   make install    copy kazoo.so into Kamailio's module directory (replaces the C module)
#   make deb        build/kamailio-kazoo-go-modules_<kamailio version>+go<n>_<arch>.deb
#
# Variables: KAMAILIO_BIN (kamailio to build for), KAMAILIO_SRC (your own source tree of that
# version, configured with make cfg or CMake), KAMAILIO_BUILD_DIR (its CMake build directory),
# KAMAILIO_LIBDIR (where libsrdb1.so is, before 6.0), GO (go binary), BUILD and CACHE (output
# and Kamailio source directories: one pair per target when building for several).

GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
KAMAILIO_BIN ?= $(shell command -v kamailio || echo /usr/sbin/kamailio)
CACHE ?= .cache/kamailio
BUILD ?= build
SO := $(BUILD)/kazoo.so
MODDIR ?= $(shell dirname "$$(dpkg -L kamailio 2>/dev/null | grep '/modules/tm.so$$' | head -1)" 2>/dev/null)
# Kamailio's DB API (kazoo_pua_publish writes through it): libsrdb1 with a runpath, as the C
# module links it, before 6.0; nothing since (the kamailio binary exports it). prepare.sh decides.
SHIM_LDFLAGS = -Wl,-u,exports $(abspath $(SHIM_LIB)) $(shell cat $(CACHE)/ldflags 2>/dev/null)

# The shim: make compiles cshim/*.c into an archive, which the Go link pulls in from kz_mod.o's
# `exports` (everything else is reached from there or, for go_runtime.o, through
# --wrap=pthread_create). Make tracks the shim's sources and headers (-MMD); Go's build cache
# never sees them (it does not notice edits to C files included from outside the package
# directory), and it relinks every time because the output, $(SO).tmp, never exists beforehand.
SHIM_OBJS = $(patsubst cshim/%.c,$(BUILD)/shim/%.o,$(wildcard cshim/*.c))
SHIM_LIB = $(BUILD)/libkzshim.a
# Only the -D set (kamdefs.h) and the ABI flags matter for loading; the rest follows Debian's
# module build (dpkg-buildflags) for hardening, and GCC 14's default errors (Debian 13's
# compiler) are errors with every compiler.
SHIM_CFLAGS = -I$(abspath $(CACHE)) -I$(abspath $(CACHE))/src -O2 -g -pthread -fPIC \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -Wall -Wno-unused-function \
	-Werror=incompatible-pointer-types -Werror=implicit-function-declaration -Werror=int-conversion

GO_SOURCES := $(shell find kazoo -name '*.go' -not -name '*_test.go') cshim/kazoo_abi.h go.mod go.sum

.PHONY: all headers shim-check check test unit-test e2e-test install deb clean FORCE
all: $(SO)

# prepare.sh runs every time (it is quick when nothing changed) and rewrites the stamp only
# when the target kamailio, its tree or the scripts changed
headers: $(CACHE)/stamp
$(CACHE)/stamp: FORCE
	KAMAILIO_BIN=$(KAMAILIO_BIN) kamailio-headers/prepare.sh $(CACHE)

$(BUILD)/shim/%.o: cshim/%.c $(CACHE)/stamp
	@mkdir -p $(@D)
	$(CC) -c $(SHIM_CFLAGS) -ffile-prefix-map=$(CURDIR)/= -Icshim -MMD -MP -o $@ $<
-include $(SHIM_OBJS:.o=.d)

$(SHIM_LIB): $(SHIM_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(SO): $(CACHE)/stamp $(SHIM_LIB) $(GO_SOURCES)
	@mkdir -p $(BUILD)
	rm -f $(SO).tmp
	CGO_ENABLED=1 CGO_CFLAGS="$(SHIM_CFLAGS)" CGO_LDFLAGS="$(SHIM_LDFLAGS)" $(GO) build -tags kazoo_so -buildmode=c-shared \
		-trimpath -o $(SO).tmp ./kazoo
	rm -f $(BUILD)/kazoo.so.tmp.h
	KAMAILIO_BIN=$(KAMAILIO_BIN) scripts/check-module.sh --strings $(CACHE) $(SO).tmp
	mv $(SO).tmp $(SO)

# the shim alone, every file compiled again with the module's flags: its warnings, even when
# its objects are up to date (scripts/matrix.sh counts them per Kamailio version)
shim-check: $(CACHE)/stamp
	@for f in cshim/*.c; do $(CC) -fsyntax-only $(SHIM_CFLAGS) -Icshim $$f || exit 1; done

check: $(SO)
	KAMAILIO_BIN=$(KAMAILIO_BIN) scripts/check-module.sh --strings $(CACHE) $(SO)

unit-test:
	$(GO) vet ./...
	$(GO) test -race ./kazoo/...

e2e-test: $(SO)
	KAZOO_SO=$(CURDIR)/$(SO) $(GO) test -count=1 -timeout 30m ./tests/...

test: $(SO)
	scripts/test.sh

install: $(SO)
	@[ -n "$(MODDIR)" ] || { echo "cannot find Kamailio's module directory; make install MODDIR=..."; exit 1; }
	install -m 0644 $(SO) $(MODDIR)/kazoo.so

# a .deb that installs kazoo.so into Debian's module directory, replacing kamailio-kazoo-modules
deb: $(SO)
	scripts/make-deb.sh $(SO) $(BUILD)

clean:
	rm -rf $(BUILD)
