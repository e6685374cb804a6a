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

GO        ?= go
BUILD     := build
SO        := $(BUILD)/in_cloudtrail.so
HARNESS   := $(BUILD)/harness
AWSEMU    := $(BUILD)/awsemu
CHECK     := $(BUILD)/cloudtrail-check
BACKFILL  := $(BUILD)/cloudtrail-backfill
CC        ?= cc
BENCHCOUNT ?= 6
BENCH      ?= .

export IN_CLOUDTRAIL_SO := $(abspath $(SO))
export HARNESS_BIN      := $(abspath $(HARNESS))
export AWSEMU           := $(abspath $(AWSEMU))
export CLOUDTRAIL_BACKFILL := $(abspath $(BACKFILL))

GO_SOURCES := $(shell find plugin cloudtrail -name '*.go' -not -name '*_test.go') plugin/flb.c plugin/flb.h go.mod go.sum

.PHONY: all build cloudtrail-check cloudtrail-backfill harness awsemu test vet bench loadtest demo clean docker soak crashloop

all: build cloudtrail-check cloudtrail-backfill

build: $(SO)

$(SO): $(GO_SOURCES)
	@mkdir -p $(BUILD)
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ ./plugin
	@rm -f $(BUILD)/in_cloudtrail.h

cloudtrail-check: $(CHECK)

$(CHECK): $(GO_SOURCES)
	@mkdir -p $(BUILD)
	$(GO) build -trimpath -o $@ ./cloudtrail/cmd/cloudtrail-check

cloudtrail-backfill: $(BACKFILL)

$(BACKFILL): $(GO_SOURCES)
	@mkdir -p $(BUILD)
	$(GO) build -trimpath -o $@ ./cloudtrail/cmd/cloudtrail-backfill

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
	$(GO) vet ./...

test: build cloudtrail-check cloudtrail-backfill harness awsemu vet
	$(GO) test -count=1 -timeout 20m ./...

# One core (GC included), -count for benchstat: make bench > new.txt; benchstat old.txt new.txt
bench:
	GOMAXPROCS=1 $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCHCOUNT) -timeout 30m ./cloudtrail/...

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

docker:
	docker build -t in_cloudtrail .

clean:
	rm -rf $(BUILD)
