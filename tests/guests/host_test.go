package guests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
)

// TestGuestsOnHost boots every guest on lgdbg's Host in-process (hv.Machine,
// the engine behind `lgdbg run`) and checks its console, its end and its
// hypercall order against expect/NAME.txt. The subprocess end-to-end tests
// check the same through the CLI and the JSONL trace.
func TestGuestsOnHost(t *testing.T) {
	dir := built(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exp, err := Expect(name)
			if err != nil {
				t.Fatal(err)
			}
			exp, err = exp.ResolveELF(filepath.Join(dir, exp.ELF))
			if err != nil {
				t.Fatal(err)
			}
			disks, err := exp.MakeDisks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			devs := hostDevices(t, exp, disks)
			m, err := hv.New(hv.Config{
				Image:   readFile(t, filepath.Join(dir, exp.BzImage)),
				RAM:     uint32(exp.MemMiB) << 20,
				Devices: devs,
			})
			if err != nil {
				t.Fatal(err)
			}
			var obs Observed
			var console []byte
			m.SetEventHook(func(e hv.Event) {
				switch e.Kind {
				case event.Console:
					console = append(console, e.Text...)
				case event.Hypercall:
					c := Call{Num: uint32(e.Nr), Async: e.Async}
					copy(c.Args[:], e.Args)
					obs.Calls = append(obs.Calls, c)
				}
			})
			limit := exp.MaxInstructions
			if limit == 0 {
				limit = 2_000_000_000 // compute needs ~250M; a hang must still end
			}
			st := m.Run(limit)
			// After the run: an image without a PAE hint switches the Host
			// at its first NEW_PGTABLE.
			if m.PAE() != exp.PAE {
				t.Errorf("Host runs with PAE %v, the guest needs %v", m.PAE(), exp.PAE)
			}
			obs.Console = string(console)
			obs.InstructionLimit = st.Reason == hv.StopInstructionLimit
			if !obs.InstructionLimit {
				obs.Reason = st.Text
			}
			if exp.Exit.Kind == ExitPoweroff && st.Reason != hv.StopPowerOff {
				t.Errorf("stop %s, want power-off", st)
			}
			if exp.Exit.Kind == ExitKill || exp.Exit.Kind == ExitKillPrefix {
				if st.Reason != hv.StopKilled {
					t.Errorf("stop %s, want killed", st)
				}
			}
			for _, d := range exp.Check(obs) {
				t.Error(d)
			}
			if err := m.Close(); err != nil {
				t.Error(err)
			}
			checkDisks(t, exp, disks)
			if t.Failed() {
				t.Logf("stopped: %s", st)
			}
		})
	}
}

// hostDevices opens the expectation's devices as the CLI would.
func hostDevices(t *testing.T, exp *Expectation, disks []Disk) []hv.DeviceSpec {
	t.Helper()
	var out []hv.DeviceSpec
	k := 0
	for _, d := range exp.Devices {
		switch d.Kind {
		case "block":
			mode := os.O_RDWR
			if d.RO {
				mode = os.O_RDONLY
			}
			f, err := os.OpenFile(disks[k].Path, mode, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			out = append(out, hv.DeviceSpec{Kind: hv.DeviceBlock, File: f, Size: int64(d.KiB) << 10, ReadOnly: d.RO})
			k++
		case "rng":
			out = append(out, hv.DeviceSpec{Kind: hv.DeviceRNG, Entropy: hv.SeededEntropy(d.Seed)})
		}
	}
	return out
}

// checkDisks compares every disk file with the expectation after the run.
func checkDisks(t *testing.T, exp *Expectation, disks []Disk) {
	t.Helper()
	for _, d := range disks {
		data, err := os.ReadFile(d.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, diff := range exp.CheckDisk(data, d.KiB) {
			t.Error(diff)
		}
	}
}
