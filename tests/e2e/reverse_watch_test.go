package e2e

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/symbols"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// elfSymbol is the address of a symbol in one of the built guests' ELF.
func elfSymbol(t testing.TB, elfName, sym string) uint32 {
	t.Helper()
	f, err := elf.Open(filepath.Join(guestDir, elfName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == sym {
			return uint32(s.Value)
		}
	}
	t.Fatalf("%s has no symbol %s", elfName, sym)
	return 0
}

func readU32(t testing.TB, m *hv.Machine, va uint32) uint32 {
	t.Helper()
	var b [4]byte
	if err := m.ReadVirt(va, b[:]); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint32(b[:])
}

// TestReverseContinueWatchpointEdges: with a write watchpoint on the
// revdebug guest's rev_counter, reverse-continue lands before the
// instruction that last wrote it — the same instant a Goto to one
// instruction before the forward hit reaches, with the value from before
// the write — when that write is the instruction just before the present,
// when a checkpoint lies right after or right before it, and across
// checkpoint intervals without a hit. A breakpoint at a checkpoint's very
// instant is found too.
func TestReverseContinueWatchpointEdges(t *testing.T) {
	m, _, exp := historyMachine(t, "revdebug")
	counter := elfSymbol(t, exp.ELF, "rev_counter")
	m.SetWatchpoint(counter, 4, cpu.WatchWrite)
	// The writes, forward: the icount after each and the value it left.
	type write struct {
		after uint64
		value uint32
	}
	var writes []write
	for {
		s := m.Run(exp.MaxInstructions)
		if s.Reason != hv.StopWatchpoint {
			break
		}
		writes = append(writes, write{s.ICount, readU32(t, m, counter)})
	}
	if len(writes) != 8 {
		t.Fatalf("%d writes to rev_counter, the guest makes 8 (2 per rev_mid)", len(writes))
	}
	before := func(j int) uint32 {
		if j == 0 {
			return 0
		}
		return writes[j-1].value
	}
	// want is the instant one instruction before write j, reached by Goto.
	want := func(j int) instant {
		m.ClearWatchpoint(counter, 4, cpu.WatchWrite)
		defer m.SetWatchpoint(counter, 4, cpu.WatchWrite)
		if _, err := m.Goto(writes[j].after - 1); err != nil {
			t.Fatal(err)
		}
		return now(m)
	}
	check := func(what string, j int) {
		t.Helper()
		st, err := m.ReverseContinue()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := now(m)
		if st.Reason != hv.StopWatchpoint || got.regs.ICount != writes[j].after-1 {
			t.Fatalf("%s: reverse-continue stopped %s, want before write %d at icount %d", what, st, j, writes[j].after-1)
		}
		if v := readU32(t, m, counter); v != before(j) {
			t.Errorf("%s: rev_counter %d, want %d from before write %d", what, v, before(j), j)
		}
		if w := want(j); got != w {
			t.Errorf("%s: landed at\n %+v\nGoto(%d) gives\n %+v", what, got, writes[j].after-1, w)
		}
	}
	cpAt := func(ic uint64) {
		// A debugger's write (of the same bytes) checkpoints the present.
		if _, err := m.Goto(ic); err != nil {
			t.Fatal(err)
		}
		v := readU32(t, m, counter)
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v)
		if err := m.WriteVirt(counter, b[:]); err != nil {
			t.Fatal(err)
		}
		if cps := m.Checkpoints(); cps[len(cps)-1] != ic {
			t.Fatalf("no checkpoint at %d: %v", ic, cps)
		}
	}
	j := 5
	// The write just before the present: its stop is at the present.
	if _, err := m.Goto(writes[j].after); err != nil {
		t.Fatal(err)
	}
	check("write just before the present", j)
	// And on back, across intervals, to the first.
	for k := j - 1; k >= 0; k-- {
		check("the write before", k)
	}
	if st, err := m.ReverseContinue(); err != nil || st.Reason != hv.StopHistoryStart {
		t.Fatalf("before the first write: %s %v, want the start of history", st, err)
	}
	// A checkpoint right after the write, then one right before it.
	j = 3
	cpAt(writes[j].after)
	if _, err := m.Goto(writes[j].after + 1000); err != nil {
		t.Fatal(err)
	}
	check("checkpoint right after the write", j)
	cpAt(writes[j].after - 1)
	if _, err := m.Goto(writes[j].after + 1000); err != nil {
		t.Fatal(err)
	}
	check("checkpoint right before the write", j)

	// A breakpoint at the instant of a checkpoint.
	m.ClearWatchpoint(counter, 4, cpu.WatchWrite)
	leaf := elfSymbol(t, exp.ELF, "rev_leaf")
	if _, err := m.Goto(writes[j].after - 1); err != nil {
		t.Fatal(err)
	}
	m.SetBreakpoint(leaf)
	st, err := m.ReverseContinue()
	if err != nil || st.Reason != hv.StopBreakpoint || st.EIP != leaf {
		t.Fatalf("reverse-continue to rev_leaf: %s %v", st, err)
	}
	entry := st.ICount
	cpAt(entry)
	if _, err := m.Goto(entry + 100); err != nil {
		t.Fatal(err)
	}
	if st, err := m.ReverseContinue(); err != nil || st.Reason != hv.StopBreakpoint || st.ICount != entry {
		t.Fatalf("breakpoint at a checkpoint's instant %d: reverse-continue %s %v", entry, st, err)
	}
}

// TestReverseContinuePassesOverDeadAliases: a breakpoint at a kernel link
// address is also armed at its load address, and a hit there counts only
// while that address is mapped 1:1 (hv/loadalias.go); elsewhere (a user
// page at the same virtual address) forward runs pass over it, and so must
// reverse-continue. The traps guest runs user code at 0x08048000; a symbol
// table that puts a kernel segment's load address there arms that alias.
func TestReverseContinuePassesOverDeadAliases(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	exp, err := guests.Expect("traps")
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(filepath.Join(guestDir, exp.BzImage))
	if err != nil {
		t.Fatal(err)
	}
	const userCode, link = 0x08048000, 0xE8048000
	syms := symbols.New(0x100000, []symbols.Segment{{Link: link, Load: userCode, Size: 0x1000, Exec: true}}, nil, nil)
	m, err := hv.New(hv.Config{Image: img, RAM: uint32(exp.MemMiB) << 20, Symbols: syms, History: int64(exp.MemMiB) << 20})
	if err != nil {
		t.Fatal(err)
	}
	m.SetBreakpoint(link)
	end := m.Run(exp.MaxInstructions)
	if !end.Reason.Terminal() {
		t.Fatalf("forward, the alias in user space stopped the run: %s", end)
	}
	// The user code did run there.
	evs, _ := m.Events(0)
	user := false
	for _, e := range evs {
		user = user || e.EIP-userCode < 0x1000
	}
	if !user {
		t.Fatalf("no event from the user code at %#x: the test needs it", userCode)
	}
	if _, err := m.Goto(end.ICount - 1); err != nil {
		t.Fatal(err)
	}
	if st, err := m.ReverseContinue(); err != nil || st.Reason != hv.StopHistoryStart {
		t.Fatalf("reverse-continue: %s %v, want the start of history (forward never stopped)", st, err)
	}
}
