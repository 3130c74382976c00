package guests

import (
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
			m, err := hv.New(hv.Config{
				Image: readFile(t, filepath.Join(dir, exp.BzImage)),
				RAM:   uint32(exp.MemMiB) << 20,
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.PAE() != exp.PAE {
				t.Fatalf("Host runs with PAE %v, the guest needs %v", m.PAE(), exp.PAE)
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
			if t.Failed() {
				t.Logf("stopped: %s", st)
			}
		})
	}
}
