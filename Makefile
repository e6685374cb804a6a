# in_cloudtrail: Fluent Bit input plugin for AWS CloudTrail (S3 via SQS).
#
#   make build     build/in_cloudtrail.so, the plugin (cgo c-shared)
#   make cloudtrail-check   build/cloudtrail-check, the connection check command
#   make cloudtrail-backfill   build/cloudtrail-backfill, enqueues a bucket's CloudTrail history
#   make test      build everything and run every test (starts its own AWS emulator)
#   make demo      emulator seeded with real CloudTrail files -> Fluent Bit -> stdout
#   make bench     decode-path benchmarks (benchstat-friendly)
#   make loadtest  1M events through Fluent Bit (not part of make test)
#   make soak      an hour of load with faults, RSS/fds/goroutines flat (not part of make test)
#   make crashloop N=20   the SIGKILL test N times in a row, two busy loops competing (needs fluent-bit)
#   make build GOARCH=arm64   cross-compile the plugin (needs aarch64-linux-gnu-gcc) into build/linux-arm64/
#   make dist      release artifacts for linux amd64 and arm64, with SHA256SUMS, in dist/

GO        ?= go
BUILD     := build
# A release names its build: git describe, printed in the plugin's start
# line and by -version of each command.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/version.Version=$(VERSION)
HOSTARCH  := $(shell $(GO) env GOHOSTARCH)
GOARCH    ?= $(HOSTARCH)
# A cross build goes to its own directory with its own C compiler (cgo).
CROSS_CC_arm64 := aarch64-linux-gnu-gcc
CROSS_CC_amd64 := x86_64-linux-gnu-gcc
ifeq ($(GOARCH),$(HOSTARCH))
ARCHBUILD := $(BUILD)
SO_CC     := $(CC)
else
ARCHBUILD := $(BUILD)/linux-$(GOARCH)
SO_CC     := $(CROSS_CC_$(GOARCH))
endif
SO        := $(ARCHBUILD)/in_cloudtrail.so
# libdeflate (Debian: libdeflate-dev, and libdeflate-dev:arm64 for the cross
# build) is linked statically and inflates gzip objects about 2.3x faster
# than Go's reader (plugin/inflate). Without it for the target, the plugin
# is built with Go's reader instead, says so at build and at start.
HAVE_LIBDEFLATE := $(shell printf '\043include <libdeflate.h>\nint main(void){return libdeflate_alloc_decompressor()==0;}\n' | $(SO_CC) -x c - -o /dev/null -l:libdeflate.a >/dev/null 2>&1 && echo yes)
ifneq ($(HAVE_LIBDEFLATE),yes)
GOTAGS := -tags nolibdeflate
endif
HARNESS   := $(BUILD)/harness
AWSEMU    := $(BUILD)/awsemu
CHECK     := $(ARCHBUILD)/cloudtrail-check
BACKFILL  := $(ARCHBUILD)/cloudtrail-backfill
DIST      := dist
BENCHCOUNT ?= 6
BENCH      ?= .

export IN_CLOUDTRAIL_SO := $(abspath $(SO))
export HARNESS_BIN      := $(abspath $(HARNESS))
export AWSEMU           := $(abspath $(AWSEMU))
export CLOUDTRAIL_BACKFILL := $(abspath $(BACKFILL))

GO_SOURCES := $(shell find plugin cloudtrail -name '*.go' -not -name '*_test.go') plugin/flb.c plugin/flb.h go.mod go.sum

.PHONY: all build cloudtrail-check cloudtrail-backfill harness awsemu test vet bench loadtest demo clean docker soak crashloop dist

all: build cloudtrail-check cloudtrail-backfill

build: $(SO)

$(SO): $(GO_SOURCES)
	@mkdir -p $(ARCHBUILD)
	@command -v "$(SO_CC)" >/dev/null || { echo "no C compiler $(SO_CC) for GOARCH=$(GOARCH): apt-get install gcc-aarch64-linux-gnu (Debian)"; exit 1; }
	@test -z "$(GOTAGS)" || test -z "$(REQUIRE_LIBDEFLATE)" || { echo "no libdeflate for $(SO_CC): a release is built with it (Debian: apt-get install libdeflate-dev, or libdeflate-dev:arm64 after dpkg --add-architecture arm64)"; exit 1; }
	@test -z "$(GOTAGS)" || echo "WARNING: no libdeflate for $(SO_CC): building with Go's gzip reader, about 2.3x slower to inflate (Debian: apt-get install libdeflate-dev, or libdeflate-dev:arm64 after dpkg --add-architecture arm64)"
	CGO_ENABLED=1 GOOS=linux GOARCH=$(GOARCH) CC=$(SO_CC) $(GO) build $(GOTAGS) -buildmode=c-shared -trimpath -ldflags='-s -w $(LDFLAGS)' -o $@ ./plugin
	@rm -f $(ARCHBUILD)/in_cloudtrail.h

cloudtrail-check: $(CHECK)

