package main

// default.pgo, next to this file, is the CPU profile go build uses for
// profile-guided optimisation of lgdbg. It comes from the boot benchmarks of
// the kernel-shaped guest (its inflate under linear_pages, then its boot
// phase) and of the compute guest; regenerate it after changing the CPU's hot
// loop with go generate in this directory:
//
//go:generate sh -c "go test ../../tests/e2e -run XXX -bench 'BootKernlike|BootCompute' -benchtime 6x -cpuprofile default.pgo.new && mv default.pgo.new default.pgo && rm -f e2e.test"
