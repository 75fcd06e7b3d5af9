# Everything runs with the Bun that npm installs into node_modules, so a fresh
# machine with only Node.js and npm needs nothing else.
BUN      := node_modules/.bin/bun
TSC      := node_modules/.bin/tsc
BIN      := dist/kafka-clone
STAMP    := node_modules/.installed
SOURCES  := $(shell find src -name '*.ts' 2>/dev/null) package.json
DATA_DIR ?= ./data
TOPIC    ?= events
ZK       ?= 127.0.0.1:2181

.PHONY: all install build test typecheck unit bench bench-auth bench-groups bench-log bench-failover cluster produce consume chaos fuzz clean

all: build

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@# npm may skip bun's postinstall; make sure the binary really runs.
	@$(BUN) --version >/dev/null 2>&1 || node node_modules/bun/install.js
	@$(BUN) --version >/dev/null
	@touch $@

install: $(STAMP)

$(BIN): $(STAMP) $(SOURCES)
	@mkdir -p dist
	$(BUN) build src/main.ts src/broker/zk-session-worker.ts --compile --no-compile-autoload-dotenv --no-compile-autoload-bunfig --outfile $(BIN)

build: $(BIN)

typecheck: $(STAMP)
	$(TSC) -p tsconfig.json

# The README's test command: type check, then the whole suite (integration tests run the compiled binary).
test: typecheck $(BIN)
	$(BUN) test --timeout 60000

unit: $(STAMP)
	$(BUN) test test/unit

# Every port fuzzed with many more cases than `make test` runs, from a fresh seed range each time
# (FUZZ_SEED=<n> FUZZ_CASES=<n> picks them; a failure prints the pair that replays its batch).
FUZZ_CASES ?= 50000
FUZZ_SEED  ?= $(shell date +%s)
fuzz: $(BIN)
	FUZZ_CASES=$(FUZZ_CASES) FUZZ_SEED=$(FUZZ_SEED) $(BUN) test test/integration/fuzz-*.test.ts --timeout 3600000

# The broker end to end: `kafka-clone bench suite` starts the compiled binary as a standalone broker
# and loads it over loopback; then consumer groups and the cluster secret's cost (bench groups, bench auth).
# BENCH_ARGS=--json prints one JSON object each; sizes via BENCH_* (see README).
bench: $(BIN)
	$(BIN) bench suite $(BENCH_ARGS)
	$(BIN) bench groups $(BENCH_ARGS)
	$(BIN) bench auth $(BENCH_ARGS)

# Consumer groups: settle time after a member joins / leaves (median of 10) and a group of 3 against a
# single consumer, with their own standalone broker; figures only. Sizes via BENCH_GROUP_* (see README).
bench-groups: $(BIN)
	$(BIN) bench groups $(BENCH_ARGS)

# The cluster secret's cost: a broker with one against one without, same run, steps alternating; figures and
# ratios only. BENCH_AUTH_SECONDS (6) per broker and record size, BENCH_RECORD_SIZES (100,1024).
bench-auth: $(BIN)
	$(BIN) bench auth $(BENCH_ARGS)

# Storage engine benchmark: prints figures and the issue's targets, asserts nothing about speed.
# BENCH_DIR=<dir> picks the disk (default ./data); BENCH_ARGS=--json prints one JSON object;
# sizes via BENCH_APPEND_MB, BENCH_LOG_REOPEN_MB, ... (see bench/log-bench.ts).
bench-log: $(STAMP)
	$(BUN) run bench/log-bench.ts $(BENCH_ARGS)

# Failover: a zookeeper and three brokers (the compiled binary, default settings), a steady producer,
# kill -9 of the active broker 10 times (restarted as a standby each time). Prints each unavailability
# window, records lost and duplicated, spurious elections, median/max and the targets (PASS/MISS);
# never fails on speed. BENCH_ARGS=--json; knobs BENCH_FAILOVER_* and BENCH_DIR (see bench/failover-bench.ts).
bench-failover: $(STAMP) $(BIN)
	$(BUN) run bench/failover-bench.ts $(BENCH_ARGS)

# Chaos checker: a zookeeper and three brokers (the compiled binary), idempotent producers and live
# consumers, and a seeded schedule of faults (kill -9 / SIGSTOP of the active broker, of any broker and
# of the zookeeper, zookeeper and broker restarts; as root also network partitions, each process in its
# own network namespace); then the topic is read back (and again after a full crash-restart) and checked
# for lost, duplicated, reordered or conflicting records, failed writes that were read, consumer offsets
# going backwards or skipping, leader epochs going down on disk, and the longest time without an
# acknowledgement. Exits non-zero on any anomaly. CHAOS_SECONDS (60), CHAOS_SEED (a fresh one is printed;
# the same seed replays the same schedule), CHAOS_NETWORK (0 = loopback only); see test/chaos/chaos.ts.
chaos: $(STAMP) $(BIN)
	$(BUN) run test/chaos/chaos.ts $(CHAOS_ARGS)

# A zookeeper and three brokers on ./data in the foreground; Ctrl-C stops them all.
cluster: $(BIN)
	$(BIN) local-cluster --brokers 3 --data-dir $(DATA_DIR)

# One record per stdin line, to the cluster started by `make cluster`.
produce: $(BIN)
	$(BIN) produce --topic $(TOPIC) --zookeeper $(ZK) --create --partitions 3

consume: $(BIN)
	$(BIN) consume --topic $(TOPIC) --zookeeper $(ZK) --from-beginning

clean:
	rm -rf dist