$(CHECK): $(GO_SOURCES)
	@mkdir -p $(ARCHBUILD)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $@ ./cloudtrail/cmd/cloudtrail-check

cloudtrail-backfill: $(BACKFILL)

$(BACKFILL): $(GO_SOURCES)
	@mkdir -p $(ARCHBUILD)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $@ ./cloudtrail/cmd/cloudtrail-backfill

harness: $(HARNESS)

$(HARNESS): test/harness/harness.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -g -Wall -Wextra -pthread -o $@ $< -ldl

awsemu: $(AWSEMU)

$(AWSEMU): test/awsemu/main.go test/awsemu/go.mod
	@mkdir -p $(BUILD)
	cd test/awsemu && $(GO) build -o $(abspath $(AWSEMU)) .

vet:
	@test -z "$$(gofmt -l plugin cloudtrail test)" || { echo "gofmt needed:"; gofmt -l plugin cloudtrail test; exit 1; }
	$(GO) vet $(GOTAGS) ./...
	$(GO) vet -tags nolibdeflate ./plugin/...

# Output as plain go test, then every skipped test with its reason
# (test/testreport): a skip is not a pass.
test: build cloudtrail-check cloudtrail-backfill harness awsemu vet
	@$(GO) build -o $(BUILD)/testreport ./test/testreport
	bash -o pipefail -c '$(GO) test $(GOTAGS) -count=1 -timeout 20m -json ./... | $(BUILD)/testreport'

# One core (GC included), -count for benchstat: make bench > new.txt; benchstat old.txt new.txt
bench:
	GOMAXPROCS=1 $(GO) test $(GOTAGS) -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCHCOUNT) -timeout 30m ./cloudtrail/... ./plugin/inflate

# make loadtest ARGS='-schema ocsf -big-mb 200 -output http' (go run ./test/loadtest -h lists the flags)
loadtest: build harness awsemu
	$(GO) run ./test/loadtest $(ARGS)

# Fault suite soak: an hour of load with periodic faults; RSS, fds and goroutines must stay flat
# (make test runs 35 s of it). make soak SOAK_DURATION=10m; samples go to build/soak.csv
SOAK_DURATION ?= 1h
soak: build harness awsemu
	SOAK_DURATION=$(SOAK_DURATION) SOAK_OUT=$(abspath $(BUILD))/soak.csv $(GO) test -count=1 -timeout 3h -run '^TestSoak$$' -v ./test/fault

# SIGKILL a real Fluent Bit mid-ingestion N times (each run kills it twice,
# with two busy loops on the CPU): 0 events missing and < 10 % duplicates
# every time. One log per run in build/crashloop-N.log.
N ?= 20
crashloop: build harness awsemu
	@pass=0; for i in $$(seq 1 $(N)); do \
	  if $(GO) test -count=1 -timeout 15m -run '^TestSIGKILLWithFilesystemStorage$$' -v ./test/e2e > $(BUILD)/crashloop-$$i.log 2>&1; then \
	    pass=$$((pass+1)); r=PASS; else r=FAIL; fi; \
	  grep -q 'SKIP' $(BUILD)/crashloop-$$i.log && { echo "SKIPPED: no fluent-bit (see $(BUILD)/crashloop-$$i.log)"; exit 1; }; \
	  echo "run $$i: $$r: $$(grep -o '[0-9]* eventIDs, [0-9]* duplicates ([0-9.]*%)' $(BUILD)/crashloop-$$i.log)"; \
	done; echo "crashloop: $$pass of $(N) runs passed"; test $$pass -eq $(N)

demo: build harness awsemu
	$(GO) run ./test/demo $(ARGS)

# dist/in_cloudtrail-VERSION-linux-ARCH.so, the commands for both
# architectures and SHA256SUMS, built from scratch with the version stamped.
dist:
	rm -rf $(DIST) $(BUILD)/dist
	@mkdir -p $(DIST)
	@for arch in amd64 arm64; do \
	  $(MAKE) --no-print-directory build cloudtrail-check cloudtrail-backfill GOARCH=$$arch BUILD=$(BUILD)/dist/$$arch VERSION=$(VERSION) REQUIRE_LIBDEFLATE=1 || exit 1; \
	  d=$$(ls -d $(BUILD)/dist/$$arch/linux-$$arch 2>/dev/null || echo $(BUILD)/dist/$$arch); \
	  cp $$d/in_cloudtrail.so $(DIST)/in_cloudtrail-$(VERSION)-linux-$$arch.so; \
	  cp $$d/cloudtrail-check $(DIST)/cloudtrail-check-$(VERSION)-linux-$$arch; \
	  cp $$d/cloudtrail-backfill $(DIST)/cloudtrail-backfill-$(VERSION)-linux-$$arch; \
	done
	cd $(DIST) && sha256sum * > SHA256SUMS && cat SHA256SUMS

# Both architectures: docker buildx build --platform linux/amd64,linux/arm64 -t in_cloudtrail .
docker:
	docker build -t in_cloudtrail .

clean:
	rm -rf $(BUILD)
