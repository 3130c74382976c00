package host

import (
	"testing"

	"github.com/lgdbg/lgdbg/hv/internal/asm"
	"github.com/lgdbg/lgdbg/hv/mem"
)

const (
	testEntry      = asm.Entry
	testLguestData = asm.LguestData
	testRAM        = asm.RAM
)

// newTestHost assembles src and builds a Host around it, as the Launcher
// would around a kernel (but without boot_params: these guests don't read
// them).
func newTestHost(t testing.TB, src string, pae bool) *Host {
	t.Helper()
	code := asm.Assemble(t, src)
	h, err := New(Config{RAM: testRAM, PAE: pae}, func(m *mem.Phys) (uint32, error) {
		m.WriteBytes(testEntry, code)
		return testEntry, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// runTest runs a test guest to its end (bounded, so a broken guest fails
// rather than hangs).
func runTest(t *testing.T, h *Host) Stop {
	t.Helper()
	s := h.run(runOpts{limit: 50_000_000})
	if s.Reason == StopInstructionLimit {
		t.Fatalf("guest still running after %d instructions at eip %#x", s.ICount, s.EIP)
	}
	return s
}

func eventsOf(h *Host, k EventKind) []Event {
	all, _ := h.events.Since(0)
	var out []Event
	for _, e := range all {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}
