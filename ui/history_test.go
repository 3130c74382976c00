package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// S steps back to the instant before, :goto travels, the status bar shows
// the history range, and ? lists the keys.
func TestTimeTravelKeys(t *testing.T) {
	hs := startConfig(t, hv.Config{Image: guests.BootImage, History: 64 << 20}, 140, 45)
	start := hs.m.Regs()
	for i := 0; i < 3; i++ {
		prev := hs.m.Regs().ICount
		hs.key('s')
		hs.waitUntil("the step", func(string) bool { return hs.m.Regs().ICount > prev })
	}
	at3 := hs.m.Regs()
	hs.waitFor(fmt.Sprintf("history 0..%d", at3.ICount))
	hs.key('S')
	hs.waitUntil("the step back", func(string) bool { return hs.m.Regs().ICount == at3.ICount-1 })
	hs.command("goto 0")
	hs.waitUntil("goto 0", func(string) bool { return hs.m.Regs().ICount == 0 })
	hs.waitFor(fmt.Sprintf("eip %08x", start.EIP))
	if got := hs.m.Regs(); got != start {
		t.Errorf("goto 0: registers %+v, want %+v", got, start)
	}
	hs.key('?')
	hs.waitFor("step one instruction back")
}

// findEvent is the first event in the Machine's log that ok accepts.
func findEvent(t *testing.T, m *hv.Machine, what string, ok func(hv.Event) bool) hv.Event {
	t.Helper()
	evs, _ := m.Events(0)
	for _, e := range evs {
		if ok(e) {
			return e
		}
	}
	t.Fatalf("the demo guest made no %s", what)
	return hv.Event{}
}

// provLines is what the walk pane must say for va: one row per shadow
// level, from hv.Machine.ShadowWriter and the trap or hypercall that made
// the write (found here by scanning the Machine's own log).
func provLines(t *testing.T, m *hv.Machine, va uint32) []string {
	t.Helper()
	w := m.Walk(va)
	evs, _ := m.Events(0)
	var out []string
	for _, l := range w.Shadow.Levels {
		e, ok := m.ShadowWriter(w.Slot, l.Kind.String(), va)
		if !ok {
			out = append(out, fmt.Sprintf("shadow %s: no write in the event log", l.Kind))
			continue
		}
		by := "the Host"
		for _, x := range evs {
			if x.ICount != e.ICount {
				continue
			}
			// demand_page: the #PF logged after the change; else the
			// hypercall logged before it.
			if e.Why == "demand_page" && x.Kind == event.Trap && x.Seq > e.Seq {
				by = fmt.Sprintf("trap %d (%s) at %#x cr2 %#x", x.Nr, x.Name, x.EIP, x.CR2)
				break
			}
			if e.Why != "demand_page" && x.Kind == event.Hypercall && x.Seq < e.Seq {
				by = fmt.Sprintf("hcall %s at %#x", x.Name, x.EIP)
			}
		}
		out = append(out, fmt.Sprintf("shadow %s written @%d by %s: %s", l.Kind, e.ICount, by, e.Why))
	}
	if len(out) == 0 {
		t.Fatalf("the shadow walk of %#x has no levels", va)
	}
	return out
}

