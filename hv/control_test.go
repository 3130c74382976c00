package hv

import (
	"context"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/internal/asm"
	"github.com/lgdbg/lgdbg/hv/internal/host"
	"github.com/lgdbg/lgdbg/hv/mem"
)

// spin is a Guest that never stops on its own.
const spin = `
1:	inc %eax
	jmp 1b
`

// powerOff ends a test guest the way Linux's lguest_power_off does.
const powerOff = `
	HCALL 2, msg_power_down, 1
	jmp .
msg_power_down: .asciz "Power down"
`

// newTestMachine assembles src (see package asm) and builds a Machine
// around it, stopped at its entry point.
func newTestMachine(t testing.TB, src string) *Machine {
	t.Helper()
	code := asm.Assemble(t, src)
	h, err := host.New(host.Config{RAM: asm.RAM}, func(m *mem.Phys) (uint32, error) {
		m.WriteBytes(asm.Entry, code)
		return asm.Entry, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return newMachine(h, nil)
}

func newSpinMachine(t *testing.T) *Machine {
	t.Helper()
	return newTestMachine(t, spin)
}

// waitStop bounds a wait that must end, so a broken controller fails the
// test instead of hanging it.
func waitStop(t *testing.T, stops <-chan Stop) Stop {
	t.Helper()
	select {
	case s := <-stops:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no stop arrived")
	}
	return Stop{}
}

func TestControllerTransitions(t *testing.T) {
	m := newSpinMachine(t)
	stops, cancel := m.Subscribe()
	defer cancel()

	if s, err := m.Step(); err != nil || s.Reason != StopStep || s.ICount != 1 {
		t.Fatalf("Step from the entry: %v, %v; want one step", s, err)
	}
	if s := waitStop(t, stops); s.Reason != StopStep {
		t.Fatalf("subscriber got %v, want the step", s)
	}
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	if !m.Running() {
		t.Fatal("not running after Resume")
	}
	if err := m.Resume(); err != nil {
		t.Fatalf("Resume of a running Guest: %v, want no error", err)
	}
	if err := m.ResumeUntil(nil, 0); !errors.Is(err, ErrRunning) {
		t.Fatalf("ResumeUntil while running: %v, want ErrRunning", err)
	}
	if _, err := m.RunUntil(nil, 0); !errors.Is(err, ErrRunning) {
		t.Fatalf("RunUntil while running: %v, want ErrRunning", err)
	}
	// Step on a running Guest pauses it first, then steps.
	before := m.Regs().ICount // a slice boundary, the Guest runs on
	s, err := m.Step()
	if err != nil || s.Reason != StopStep || s.ICount <= before {
		t.Fatalf("Step while running: %v, %v (icount before %d)", s, err, before)
	}
	if m.Running() {
		t.Fatal("running after Step")
	}
	if got := waitStop(t, stops); !sameStop(got, s) {
		t.Fatalf("subscriber got %v, want the step %v (newest wins)", got, s)
	}

	// Run takes part in run control: another front end can pause it.
	done := make(chan Stop)
	go func() { done <- m.Run(0) }()
	for !m.Running() {
		time.Sleep(time.Millisecond)
	}
	p := m.Pause()
	if r := <-done; !sameStop(r, p) || r.Reason != StopPaused {
		t.Fatalf("Run ended with %v, Pause saw %v; want one pause", r, p)
	}

	// RunUntil's own event stops it; the limit stops it too.
	limit := m.Regs().ICount + 1000
	if s, err := m.RunUntil(nil, limit); err != nil || s.Reason != StopInstructionLimit || s.ICount != limit {
		t.Fatalf("RunUntil to %d: %v, %v", limit, s, err)
	}
	ctx, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	if s, err := m.WaitStop(ctx); err != nil || s.ICount != limit {
		t.Fatalf("WaitStop on a stopped Guest: %v, %v", s, err)
	}
}

func TestControllerRunUntilEvent(t *testing.T) {
	m := newTestMachine(t, "HCALL 1, lguest_data\n"+powerOff)
	s, err := m.RunUntil(func(e Event) bool { return e.Kind == event.Hypercall }, 0)
	if err != nil || s.Reason != StopUntil || s.Event == nil || s.Event.Name != "LGUEST_INIT" {
		t.Fatalf("RunUntil(hcall): %v, %v; want the LGUEST_INIT event", s, err)
	}
	if s := m.Run(0); s.Reason != StopPowerOff {
		t.Fatalf("the until is the run's own, the next run goes on: %v", s)
	}
	for name, op := range map[string]func() error{
		"Resume": m.Resume,
		"Step":   func() error { _, err := m.Step(); return err },
		"RunUntil": func() error {
			_, err := m.RunUntil(nil, 0)
			return err
		},
	} {
		if err := op(); !errors.Is(err, ErrDead) {
			t.Errorf("%s on a powered-off Guest: %v, want ErrDead", name, err)
		}
	}
}

// TestControllerTwoFrontEnds is the race stress test: two front ends (a
// TUI and a gdb session, say) pause, step, resume and snapshot one
// Machine at once. Run it with -race; it also fails on a deadlock (the
// test's timeout) and on a broken invariant.
func TestControllerTwoFrontEnds(t *testing.T) {
	m := newSpinMachine(t)
	stops, cancel := m.Subscribe()
	defer cancel()
	var seen sync.WaitGroup
	quit := make(chan struct{})
	seen.Add(1)
	go func() { // a third party that only listens
		defer seen.Done()
		for {
			select {
			case <-stops:
			case <-quit:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for fe := range 2 {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for range 300 {
				switch r.Intn(5) {
				case 0:
					if err := m.Resume(); err != nil {
						t.Errorf("Resume: %v", err)
						return
					}
				case 1:
					if s := m.Pause(); s.Reason.Terminal() {
						t.Errorf("Pause: %v", s)
						return
					}
				case 2:
					before := m.Regs().ICount
					s, err := m.Step()
					if err != nil || s.Reason != StopStep || s.ICount <= before {
						t.Errorf("Step: %v, %v (icount before %d)", s, err, before)
						return
					}
				case 3:
					snap := m.Snapshot(View{Walk: &Place{From: AtEIP}, Windows: []Window{{At: Place{From: AtEIP}, Before: 16, Len: 32}}, Events: true})
					if !snap.Running && snap.Stop.ICount != snap.Regs.ICount {
						t.Errorf("stopped snapshot: last stop at icount %d, registers at %d", snap.Stop.ICount, snap.Regs.ICount)
						return
					}
					if snap.Walk.Guest.VAddr != snap.Regs.EIP {
						t.Errorf("walk of %#x in a snapshot at eip %#x", snap.Walk.Guest.VAddr, snap.Regs.EIP)
						return
					}
				case 4:
					m.RequestPause()
				}
			}
		}(int64(fe) + 1)
	}
	wg.Wait()
	m.Pause()
	close(quit)
	seen.Wait()
	if m.Running() {
		t.Fatal("running after the final Pause")
	}
}

func sameStop(a, b Stop) bool { return a.Reason == b.Reason && a.ICount == b.ICount && a.EIP == b.EIP }

// Breakpoints from two front ends at one address: the engine keeps it until
// both have cleared it.
func TestBreakpointsAreCountedPerFrontEnd(t *testing.T) {
	m := newTestMachine(t, "HCALL 1, lguest_data\n"+powerOff)
	h := m.h
	m.SetBreakpoint(asm.Entry + 27) // the TUI
	m.SetBreakpoint(asm.Entry + 27) // a gdb session
	m.ClearBreakpoint(asm.Entry + 27)
	if s := h.Run(false, 1000); s.Reason != StopBreakpoint || s.EIP != asm.Entry+27 {
		t.Fatalf("stop %v, want the breakpoint the other front end still holds", s)
	}
	m.ClearBreakpoint(asm.Entry + 27)
	m.ClearBreakpoint(asm.Entry + 27) // one clear too many is harmless
	if s := h.Run(false, 1000); s.Reason != StopPowerOff {
		t.Fatalf("stop %v, want power-off once both cleared it", s)
	}
}
