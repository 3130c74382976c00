package e2e

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// deviceMachine builds a test guest that needs command-line devices with
// history on (budget bytes; 0: off), its disks fresh in a temporary
// directory, and returns the disk paths; entropy overrides the rng's
// seeded stream when non-nil.
func deviceMachine(t *testing.T, name string, history int64, entropy io.Reader) (*hv.Machine, *bytes.Buffer, *guests.Expectation, []string) {
	t.Helper()
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	exp, err := guests.Expect(name)
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(filepath.Join(guestDir, exp.BzImage))
	if err != nil {
		t.Fatal(err)
	}
	disks, err := exp.MakeDisks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var specs []hv.DeviceSpec
	var paths []string
	k := 0
	for _, d := range exp.Devices {
		switch d.Kind {
		case "block":
			f, err := os.OpenFile(disks[k].Path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			specs = append(specs, hv.DeviceSpec{Kind: hv.DeviceBlock, File: f, Size: int64(disks[k].KiB) << 10, ReadOnly: d.RO})
			paths = append(paths, disks[k].Path)
			k++
		case "rng":
			src := entropy
			if src == nil {
				src = hv.SeededEntropy(d.Seed)
			}
			specs = append(specs, hv.DeviceSpec{Kind: hv.DeviceRNG, Entropy: src})
		}
	}
	var trace bytes.Buffer
	m, err := hv.New(hv.Config{Image: img, RAM: uint32(exp.MemMiB) << 20, Trace: &trace,
		EventRing: 1 << 22, History: history, Devices: specs})
	if err != nil {
		t.Fatal(err)
	}
	return m, &trace, exp, paths
}

// devInstant is everything a Guest with devices is at one instant: the
// CPU, memory, the event log (console text included) and the disk files.
type devInstant struct {
	regs   hv.Regs
	mem    uint64
	events []string
	disks  [][]byte
}

func devNow(t *testing.T, m *hv.Machine, disks []string) devInstant {
	t.Helper()
	d := devInstant{regs: m.Regs(), mem: m.MemoryHash(), events: eventsJSON(t, m)}
	for _, p := range disks {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		d.disks = append(d.disks, b)
	}
	return d
}

func (d devInstant) diff(o devInstant) string {
	switch {
	case d.regs != o.regs:
		return "registers differ"
	case d.mem != o.mem:
		return "memory differs"
	case len(d.events) != len(o.events):
		return "event counts differ"
	}
	for i := range d.events {
		if d.events[i] != o.events[i] {
			return "event " + d.events[i] + " differs from " + o.events[i]
		}
	}
	for i := range d.disks {
		if !bytes.Equal(d.disks[i], o.disks[i]) {
			return "disk file differs"
		}
	}
	return ""
}

func consoleText(events []string) string {
	var b strings.Builder
	for _, e := range events {
		if strings.Contains(e, `"kind":"console"`) {
			b.WriteString(e)
		}
	}
	return b.String()
}

// TestHistoryWithDevices: a Guest on the virtio block device (lguest bus
// and 4.x virtio-PCI), the entropy device (a seeded stream and
// crypto/rand, which cannot be rewound) or the 4.x ABI keeps history.
// The first run stops at instants T1 across the boot and ends at T2 (its
// power-off); travelling back to each T1 gives the registers, memory,
// event log and disk file of the first run's T1, and running on to T2
// gives its T2 again, the disk the guest expects included. The trace of
// the first run is the golden one (history changes nothing), and the
// replays send nothing more to it.
func TestHistoryWithDevices(t *testing.T) {
	for _, c := range []struct {
		name, guest string
		crypto      bool
	}{
		{"vblock", "vblock", false},
		{"vrng", "vrng", false},
		{"vrng-crypto", "vrng", true},
		{"vpci-4x", "vpci-4x", false},
		{"boot-4x", "boot-4x", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var entropy io.Reader
			if c.crypto {
				entropy = rand.Reader
			}
			// A run without history says how long the boot is.
			probe, _, exp, _ := deviceMachine(t, c.guest, 0, entropy)
			length := probe.Run(exp.MaxInstructions).ICount

			m, trace, _, disks := deviceMachine(t, c.guest, 64<<20, entropy)
			if !m.History().On {
				t.Fatal("history is off")
			}
			// These guests boot in far fewer instructions than the
			// checkpoint interval: a debugger's write (eax with its own
			// value) makes the Machine checkpoint the present, so every
			// other T1 is a checkpoint with devices in use and the others
			// are replays from one.
			var t1s []uint64
			for k := uint64(1); k <= 7; k++ {
				t1s = append(t1s, length*k/8)
			}
			t1s = append(t1s, length-1)
			var at []devInstant
			for i, t1 := range t1s {
				if s := m.Run(t1); s.ICount != t1 {
					t.Fatalf("run to %d stopped at %s", t1, s)
				}
				at = append(at, devNow(t, m, disks))
				if i%2 == 1 {
					if err := m.SetReg("eax", at[i].regs.GPR[0]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := len(m.Checkpoints()); n != 1+len(t1s)/2 {
				t.Fatalf("checkpoints at %v, want 0 and every other T1", m.Checkpoints())
			}
			end := m.Run(exp.MaxInstructions)
			if !end.Reason.Terminal() || end.ICount != length {
				t.Fatalf("first run ended %s; without history at icount %d", end, length)
			}
			t2 := devNow(t, m, disks)
			if is4x := strings.HasSuffix(c.guest, "-4x"); m.ABI4x() != is4x {
				t.Fatalf("at the end ABI4x is %v", m.ABI4x())
			}
			if !c.crypto {
				gold, err := os.ReadFile(filepath.Join("testdata", c.guest+".jsonl"))
				if err != nil {
					t.Fatal(err)
				}
				if got := traceGolden(t, trace.Bytes()); !bytes.Equal(got, gold) {
					t.Fatalf("history on changed the golden trace: %s", firstDiff(string(gold), string(got)))
				}
			}
			for i := range disks {
				if d := exp.CheckDisk(t2.disks[i], len(t2.disks[i])>>10); len(d) != 0 {
					t.Fatalf("first run's disk: %v", d)
				}
			}
			traced := trace.Len()
			// The instants must span what the devices did, or the test
			// proves nothing: the disk or the console changes after the
			// first T1.
			if len(disks) > 0 && bytes.Equal(at[0].disks[0], t2.disks[0]) {
				t.Fatalf("the disk did not change after icount %d", t1s[0])
			}
			if consoleText(at[0].events) == consoleText(t2.events) {
				t.Fatalf("the console did not change after icount %d", t1s[0])
			}
			// Back to each T1 (newest first, then oldest first) and on
			// to T2.
			var order []int
			for i := len(t1s) - 1; i >= 0; i-- {
				order = append(order, i)
			}
			for i := range t1s {
				order = append(order, i)
			}
			for _, i := range order {
				if _, err := m.Goto(t1s[i]); err != nil {
					t.Fatalf("goto %d: %v", t1s[i], err)
				}
				if d := devNow(t, m, disks).diff(at[i]); d != "" {
					t.Fatalf("back at %d: %s", t1s[i], d)
				}
				again := m.Run(exp.MaxInstructions)
				if again.String() != end.String() {
					t.Fatalf("from %d: stop %s, first run %s", t1s[i], again, end)
				}
				if d := devNow(t, m, disks).diff(t2); d != "" {
					t.Fatalf("from %d on to the end: %s", t1s[i], d)
				}
			}
			// reverse-stepi then stepi is the identity, disk included,
			// just after a checkpoint and between two.
			for _, t1 := range []uint64{t1s[1], t1s[2]} {
				if _, err := m.Goto(t1); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Step(); err != nil {
					t.Fatal(err)
				}
				want := devNow(t, m, disks)
				if _, err := m.ReverseStep(); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Step(); err != nil {
					t.Fatal(err)
				}
				if d := devNow(t, m, disks).diff(want); d != "" {
					t.Fatalf("reverse-stepi, stepi at %d: %s", t1+1, d)
				}
			}
			// The ABI is learnt at LGUEST_INIT: before it the Guest has
			// none (the front ends show which it speaks).
			if _, err := m.Goto(0); err != nil {
				t.Fatal(err)
			}
			if m.ABI4x() {
				t.Fatal("back at icount 0, before LGUEST_INIT, the Guest still speaks the 4.x ABI")
			}
			if trace.Len() != traced {
				t.Errorf("replays wrote %d more bytes of trace", trace.Len()-traced)
			}
			t.Logf("%d instructions, checkpoints at %v, %+v", end.ICount, m.Checkpoints(), m.History())
		})
	}
}