// Enter on an expanded event travels to just before it, g on a hypercall
// does at once, and every pane shows that instant: the status bar's
// icount and history range, the registers, the logs and the console cut
// back to it, and the walk's provenance rows as ShadowWriter says.
func TestEnterTravelsBeforeEvent(t *testing.T) {
	hs := startConfig(t, hv.Config{Image: guests.BootImage, History: 64 << 20, EventRing: 1 << 20}, 160, 50)
	end := hs.runToEnd()
	hs.waitFor("boot: PASS")
	hs.waitFor(fmt.Sprintf("history 0..%d", end.ICount))
	// The second page fault: the first one the Guest takes at 0x100012.
	pf := findEvent(t, hs.m, "page fault at 0x104000", func(e hv.Event) bool {
		return e.Kind == event.Trap && e.Nr == 14 && e.CR2 == 0x104000
	})
	np := findEvent(t, hs.m, "NEW_PGTABLE", func(e hv.Event) bool {
		return e.Kind == event.Hypercall && e.Name == "NEW_PGTABLE"
	})
	hs.focusAndWait(paneEvents)
	hs.key('/')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText("cr2 0x104000")
	hs.special(tcell.KeyEnter)
	hs.waitFor("Events /cr2 0x104000 1/1")
	hs.special(tcell.KeyEnter)
	hs.waitFor(fmt.Sprintf("Enter again or g: travel to just before this (icount %d, event %d)", pf.ICount, pf.Seq))
	hs.special(tcell.KeyEnter)
	s := hs.waitFor("travelled to icount")
	r := hs.m.Regs()
	if r.ICount > pf.ICount || r.EIP != pf.EIP {
		t.Fatalf("before the fault %v: icount %d eip %#x", pf, r.ICount, r.EIP)
	}
	if _, next := hs.m.Events(^uint64(0)); next > pf.Seq {
		t.Fatalf("travelled to icount %d, but the fault (event %d) has happened: next event %d", r.ICount, pf.Seq, next)
	}
	s = hs.waitFor(fmt.Sprintf("history 0..%d, at %d", end.ICount, r.ICount))
	s = hs.waitFor(fmt.Sprintf("eip %08x", r.EIP))
	s = hs.waitFor(fmt.Sprintf("(icount %d)", r.ICount))
	// The fault is no longer in the events log (the search finds none),
	// nor the future in the console or the hypercall log.
	s = hs.waitFor("Events /cr2 0x104000 0/0")
	if strings.Contains(s, "boot: PASS") || strings.Contains(s, "SHUTDOWN") {
		t.Errorf("the console or the hypercall log still shows the future:\n%s", s)
	}
	// The walk went to the fault's address, where the shadow PTE is not
	// yet there; each shadow level says who wrote it.
	hs.waitFor("Walk 00104000")
	for _, l := range provLines(t, hs.m, pf.CR2) {
		hs.waitFor(l)
	}
	// One step: demand_page fills the PTE, and the walk says so.
	hs.focusAndWait(paneDisasm)
	hs.key('s')
	hs.waitUntil("the step", func(string) bool { return hs.m.Regs().ICount > r.ICount || hs.m.Regs().EIP != r.EIP })
	want := provLines(t, hs.m, pf.CR2)
	pte := fmt.Sprintf("shadow pte written @%d by trap 14 (#PF) at %#x cr2 %#x: demand_page", pf.ICount, pf.EIP, pf.CR2)
	if want[len(want)-1] != pte {
		t.Errorf("after the step, ShadowWriter says %q, want %q", want[len(want)-1], pte)
	}
	for _, l := range want {
		hs.waitFor(l)
	}

	// g on a hypercall: before the first NEW_PGTABLE, linear_pages is on
	// again and the handoff summary has not seen it.
	hs.command(fmt.Sprintf("goto %d", end.ICount))
	hs.waitUntil("the goto", func(string) bool { return hs.m.Regs().ICount == end.ICount })
	hs.waitFor("boot: PASS")
	hs.focusAndWait(paneHcalls)
	hs.key('/')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText("NEW_PGTABLE")
	hs.special(tcell.KeyEnter)
	hs.waitFor("Hypercalls /NEW_PGTABLE 1/1")
	hs.key('g')
	hs.waitFor("travelled to icount")
	if r := hs.m.Regs(); r.ICount > np.ICount {
		t.Errorf("before %v: icount %d", np, r.ICount)
	}
	hs.waitFor("Hypercalls /NEW_PGTABLE 0/0")
	hs.waitFor("first NEW_PGTABLE not yet")
	hs.waitFor("linear_pages ON")
}

// shadowCause: demand_page's change belongs to the #PF logged after it, a
// hypercall's change to the hypercall logged before it (not to a fault at
// the same icount after it), the Switcher's mapping to no one.
func TestShadowCause(t *testing.T) {
	ev := func(seq, ic uint64, k event.Kind, why string) logLine {
		return logLine{ev: hv.Event{Seq: seq, ICount: ic, Kind: k, Why: why, Name: fmt.Sprint(seq)}}
	}
	hcalls := []logLine{ev(3, 10, event.Hypercall, "")}
	events := []logLine{
		ev(0, 0, event.Shadow, "switcher"),
		ev(1, 9, event.Shadow, "demand_page"),
		ev(2, 9, event.Trap, ""),
		ev(4, 10, event.Shadow, "set_pte"),
		ev(5, 10, event.Shadow, "demand_page"),
		ev(6, 10, event.Trap, ""),
	}
	for _, c := range []struct {
		shadow int
		want   uint64 // the cause's seq; 99: none
	}{{0, 99}, {1, 2}, {3, 3}, {4, 6}} {
		got, ok := shadowCause(events[c.shadow].ev, hcalls, events)
		if c.want == 99 {
			if ok {
				t.Errorf("%s change: cause %v, want none", events[c.shadow].ev.Why, got)
			}
			continue
		}
		if !ok || got.Seq != c.want {
			t.Errorf("shadow event %d (%s): cause %v (%v), want event %d", events[c.shadow].ev.Seq, events[c.shadow].ev.Why, got.Seq, ok, c.want)
		}
	}
}

