package hv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lgdbg/lgdbg/tests/guests"
)

var (
	guestsOnce sync.Once
	guestsDir  string
	guestsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if guestsDir != "" {
		os.RemoveAll(guestsDir)
	}
	os.Exit(code)
}

// builtGuest reads a test guest built from tests/guests (once per test
// binary); the test skips without the toolchain.
func builtGuest(t testing.TB, file string) []byte {
	t.Helper()
	guestsOnce.Do(func() {
		guestsDir, guestsErr = os.MkdirTemp("", "lgdbg-hv-guests-")
		if guestsErr == nil {
			guestsErr = guests.Build(guestsDir)
		}
	})
	if errors.Is(guestsErr, guests.ErrNoToolchain) {
		t.Skipf("guest toolchain missing: %v", guestsErr)
	}
	if guestsErr != nil {
		t.Fatal(guestsErr)
	}
	b, err := os.ReadFile(filepath.Join(guestsDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// instantState is what must not change across a provenance query.
type instantState struct {
	regs  Regs
	hash  uint64
	next  uint64
	stop  Stop
	cps   string
	hist  HistoryInfo
	nevts int
	gen   uint64 // the log's generation: a reader sees no cut
}

func stateOf(m *Machine) instantState {
	evs, next := m.Events(0)
	var cps strings.Builder
	for _, c := range m.Checkpoints() {
		fmt.Fprintf(&cps, " %d", c)
	}
	return instantState{regs: m.Regs(), hash: m.MemoryHash(), next: next, stop: m.LastStop(), cps: cps.String(), hist: m.History(), nevts: len(evs), gen: m.Snapshot(View{}).EventsGen}
}

// The last writer of each guest entry of a walk, on test guests of both
// paging modes: who (head.S building initial_page_table after its have_size label,
// map_page in C, the Host's demand_page setting the accessed bit), and
// proof by travelling there that it is that store: just before it the
// entry holds Old (and EIP is the writer's), one step later New, which it
// still holds at the present. The query leaves the machine exactly where
// it was.
func TestGuestWalkWriters(t *testing.T) {
	type want struct {
		level string
		guest bool
		sym   string // symbol prefix of a Guest writer
		cause string // cause prefix of a Host writer
	}
	tests := []struct {
		name  string
		image string
		ram   uint32
		stop  uint64 // run this far (0: to the end)
		va    uint32
		want  []want
	}{
		{"boot", "boot.elf", 64 << 20, 0, 0xC0100000, []want{
			{"pgd", true, "have_size", ""},
			{"pte", false, "", "handling trap 14"},
		}},
		{"boot-pae", "boot-pae.elf", 64 << 20, 0, 0xC0100000, []want{
			{"pgd", true, "have_size", ""},
			{"pmd", true, "have_size", ""},
			{"pte", false, "", "handling trap 14"},
		}},
		{"traps-user-page", "traps.elf", 64 << 20, 0, 0x08048000, []want{
			{"pgd", true, "map_page", ""},
			{"pte", false, "", "handling trap 14"},
		}},
		{"compute-deep", "compute.elf", 32 << 20, 20_000_000, 0xC0100000, []want{
			{"pgd", true, "have_size", ""},
			{"pte", false, "", "handling trap 14"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Image: builtGuest(t, tc.image), RAM: tc.ram, History: int64(tc.ram), EventRing: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			st := m.Run(tc.stop)
			if tc.stop != 0 && st.ICount != tc.stop {
				t.Fatalf("run to %d: %v", tc.stop, st)
			}
			before := stateOf(m)
			lw, err := m.GuestWalkWriters(tc.va)
			if err != nil {
				t.Fatal(err)
			}
			if after := stateOf(m); !reflect.DeepEqual(after, before) {
				t.Fatalf("the query moved the machine:\nbefore %+v\nafter  %+v", before, after)
			}
			if len(lw) != len(tc.want) {
				t.Fatalf("%d levels, want %d: %+v", len(lw), len(tc.want), lw)
			}
			size := uint32(4)
			if m.PAE() {
				size = 8
			}
			for i, w := range tc.want {
				l := lw[i]
				x := l.Writer
				t.Logf("%s[%d] @%#x: %s", l.Level.Kind, l.Level.Index, l.Level.EntryAddr, x)
				if l.Level.Kind.String() != w.level || !x.Found || x.Guest != w.guest {
					t.Fatalf("level %d: %s %+v, want %s written by the guest=%v", i, l.Level.Kind, x, w.level, w.guest)
				}
				if w.guest && !strings.HasPrefix(x.Symbol, w.sym) || !w.guest && !strings.HasPrefix(x.Cause, w.cause) {
					t.Errorf("%s: writer %s, want symbol %q / cause %q", w.level, x, w.sym, w.cause)
				}
				if x.Range != (PhysRange{l.Level.EntryAddr, size}) || x.New != l.Level.Raw || x.Old == x.New {
					t.Errorf("%s: range %+v old %#x new %#x; the entry at %#x holds %#x now", w.level, x.Range, x.Old, x.New, l.Level.EntryAddr, l.Level.Raw)
				}
			}
			// Travel to each store and see it happen.
			for _, l := range lw {
				x := l.Writer
				if _, err := m.Goto(x.ICount); err != nil {
					t.Fatalf("goto %d: %v", x.ICount, err)
				}
				if got := readEntry(t, m, x.Range); got != x.Old {
					t.Errorf("%s: at icount %d the entry is %#x, want the writer's old %#x", l.Level.Kind, x.ICount, got, x.Old)
				}
				if r := m.Regs(); r.ICount != x.ICount || r.EIP != x.EIP {
					t.Errorf("%s: goto %d landed at icount %d eip %#x, want the writer's eip %#x", l.Level.Kind, x.ICount, r.ICount, r.EIP, x.EIP)
				}
				if _, err := m.Step(); err != nil {
					t.Fatal(err)
				}
				if got := readEntry(t, m, x.Range); got != x.New {
					t.Errorf("%s: one step after icount %d the entry is %#x, want the writer's new %#x", l.Level.Kind, x.ICount, got, x.New)
				}
			}
		})
	}
}

func readEntry(t *testing.T, m *Machine, r PhysRange) uint64 {
	t.Helper()
	var b [8]byte
	if err := m.ReadPhys(r.Addr, b[:r.Len]); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

// The history of the guest entries mapping an address, on both paging
// modes: the kinds of change in order (head.S building initial_page_table
// before it is in use, the CR3 load of the first NEW_PGTABLE, map_page in
// C, demand_page's accessed bit), each change seen happening by
// travelling to it, the last change of each entry agreeing with
// GuestWalkWriters (a different replay: backwards by interval), and the
// machine left where it was.
func TestGuestEntryHistory(t *testing.T) {
	type want struct {
		level string
		guest bool
		who   string // symbol prefix (Guest) or cause prefix (Host, cr3)
		inUse bool
	}
	tests := []struct {
		name, image string
		va          uint32
		want        []want
	}{
		{"boot", "boot.elf", 0xC0100000, []want{
			{"pgd", true, "have_size", false},
			{"pte", true, "have_size", false},
			{"cr3", false, "hcall NEW_PGTABLE", false},
			{"pte", false, "handling trap 14", true},
		}},
		{"boot-pae", "boot-pae.elf", 0xC0100000, []want{
			{"pgd", true, "have_size", false},
			{"pmd", true, "have_size", false},
			{"pte", true, "have_size", false},
			{"cr3", false, "hcall NEW_PGTABLE", false},
			{"pte", false, "handling trap 14", true},
		}},
		{"traps-user-page", "traps.elf", 0x08048000, []want{
			{"cr3", false, "hcall NEW_PGTABLE", false},
			{"pgd", true, "map_page", true},
			{"pte", true, "map_page", true},
			{"pte", false, "handling trap 14", true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Image: builtGuest(t, tc.image), History: 64 << 20, EventRing: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			m.Run(0)
			before := stateOf(m)
			ch, err := m.GuestEntryHistory(tc.va)
			if err != nil {
				t.Fatal(err)
			}
			if after := stateOf(m); !reflect.DeepEqual(after, before) {
				t.Fatalf("the query moved the machine:\nbefore %+v\nafter  %+v", before, after)
			}
			for _, c := range ch {
				t.Logf("@%d %s", c.ICount, c)
			}
			if len(ch) != len(tc.want) {
				t.Fatalf("%d changes, want %d", len(ch), len(tc.want))
			}
			for i, w := range tc.want {
				c := ch[i]
				who := c.Symbol
				if !c.Guest {
					who = c.Cause
				}
				if c.Level != w.level || c.Guest != w.guest || !strings.HasPrefix(who, w.who) || c.Level != "cr3" && c.InUse != w.inUse {
					t.Errorf("change %d: %s, want %s by guest=%v %q in use=%v", i, c, w.level, w.guest, w.who, w.inUse)
				}
				if i > 0 && (c.ICount < ch[i-1].ICount || c.ICount == ch[i-1].ICount && c.Seq < ch[i-1].Seq) {
					t.Errorf("change %d is older than change %d", i, i-1)
				}
			}
			lw, err := m.GuestWalkWriters(tc.va)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range lw {
				var last *EntryChange
				for i := range ch {
					if ch[i].PAddr == l.Level.EntryAddr && ch[i].Level != "cr3" {
						last = &ch[i]
					}
				}
				if x := l.Writer; last == nil || last.ICount != x.ICount || last.EIP != x.EIP || last.New != x.New {
					t.Errorf("%s: last change %+v, last writer %s", l.Level.Kind, last, x)
				}
			}
			size := PhysRange{Len: 4}
			if m.PAE() {
				size.Len = 8
			}
			for _, c := range ch {
				if c.Level == "cr3" {
					if _, err := m.Goto(c.ICount + 1); err != nil {
						t.Fatal(err)
					}
					if r := m.Regs(); uint64(r.CR3) != c.New {
						t.Errorf("after the cr3 load at %d: cr3 %#x, want %#x", c.ICount, r.CR3, c.New)
					}
					continue
				}
				r := PhysRange{c.PAddr, size.Len}
				if _, err := m.Goto(c.ICount); err != nil {
					t.Fatal(err)
				}
				if got := readEntry(t, m, r); got != c.Old {
					t.Errorf("%s: before icount %d the entry is %#x, want %#x", c, c.ICount, got, c.Old)
				}
				if _, err := m.Step(); err != nil {
					t.Fatal(err)
				}
				if got := readEntry(t, m, r); got != c.New {
					t.Errorf("%s: after icount %d the entry is %#x, want %#x", c, c.ICount, got, c.New)
				}
			}
		})
	}
}

// Without history, or while the Guest runs, the queries refuse.
func TestGuestProvenanceErrors(t *testing.T) {
	m, err := New(Config{Image: guests.BootImage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GuestEntryHistory(0xC0100000); !errors.Is(err, ErrNoHistory) {
		t.Errorf("GuestEntryHistory without history: %v", err)
	}
	if _, err := m.GuestWalkWriters(0xC0100000); !errors.Is(err, ErrNoHistory) {
		t.Errorf("GuestWalkWriters without history: %v", err)
	}
	m, err = New(Config{Image: guests.BootImage, History: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GuestWriters([]PhysRange{{0x1000, 9}}); err == nil {
		t.Error("a 9-byte range was accepted")
	}
	if _, err := m.GuestWriters([]PhysRange{{m.GuestPhysLimit() - 2, 4}}); err == nil {
		t.Error("a range past guest memory was accepted")
	}
	// linear_pages at the entry: no guest tables, no writers
	if lw, err := m.GuestWalkWriters(0x100000); err != nil || lw != nil {
		t.Errorf("under linear_pages: %v, %v", lw, err)
	}
	// the compute guest runs for most of a second
	m, err = New(Config{Image: builtGuest(t, "compute.elf"), RAM: 32 << 20, History: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	_, err = m.GuestWalkWriters(0xC0100000)
	m.Pause()
	if !errors.Is(err, ErrRunning) {
		t.Errorf("GuestWalkWriters while running: %v, want ErrRunning", err)
	}
}

// At an instant inside an icount — just before the #PF whose handling
// sets the PTE's accessed bit, where the replay must stop short of the
// Host's work at that icount — the PTE's last writer is head.S's store,
// and the query still leaves the machine there; one step later it is the
// Host's.
func TestGuestWritersBeforeHostWork(t *testing.T) {
	m, err := New(Config{Image: builtGuest(t, "boot.elf"), History: 64 << 20, EventRing: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	m.Run(0)
	const va = 0xC0100000
	lw, err := m.GuestWalkWriters(va)
	if err != nil {
		t.Fatal(err)
	}
	host := lw[len(lw)-1].Writer
	if host.Guest {
		t.Fatalf("at the end the PTE's writer is %s, want the Host", host)
	}
	var pf Event
	evs, _ := m.Events(0)
	for _, e := range evs {
		if e.Kind == "trap" && e.ICount == host.ICount && e.Seq >= host.seq {
			pf = e
			break
		}
	}
	if _, err := m.GotoBefore(pf); err != nil {
		t.Fatal(err)
	}
	before := stateOf(m)
	lw, err = m.GuestWalkWriters(va)
	if err != nil {
		t.Fatal(err)
	}
	if after := stateOf(m); !reflect.DeepEqual(after, before) {
		t.Fatalf("the query moved the machine:\nbefore %+v\nafter  %+v", before, after)
	}
	x := lw[len(lw)-1].Writer
	if !x.Found || !x.Guest || x.ICount >= host.ICount || x.New != host.Old || !strings.HasPrefix(x.Symbol, "have_size") {
		t.Errorf("just before %v the PTE's writer is %s, want head.S's store of %#x", pf, x, host.Old)
	}
	// One step handles the fault and retires the instruction after it:
	// now the Host's store is the last.
	if _, err := m.Step(); err != nil {
		t.Fatal(err)
	}
	lw, err = m.GuestWalkWriters(va)
	if err != nil {
		t.Fatal(err)
	}
	if x := lw[len(lw)-1].Writer; x.Guest || x.ICount != host.ICount || x.New != host.New {
		t.Errorf("after the fault's handling the PTE's writer is %s, want %s", x, host)
	}
}

// TestMappingHistoryOutlivesTheRing: the shadow changes of `monitor
// history` are heard on the replay, so a ring too small to hold the boot's
// events still gives every change from the start of history — the same
// list as a ring that kept them all — while without history it can only
// give what the small ring kept.
func TestMappingHistoryOutlivesTheRing(t *testing.T) {
	const va = 0xC0100000
	lines := func(ring int, history int64) ([]string, error) {
		m, err := New(Config{Image: builtGuest(t, "traps.elf"), History: history, EventRing: ring})
		if err != nil {
			t.Fatal(err)
		}
		m.Run(0)
		ch, err := m.MappingHistory(va)
		var out []string
		for _, c := range ch {
			out = append(out, c.String())
		}
		return out, err
	}
	full, err := lines(1<<20, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	small, err := lines(64, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(small, full) {
		t.Errorf("with a 64-event ring:\n%s\nwith the whole log:\n%s", strings.Join(small, "\n"), strings.Join(full, "\n"))
	}
	shadows := 0
	for _, l := range full {
		if strings.Contains(l, " shadow ") {
			shadows++
		}
	}
	if shadows == 0 {
		t.Fatalf("no shadow change in\n%s", strings.Join(full, "\n"))
	}
	ringOnly, err := lines(64, 0)
	if !errors.Is(err, ErrNoHistory) {
		t.Fatalf("history off: %v, want ErrNoHistory", err)
	}
	if len(ringOnly) >= shadows {
		t.Errorf("history off with a 64-event ring: %d shadow changes, want fewer than the %d of the whole log (or the test proves nothing)", len(ringOnly), shadows)
	}
}

// TestShadowWritersInHistory: with a ring too small to hold the boot's
// events, the writer of each shadow entry of a walk is found by replay —
// the very event (same sequence number and reason) a ring that kept
// everything names — and the machine is back at the present after it.
func TestShadowWritersInHistory(t *testing.T) {
	const va = 0xC0101000 // the kernel page the boot ran in: both levels written
	boot := func(ring int, history int64) *Machine {
		m, err := New(Config{Image: builtGuest(t, "traps.elf"), History: history, EventRing: ring})
		if err != nil {
			t.Fatal(err)
		}
		m.Run(0)
		return m
	}
	levelsOf := func(m *Machine) (int, []string) {
		w := m.Walk(va)
		var ls []string
		for _, l := range w.Shadow.Levels {
			ls = append(ls, l.Kind.String())
		}
		return w.Slot, ls
	}
	whole := boot(1<<20, 64<<20)
	slot, levels := levelsOf(whole)
	if len(levels) == 0 {
		t.Fatal("no shadow levels in the walk")
	}
	small := boot(64, 64<<20)
	if s2, l2 := levelsOf(small); s2 != slot || !reflect.DeepEqual(l2, levels) {
		t.Fatalf("the two boots differ: slot %d %v, %d %v", slot, levels, s2, l2)
	}
	lost := 0
	for _, l := range levels {
		if _, ok := small.ShadowWriter(slot, l, va); !ok {
			lost++
		}
	}
	if lost == 0 {
		t.Fatal("the small ring still holds every writer: the test proves nothing")
	}
	before := stateOf(small)
	got, gotOK, err := small.ShadowWritersInHistory(slot, levels, va)
	if err != nil {
		t.Fatal(err)
	}
	if after := stateOf(small); !reflect.DeepEqual(after, before) {
		t.Fatalf("the query moved the machine:\nbefore %+v\nafter  %+v", before, after)
	}
	for i, l := range levels {
		want, ok := whole.ShadowWriter(slot, l, va)
		if !ok {
			t.Fatalf("%s: the whole log has no writer", l)
		}
		if !gotOK[i] || got[i].Seq != want.Seq || got[i].Why != want.Why || got[i].New != want.New {
			t.Errorf("%s: replay found %v %+v, the whole log %+v", l, gotOK[i], got[i], want)
		}
	}
	off := boot(64, 0)
	if _, _, err := off.ShadowWritersInHistory(slot, levels, va); !errors.Is(err, ErrNoHistory) {
		t.Errorf("history off: %v, want ErrNoHistory", err)
	}
}

// TestCancelQuery: a cancelled provenance query answers ErrCancelled and
// leaves the machine at the present; the cancellation is used up, so the
// next query answers in full.
func TestCancelQuery(t *testing.T) {
	const va = 0xC0101000
	m, err := New(Config{Image: builtGuest(t, "traps.elf"), History: 64 << 20, EventRing: 64})
	if err != nil {
		t.Fatal(err)
	}
	m.Run(0)
	before := stateOf(m)
	w := m.Walk(va)
	levels := []string{"pgd", "pte"}
	queries := []struct {
		name string
		run  func() error
	}{
		{"GuestWalkWriters", func() error { _, err := m.GuestWalkWriters(va); return err }},
		{"GuestEntryHistory", func() error { _, err := m.GuestEntryHistory(va); return err }},
		{"ShadowWritersInHistory", func() error { _, _, err := m.ShadowWritersInHistory(w.Slot, levels, va); return err }},
	}
	for _, q := range queries {
		m.CancelQuery()
		if err := q.run(); !errors.Is(err, ErrCancelled) {
			t.Errorf("%s after CancelQuery: %v, want ErrCancelled", q.name, err)
		}
		if after := stateOf(m); !reflect.DeepEqual(after, before) {
			t.Fatalf("%s: the cancelled query moved the machine:\nbefore %+v\nafter  %+v", q.name, before, after)
		}
		if err := q.run(); err != nil {
			t.Errorf("%s after the cancelled one: %v", q.name, err)
		}
	}
	// cancelled from another goroutine while it replays
	done := make(chan error, 1)
	go func() { _, err := m.GuestEntryHistory(va); done <- err }()
	var qerr error
	finished := false
	for !finished && !m.Running() {
		select {
		case qerr = <-done:
			finished = true
		default:
			runtime.Gosched()
		}
	}
	if !finished {
		m.CancelQuery()
		qerr = <-done
	}
	if qerr != nil && !errors.Is(qerr, ErrCancelled) {
		t.Errorf("cancelled mid-replay: %v", qerr)
	}
	if after := stateOf(m); !reflect.DeepEqual(after, before) {
		t.Fatalf("the query cancelled mid-replay moved the machine:\nbefore %+v\nafter  %+v", before, after)
	}
}
