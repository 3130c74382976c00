package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// historyMachine builds the named test guest with history on, a trace into
// the returned buffer and an event ring large enough to keep every event.
func historyMachine(t testing.TB, name string) (*hv.Machine, *bytes.Buffer, *guests.Expectation) {
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
	var trace bytes.Buffer
	m, err := hv.New(hv.Config{Image: img, RAM: uint32(exp.MemMiB) << 20, Trace: &trace,
		EventRing: 1 << 22, History: int64(exp.MemMiB) << 20})
	if err != nil {
		t.Fatal(err)
	}
	return m, &trace, exp
}

func eventsJSON(t testing.TB, m *hv.Machine) []string {
	evs, _ := m.Events(0)
	out := make([]string, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

func traceGolden(t testing.TB, trace []byte) []byte {
	var evs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(trace)), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	return golden(evs)
}

// TestReplayFromEveryCheckpointIsExact: a run with history on gives the
// golden trace; then travelling back to each checkpoint (and to instants
// between them) and running to the end again regenerates every event —
// shadow changes and demand faults included — byte for byte, ends with the
// same stop, and sends nothing twice to the trace.
func TestReplayFromEveryCheckpointIsExact(t *testing.T) {
	for _, name := range []string{"boot", "compute", "vconsole", "boot-pae", "traps", "kernlike"} {
		t.Run(name, func(t *testing.T) {
			m, trace, exp := historyMachine(t, name)
			end := m.Run(exp.MaxInstructions)
			want := eventsJSON(t, m)
			gold, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if got := traceGolden(t, trace.Bytes()); !bytes.Equal(got, gold) {
				t.Fatalf("history on changed the golden trace: %s", firstDiff(string(gold), string(got)))
			}
			traced := trace.Len()
			cps := m.Checkpoints()
			if len(cps) < 1 || cps[0] != 0 {
				t.Fatalf("checkpoints %v: the first is not at icount 0", cps)
			}
			targets := []uint64{end.ICount / 3, end.ICount * 2 / 3, end.ICount - 1}
			step := max(1, len(cps)/6)
			for i := 0; i < len(cps); i += step {
				targets = append(targets, cps[i], cps[i]+777_777)
			}
			for _, at := range targets {
				if at >= end.ICount {
					continue
				}
				if _, err := m.Goto(at); err != nil {
					t.Fatalf("goto %d: %v", at, err)
				}
				if got := m.Regs().ICount; got != at {
					t.Fatalf("goto %d arrived at %d", at, got)
				}
				again := m.Run(exp.MaxInstructions)
				if again.String() != end.String() {
					t.Fatalf("from %d: stop %s, first run %s", at, again, end)
				}
				got := eventsJSON(t, m)
				if len(got) != len(want) {
					t.Fatalf("from %d: %d events, first run %d", at, len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("from %d: event %d differs:\n got %s\nwant %s", at, i, got[i], want[i])
					}
				}
			}
			if trace.Len() != traced {
				t.Errorf("replays wrote %d more bytes of trace", trace.Len()-traced)
			}
			t.Logf("%d instructions, %d checkpoints, %v", end.ICount, len(cps), fmt.Sprintf("%+v", m.History()))
		})
	}
}

type instant struct {
	regs hv.Regs
	mem  uint64
	seq  uint64
}

func now(m *hv.Machine) instant {
	_, seq := m.Events(1 << 62)
	return instant{m.Regs(), m.MemoryHash(), seq}
}

// TestReverseStepThenStepIsIdentity: at instants across a boot (after a
// run, a breakpoint-like limit, a step), reverse-stepi then stepi gives
// back the same registers, the same memory and the same event log.
func TestReverseStepThenStepIsIdentity(t *testing.T) {
	for _, name := range []string{"vconsole", "traps"} {
		t.Run(name, func(t *testing.T) {
			m, _, exp := historyMachine(t, name)
			end := m.Run(exp.MaxInstructions)
			for _, at := range []uint64{1, end.ICount / 5, end.ICount / 2, end.ICount - 3} {
				if _, err := m.Goto(at); err != nil {
					t.Fatal(err)
				}
				for k := 0; k < 3; k++ {
					if _, err := m.Step(); err != nil {
						t.Fatal(err)
					}
					want := now(m)
					if _, err := m.ReverseStep(); err != nil {
						t.Fatal(err)
					}
					back := now(m)
					if back.regs.ICount >= want.regs.ICount && back.seq >= want.seq {
						t.Fatalf("at %d: reverse-stepi did not go back (%d, seq %d)", at, back.regs.ICount, back.seq)
					}
					if _, err := m.Step(); err != nil {
						t.Fatal(err)
					}
					if got := now(m); got != want {
						t.Fatalf("at %d: after reverse-stepi, stepi:\n got %+v\nwant %+v", at, got, want)
					}
				}
			}
		})
	}
}

// TestReplayRepeatsConsoleInput: input typed while the Guest runs is
// recorded by the instant it was admitted at, so travelling back to before
// it and running again reproduces every event without typing it again.
func TestReplayRepeatsConsoleInput(t *testing.T) {
	m, _, exp := historyMachine(t, "vconsole")
	for i, line := range []string{"hi\n", "quit\n"} {
		if s := m.Run(uint64(5_000_000 + 10_000_000*i)); s.Reason.Terminal() {
			t.Fatalf("before typing %q: %s", line, s)
		}
		m.ConsoleInput([]byte(line))
	}
	end := m.Run(exp.MaxInstructions)
	want := eventsJSON(t, m)
	evs, _ := m.Events(0)
	var console strings.Builder
	for _, e := range evs {
		if e.Kind == "console" {
			console.WriteString(e.Text)
		}
	}
	if !strings.Contains(console.String(), "echo: hi") {
		t.Fatalf("the guest never echoed the input (stop %s): %q", end, console.String())
	}
	for _, at := range []uint64{0, end.ICount / 2} {
		if _, err := m.Goto(at); err != nil {
			t.Fatal(err)
		}
		again := m.Run(exp.MaxInstructions)
		got := eventsJSON(t, m)
		if again.String() != end.String() || len(got) != len(want) {
			t.Fatalf("from %d: %s with %d events, first run %s with %d", at, again, len(got), end, len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("from %d: event %d differs:\n got %s\nwant %s", at, i, got[i], want[i])
			}
		}
	}
}

// TestGotoBeforeEveryKind: for the first and the last event of each kind
// (interrupts, delivered at slice boundaries, among them), GotoBefore lands
// where the event has not happened and one stepi makes it, the same event.
func TestGotoBeforeEveryKind(t *testing.T) {
	for _, name := range []string{"traps", "vconsole"} {
		t.Run(name, func(t *testing.T) {
			m, _, exp := historyMachine(t, name)
			m.Run(exp.MaxInstructions)
			evs, _ := m.Events(0)
			first, last := map[string]hv.Event{}, map[string]hv.Event{}
			for _, e := range evs {
				if _, ok := first[string(e.Kind)]; !ok {
					first[string(e.Kind)] = e
				}
				last[string(e.Kind)] = e
			}
			if _, ok := first["irq"]; !ok {
				t.Fatalf("the %s guest delivered no interrupt", name)
			}
			var picks []hv.Event
			for k := range first {
				picks = append(picks, first[k], last[k])
			}
			for _, e := range picks {
				want, _ := json.Marshal(e)
				st, err := m.GotoBefore(e)
				if err != nil && e.ICount == 0 && e.Why == "switcher" && strings.Contains(err.Error(), "before history starts") {
					continue // the Host's setup, before the first checkpoint
				}
				if err != nil {
					t.Fatalf("GotoBefore(%s): %v", want, err)
				}
				if _, next := m.Events(1 << 62); next > e.Seq || st.ICount > e.ICount {
					t.Fatalf("before %s: at %v the event has happened (next %d)", want, st, next)
				}
				if _, err := m.Step(); err != nil {
					t.Fatal(err)
				}
				again, next := m.Events(e.Seq)
				if next <= e.Seq {
					t.Fatalf("before %s: one stepi did not make it (at %v)", want, m.LastStop())
				}
				if got, _ := json.Marshal(again[0]); string(got) != string(want) {
					t.Fatalf("the replayed event differs:\n got %s\nwant %s", got, want)
				}
			}
			t.Logf("%d kinds, first and last of each", len(first))
		})
	}
}

// TestReverseStepsRetraceTheRun: deep in the compute guest, 4300 stepi
// then 4300 reverse-stepi pass through the same instants in reverse order
// (registers at each, memory every 430), across the near restore points
// reverse steps leave behind them (hv/history.go) and the one they reuse;
// then a reverse-continue to a breakpoint among those instants lands on
// its most recent hit.
func TestReverseStepsRetraceTheRun(t *testing.T) {
	m, _, _ := historyMachine(t, "compute")
	const at, n = 100_000_000, 4300
	if s := m.Run(at); s.ICount != at {
		t.Fatalf("run to %d: %s", at, s)
	}
	regs := make([]hv.Regs, n+1)
	mems := map[int]uint64{}
	regs[0] = m.Regs()
	mems[0] = m.MemoryHash()
	for i := 1; i <= n; i++ {
		if _, err := m.Step(); err != nil {
			t.Fatal(err)
		}
		regs[i] = m.Regs()
		if i%430 == 0 {
			mems[i] = m.MemoryHash()
		}
	}
	for i := n - 1; i >= 0; i-- {
		if _, err := m.ReverseStep(); err != nil {
			t.Fatal(err)
		}
		if got := m.Regs(); got != regs[i] {
			t.Fatalf("reverse-stepi %d back: registers\n got %+v\nwant %+v", n-i, got, regs[i])
		}
		if h, ok := mems[i]; ok && m.MemoryHash() != h {
			t.Fatalf("reverse-stepi %d back: memory differs", n-i)
		}
	}
	// A breakpoint at the EIP of instant 4000: the most recent hit
	// before instant n is the last i with that EIP.
	bp := regs[4000].EIP
	last := 0
	for i := 0; i < n; i++ {
		if regs[i].EIP == bp {
			last = i
		}
	}
	if _, err := m.Goto(regs[n].ICount); err != nil {
		t.Fatal(err)
	}
	m.SetBreakpoint(bp)
	st, err := m.ReverseContinue()
	if err != nil || st.Reason != hv.StopBreakpoint {
		t.Fatalf("reverse-continue: %s %v", st, err)
	}
	if got := m.Regs(); got != regs[last] {
		t.Fatalf("reverse-continue to %#x: at\n %+v\nwant instant %d\n %+v", bp, got, last, regs[last])
	}
}