// The walk pane names the last writer of each guest entry once the Guest
// is stopped (the query replays history on the controller), as
// hv.Machine.GuestWalkWriters says, and :history ADDR lists the guest
// changes, the CR3 load and the shadow changes, oldest first.
func TestWalkGuestWriters(t *testing.T) {
	hs := startConfig(t, hv.Config{Image: guests.BootImage, History: 64 << 20, EventRing: 1 << 20}, 200, 55)
	hs.runToEnd()
	hs.waitFor("boot: PASS")
	const va = 0xC0100000
	hs.command(fmt.Sprintf("walk %#x", va))
	hs.waitFor("Walk c0100000")
	s := hs.waitFor("guest pte written @")
	if strings.Contains(s, "replaying history") {
		t.Errorf("the pending row stayed after the answer came:\n%s", s)
	}
	// The UI's answer is in; the Machine's own answers the same.
	lw, err := hs.m.GuestWalkWriters(va)
	if err != nil {
		t.Fatal(err)
	}
	if len(lw) != 2 {
		t.Fatalf("walk of %#x: %d guest levels", va, len(lw))
	}
	for _, l := range lw {
		if !l.Writer.Found {
			t.Fatalf("%s: no writer: %s", l.Level.Kind, l.Writer.Note)
		}
		hs.waitFor(fmt.Sprintf("guest %s written @%d by %s", l.Level.Kind, l.Writer.ICount, l.Writer.By()))
	}
	if !lw[0].Writer.Guest || lw[1].Writer.Guest {
		t.Errorf("pgd by the guest, pte by the Host (demand_page's accessed bit): %s; %s", lw[0].Writer, lw[1].Writer)
	}

	hs.command(fmt.Sprintf("history %#x", va))
	s = hs.waitFor("entries mapping 0xc0100000: 4 guest changes, 1 shadow changes")
	s = hs.waitFor("guest  cr3 0x0 -> 0x")
	pgd := strings.Index(s, "guest  pgd[768]")
	cr3 := strings.Index(s, "guest  cr3")
	sh := strings.Index(s, "shadow slot")
	if pgd < 0 || cr3 < 0 || sh < 0 || !(pgd < cr3 && cr3 < sh) {
		t.Errorf("want the pgd store, then the CR3 load, then the shadow change:\n%s", s)
	}
}

// TestWalkShadowWritersPastTheRing: with an event ring far too small for
// the boot, the walk pane still names the event that wrote each shadow
// entry once the Guest is stopped — the replay finds it — where the ring
// alone would say it has no write.
func TestWalkShadowWritersPastTheRing(t *testing.T) {
	hs := startConfig(t, hv.Config{Image: guests.BootImage, History: 64 << 20, EventRing: 64}, 200, 55)
	hs.runToEnd()
	hs.waitFor("boot: PASS")
	const va = 0xC0101000 // the kernel page the demo ran in: both shadow levels written
	w := hs.m.Walk(va)
	if len(w.Shadow.Levels) != 2 {
		t.Fatalf("walk of %#x: %d shadow levels", va, len(w.Shadow.Levels))
	}
	var levels []string
	for _, l := range w.Shadow.Levels {
		levels = append(levels, l.Kind.String())
		if _, ok := hs.m.ShadowWriter(w.Slot, l.Kind.String(), va); ok {
			t.Fatalf("the 64-event ring still holds the %s write: the test proves nothing", l.Kind)
		}
	}
	hs.command(fmt.Sprintf("walk %#x", va))
	hs.waitFor("Walk c0101000")
	// the UI's query first (the Machine answers one at a time), then
	// the Machine's own, which must say the same
	hs.waitFor("shadow pte written @")
	evs, ok, err := hs.m.ShadowWritersInHistory(w.Slot, levels, va)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range levels {
		if !ok[i] {
			t.Fatalf("%s: no writer found by replay", l)
		}
		s := hs.waitFor(fmt.Sprintf("shadow %s written @%d by ", l, evs[i].ICount))
		if strings.Contains(s, "shadow "+l+": no write in the event log") {
			t.Errorf("the ring's answer stayed after the replay's:\n%s", s)
		}
	}
}
