package hv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
}

func stateOf(m *Machine) instantState {
	evs, next := m.Events(0)
	var cps strings.Builder
	for _, c := range m.Checkpoints() {
		fmt.Fprintf(&cps, " %d", c)
	}
	return instantState{regs: m.Regs(), hash: m.MemoryHash(), next: next, stop: m.LastStop(), cps: cps.String(), hist: m.History(), nevts: len(evs)}
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
