# lgdbg developer targets. CI runs `go vet ./...` and `go test ./...`; the
# fuzzers are run by hand (`make fuzz`), their seed corpora (f.Add and
# testdata/fuzz/) run as ordinary tests under `go test`.

# Budget: FUZZTIME per fuzzer (7 fuzzers today: 7 minutes at the default), each
# new interesting input minimised for at most FUZZMINIMIZE. Go's default
# minimisation budget is 60 s, during which the exec counter does not move:
# that, not a slow input, is what looked like a stalled fuzzer.
FUZZTIME     ?= 60s
FUZZMINIMIZE ?= 5s
FUZZPARALLEL ?= 2

# Every fuzzer in the tree, as package:name (found, not listed, so a new
# one is run without editing this file).
FUZZERS = $(shell grep -rn --include='*_test.go' '^func Fuzz' . | \
	sed -E 's|^(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*).*|\1:\2|' | sort)

.PHONY: test vet fuzz fuzz-list

test:
	go test ./...

vet:
	go vet ./...

fuzz:
	@set -e; for f in $(FUZZERS); do \
		pkg=$${f%%:*}; name=$${f##*:}; \
		echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) \
			-fuzzminimizetime $(FUZZMINIMIZE) -parallel $(FUZZPARALLEL) $$pkg; \
	done

fuzz-list:
	@for f in $(FUZZERS); do echo $$f; done
