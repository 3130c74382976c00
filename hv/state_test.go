package hv

import (
	"bytes"
	"testing"

	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/internal/asm"
)

func TestSnapshot(t *testing.T) {
	m := newTestMachine(t, "HCALL 1, lguest_data\n"+powerOff)
	if _, err := m.RunUntil(func(e Event) bool { return e.Kind == event.Hypercall }, 0); err != nil {
		t.Fatal(err)
	}
	code := make([]byte, 8)
	if err := m.ReadVirt(asm.Entry, code); err != nil {
		t.Fatal(err)
	}
	limit := m.h.Mem().GuestLimit()
	s := m.Snapshot(View{
		Walk: &Place{From: AtEIP},
		Windows: []Window{
			{At: Place{Addr: asm.Entry + 4}, Before: 4, Len: 4}, // the code, placed by Before
			{At: Place{From: AtESP, Align: 16}, Len: 16},
			{At: Place{Addr: 2}, Before: 16, Len: 2}, // Before clipped at address 0
			{At: Place{Addr: limit - 2}, Len: 4},     // runs off the end of guest memory
			{At: Place{Addr: 0xFFFF_FFFE}, Len: 8},   // clipped at 4 GiB
		},
		Events: true,
	})
	if s.Running || s.Stop.Reason != StopUntil || s.Stop.ICount != s.Regs.ICount {
		t.Fatalf("stop %v running %v at icount %d", s.Stop, s.Running, s.Regs.ICount)
	}
	if s.Walk.Guest.VAddr != s.Regs.EIP || !s.Linear || !s.Walk.Linear || s.Walk.Guest.PA != s.Regs.EIP {
		t.Errorf("walk %+v at eip %#x, linear %v", s.Walk.Guest, s.Regs.EIP, s.Linear)
	}
	if w := s.Windows[0]; w.Base != asm.Entry || !bytes.Equal(w.Data, code) {
		t.Errorf("code window at %#x: % x, want % x at %#x", w.Base, w.Data, code, asm.Entry)
	}
	if w := s.Windows[1]; w.Base != s.Regs.GPR[4]&^0xF || len(w.Data) != 16 {
		t.Errorf("stack window at %#x (esp %#x), %d bytes", w.Base, s.Regs.GPR[4], len(w.Data))
	}
	if w := s.Windows[2]; w.Base != 0 || len(w.Data) != 4 {
		t.Errorf("window near 0 at %#x, %d bytes; want 0, 4", w.Base, len(w.Data))
	}
	if w := s.Windows[3]; len(w.OK) != 4 || !w.OK[0] || !w.OK[1] || w.OK[2] || w.OK[3] {
		t.Errorf("window across the end of memory: ok %v", w.OK)
	}
	if w := s.Windows[4]; len(w.Data) != 2 {
		t.Errorf("window at the top of the address space: %d bytes, want 2", len(w.Data))
	}
	n := len(s.Events)
	if n == 0 || s.Events[0].Seq != 0 || s.NextEvent != s.Events[n-1].Seq+1 {
		t.Fatalf("events %v, next %d", s.Events, s.NextEvent)
	}
	inits := 0
	for _, e := range s.Events {
		if e.Kind == event.Hypercall && e.Name == "LGUEST_INIT" {
			inits++
		}
	}
	if inits != 1 {
		t.Errorf("%d LGUEST_INIT events in the snapshot, want 1: %v", inits, s.Events)
	}
	// Events since NextEvent: only the new ones.
	m.Run(0)
	s2 := m.Snapshot(View{Events: true, EventsFrom: s.NextEvent})
	if len(s2.Events) == 0 || s2.Events[0].Seq != s.NextEvent || s2.Events[len(s2.Events)-1].Kind != event.Shutdown {
		t.Errorf("events since %d: %v", s.NextEvent, s2.Events)
	}
	if !s2.Stop.Reason.Terminal() || !s2.Host.Dead {
		t.Errorf("after power-off: stop %v, host dead %v", s2.Stop, s2.Host.Dead)
	}
}
