package hv_test

// What the CLI's signal handling relies on: RequestPause, which does not
// wait, stops Run on the caller's goroutine, the background runner, and a
// Guest idling in real time (before its clock event).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
)

// newRawMachine boots g on a Machine, as the CLI boots a kernel.
func newRawMachine(t *testing.T, g *rawGuest, cfg hv.Config) *hv.Machine {
	t.Helper()
	cfg.Image, cfg.RAM = g.image(), 32<<20
	m, err := hv.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// spinGuest initialises and spins forever.
func spinGuest() *rawGuest {
	g := newRawGuest()
	g.hcall(hcall.LguestInit, rawLguestData)
	g.jmp(g.here())
	return g
}

// waitRunning waits until the Guest has retired some instructions.
func waitRunning(t *testing.T, m *hv.Machine) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for m.Regs().ICount < 100_000 {
		if time.Now().After(deadline) {
			t.Fatal("the guest never got going")
		}
		time.Sleep(time.Millisecond)
	}
}

// returnsWithin waits for a result and fails if none comes within d (a
// hang check, not a timing assertion: d is generous).
func returnsWithin[T any](t *testing.T, d time.Duration, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s has not returned after %v", what, d)
	}
	var zero T
	return zero
}

func TestRequestPauseStopsRun(t *testing.T) {
	m := newRawMachine(t, spinGuest(), hv.Config{})
	stops := make(chan hv.Stop, 1)
	go func() { stops <- m.Run(0) }()
	waitRunning(t, m)
	m.RequestPause()
	if s := returnsWithin(t, 10*time.Second, "Run after RequestPause", stops); s.Reason != hv.StopPaused {
		t.Errorf("Run returned %v, want paused", s)
	}
}

func TestRequestPauseStopsTheRunner(t *testing.T) {
	m := newRawMachine(t, spinGuest(), hv.Config{})
	m.Resume()
	waitRunning(t, m)
	m.RequestPause()
	stops := make(chan hv.Stop, 1)
	go func() {
		s, _ := m.WaitStop(context.Background())
		stops <- s
	}()
	if s := returnsWithin(t, 10*time.Second, "WaitStop after RequestPause", stops); s.Reason != hv.StopPaused || m.Running() {
		t.Errorf("stop %v, running %v; want paused and stopped", s, m.Running())
	}
}

// A Guest idling in real time (the TUI, --gdb, a terminal on stdin) wakes
// at once, before the clock event it sleeps for.
func TestRequestPauseWakesAnIdleGuest(t *testing.T) {
	g := newRawGuest()
	g.hcall(hcall.LguestInit, rawLguestData)
	loop := g.here()
	g.hcall(hcall.SetClockevent, 0x7fffffff) // 2.1 s of guest time ahead
	g.hcall(hcall.Halt)
	g.jmp(loop)
	m := newRawMachine(t, g, hv.Config{IdleRealtime: true})
	stops := make(chan hv.Stop, 1)
	go func() { stops <- m.Run(0) }()
	// The HALT hypercall is logged before the Host starts sleeping. (Host()
	// and Regs() would wait: Run holds the Machine while the Guest idles.)
	deadline := time.Now().Add(10 * time.Second)
	for halted := false; !halted; {
		evs, _ := m.Events(0)
		for _, e := range evs {
			halted = halted || (e.Kind == event.Hypercall && e.Name == "HALT")
		}
		if time.Now().After(deadline) {
			t.Fatal("the guest never halted")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // into the sleep
	m.RequestPause()
	if s := returnsWithin(t, 10*time.Second, "Run after RequestPause", stops); s.Reason != hv.StopPaused {
		t.Errorf("Run returned %v, want paused", s)
	}
	// Woken early: the one sleep was cut short of the 2.1 s it was for.
	evs, _ := m.Events(0)
	var slept []uint64
	for _, e := range evs {
		var ns uint64
		if _, err := fmt.Sscanf(e.Text, "slept %d ns", &ns); e.Kind == event.Halt && err == nil {
			slept = append(slept, ns)
		}
	}
	if len(slept) != 1 || slept[0] >= 0x7fffffff {
		t.Errorf("sleeps %v ns: want one, cut short of the 2147483647 ns clock event", slept)
	}
}
