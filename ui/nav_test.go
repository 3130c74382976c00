package ui

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/tests/guests"
	"golang.org/x/arch/x86/x86asm"
)

// Navigation and the issue 12 defects, driven through the real UI on a
// SimulationScreen.

// stepToCall single-steps the paused Guest (outside the UI, which is idle)
// until EIP is at a call instruction, and returns it.
func stepToCall(t *testing.T, m *hv.Machine) x86asm.Inst {
	t.Helper()
	for range 200000 {
		code := make([]byte, 15)
		eip := m.Regs().EIP
		if m.ReadVirt(eip, code) == nil {
			if inst, err := x86asm.Decode(code, 32); err == nil && inst.Op == x86asm.CALL {
				return inst
			}
		}
		if _, err := m.Step(); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no call instruction in the first 200000 steps")
	return x86asm.Inst{}
}

func TestNextStepsOverACall(t *testing.T) {
	hs := start(t, 120, 40)
	inst := stepToCall(t, hs.m)
	r := hs.m.Regs()
	hs.waitFor(fmt.Sprintf("eip %08x", r.EIP))
	hs.key('n')
	want := r.EIP + uint32(inst.Len)
	hs.waitFor(fmt.Sprintf("next: at %#x", want))
	after := hs.m.Regs()
	if after.EIP != want || after.GPR[cpu.ESP] != r.GPR[cpu.ESP] {
		t.Errorf("next: eip %#x esp %#x, want %#x with esp %#x back", after.EIP, after.GPR[cpu.ESP], want, r.GPR[cpu.ESP])
	}
	if after.ICount-r.ICount < 2 {
		t.Errorf("next ran %d instructions: the call's body did not run", after.ICount-r.ICount)
	}
	// Not at a call: n is one stepi.
	before := hs.m.Regs().ICount
	code := make([]byte, 15)
	hs.m.ReadVirt(after.EIP, code)
	if inst, err := x86asm.Decode(code, 32); err == nil && inst.Op != x86asm.CALL {
		hs.key('n')
		hs.waitUntil("one step", func(string) bool { return hs.m.Regs().ICount == before+1 })
	}
	// The temporary breakpoint is gone: continuing reaches the end.
	if st := hs.runToEnd(); st.Reason != hv.StopPowerOff {
		t.Errorf("after next, the run ended with %v", st)
	}
}

func TestFinishReturnsToTheCaller(t *testing.T) {
	hs := startImage(t, builtGuest(t, "boot.elf"), 120, 40)
	inst := stepToCall(t, hs.m)
	r := hs.m.Regs()
	ret := r.EIP + uint32(inst.Len)
	if _, err := hs.m.Step(); err != nil { // into the callee, at its symbol
		t.Fatal(err)
	}
	var b [4]byte
	hs.m.ReadVirt(hs.m.Regs().GPR[cpu.ESP], b[:])
	if binary.LittleEndian.Uint32(b[:]) != ret {
		t.Fatalf("the call did not push %#x", ret)
	}
	hs.waitFor(fmt.Sprintf("eip %08x", hs.m.Regs().EIP))
	hs.key('f')
	hs.waitFor(fmt.Sprintf("finish: at %#x", ret))
	if got := hs.m.Regs(); got.EIP != ret || got.GPR[cpu.ESP] != r.GPR[cpu.ESP] {
		t.Errorf("finish stopped at eip %#x esp %#x, want %#x esp %#x", got.EIP, got.GPR[cpu.ESP], ret, r.GPR[cpu.ESP])
	}
}

func TestRunToCursor(t *testing.T) {
	hs := start(t, 120, 40)
	hs.waitFor("=>00100000")
	for range 4 {
		hs.special(tcell.KeyDown)
	}
	var cursor uint32
	hs.waitUntil("the cursor to move", func(string) bool {
		ch := make(chan uint32)
		go hs.a.tv.QueueUpdate(func() { ch <- hs.a.cursorAddr() })
		cursor = <-ch
		return cursor > 0x100000
	})
	time.Sleep(100 * time.Millisecond)
	ch := make(chan uint32)
	go hs.a.tv.QueueUpdate(func() { ch <- hs.a.cursorAddr() })
	cursor = <-ch
	hs.key('u')
	hs.waitFor(fmt.Sprintf("advance: at %#x", cursor))
	if eip := hs.m.Regs().EIP; eip != cursor {
		t.Errorf("run to cursor stopped at %#x, want %#x", eip, cursor)
	}
}

func TestBreakpointList(t *testing.T) {
	hs := startImage(t, builtGuest(t, "boot.elf"), 120, 40)
	start, _ := hs.a.syms.byName("start_kernel")
	hs.command("info break")
	hs.waitFor("No breakpoints")
	hs.special(tcell.KeyEscape)
	hs.command("break start_kernel")
	hs.waitFor(fmt.Sprintf("breakpoint 1 at %#x <start_kernel>", start))
	hs.key('c')
	hs.waitFor(fmt.Sprintf("breakpoint at eip %#x", start))
	hs.key('B')
	hs.waitFor(fmt.Sprintf("1    y    0x%08x 1      start_kernel             %#x <start_kernel>", start, start))
	hs.special(tcell.KeyEscape)
	hs.command("disable 1")
	hs.waitFor(fmt.Sprintf("breakpoint 1 disabled at %#x", start))
	hs.waitFor(fmt.Sprintf(" =>%08x", start)) // no B in the gutter
	hs.command("info break")
	hs.waitFor(fmt.Sprintf("1    n    0x%08x 1", start))
	hs.special(tcell.KeyEscape)
	hs.command("enable 1")
	hs.waitFor(fmt.Sprintf("B=>%08x", start))
	hs.command("delete 1")
	hs.waitFor(fmt.Sprintf("breakpoint 1 deleted at %#x", start))
	hs.command("enable 1")
	hs.waitFor("no breakpoint number 1")
}

func TestDisasAndCompletion(t *testing.T) {
	hs := startImage(t, builtGuest(t, "boot.elf"), 120, 40)
	start, _ := hs.a.syms.byName("start_kernel")
	hs.key('o') // opens ":disas "
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText("start_ker")
	hs.special(tcell.KeyTab)
	hs.waitFor(":disas start_kernel")
	hs.special(tcell.KeyEnter)
	hs.waitFor("2 Disassembly <start_kernel>")
	hs.waitFor(fmt.Sprintf("%08x", start))
	// Commands and event words complete too.
	hs.key(':')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText("unt")
	hs.special(tcell.KeyTab)
	hs.typeText("hcall:NEW_P")
	hs.special(tcell.KeyTab)
	hs.waitFor(":until hcall:NEW_PGTABLE")
	hs.special(tcell.KeyEscape)
}

func TestHistoryAcrossRuns(t *testing.T) {
	file := filepath.Join(t.TempDir(), "history")
	opt := func(o *Options) { o.HistoryFile = file }
	hs := startWith(t, hv.Config{Image: guests.BootImage}, 120, 40, opt)
	hs.command("walk c0000000")
	hs.command("x 1000")
	hs.key(':')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.special(tcell.KeyUp)
	hs.waitFor(":x 1000")
	hs.special(tcell.KeyUp)
	hs.waitFor(":walk c0000000")
	hs.special(tcell.KeyDown)
	hs.special(tcell.KeyDown)
	hs.waitGone(":x 1000")
	hs.special(tcell.KeyEscape)

	again := startWith(t, hv.Config{Image: guests.BootImage}, 120, 40, opt)
	again.key(':')
	again.waitUntil("the prompt", func(string) bool { return again.promptOpen() })
	again.special(tcell.KeyUp)
	again.waitFor(":x 1000")
	again.special(tcell.KeyEnter)
	again.waitFor("Memory 00001000")
}

func TestMessageLineClears(t *testing.T) {
	hs := start(t, 120, 40)
	hs.command("bogus")
	hs.waitFor(`unknown command "bogus"`)
	hs.command("walk c0000000")
	hs.waitGone(`unknown command "bogus"`)
	hs.command("syntax foo")
	s := hs.waitFor(`syntax: "foo": want gnu or intel`)
	if strings.Contains(s, "syntax: syntax") {
		t.Errorf("doubled prefix:\n%s", s)
	}
	hs.key('w') // any key clears the message
	hs.waitGone("want gnu or intel")
	hs.special(tcell.KeyEscape)
}

func TestUntilWordsFromTheTable(t *testing.T) {
	hs := start(t, 80, 24)
	hs.command("until")
	s := hs.waitFor("which event?")
	// The message wraps rather than being cut: every word is on screen.
	for _, w := range event.Words {
		if !strings.Contains(s, string(w.Kind)) {
			t.Errorf("the until error lacks %q:\n%s", w.Kind, s)
		}
	}
	hs.command("until nothing")
	hs.waitFor(`until: unknown event kind "nothing"`)
}

func TestAltKeyInConsoleDoesNotReachTheGuest(t *testing.T) {
	hs := start(t, 120, 40) // paused: nothing takes console input
	hs.key('7')
	hs.waitFor("[Console]")
	// Esc then s, as a terminal sends it: Alt-s.
	hs.scr.InjectKey(tcell.KeyRune, 's', tcell.ModAlt)
	hs.waitFor("[Disassembly]")
	hs.waitUntil("the step", func(string) bool { return hs.m.Regs().ICount == 1 })
	if n := hs.m.ConsolePending(); n != 0 {
		t.Errorf("%d bytes of Alt-s reached the guest console", n)
	}
}

func TestWalkTitleNamesTheSymbol(t *testing.T) {
	hs := startImage(t, builtGuest(t, "boot.elf"), 120, 40)
	start, _ := hs.a.syms.byName("start_kernel")
	hs.command("walk start_kernel")
	hs.waitFor(fmt.Sprintf("4 Walk %08x <start_kernel>", start))
}

func TestMemoryPaneSaysWhy(t *testing.T) {
	hs := start(t, 120, 40)
	hs.command("x 0xfffff000")
	hs.waitFor("Memory fffff000")
	hs.waitFor("??")
	hs.waitFor("unreadable")
}

func TestZoomAndEveryPaneAt80x24(t *testing.T) {
	hs := start(t, 80, 24)
	for p := pane(0); p < numPanes; p++ {
		title := fmt.Sprintf("%d %s", p+1, paneNames[p])
		hs.focusAndWait(p)
		hs.waitFor(title)
		if p == paneConsole {
			hs.special(tcell.KeyEscape) // the console keeps z
			continue
		}
		hs.key('z')
		other := "2 Disassembly"
		if p == paneDisasm {
			other = "1 Registers"
		}
		s := hs.waitUntil("the zoomed pane alone", func(s string) bool {
			return strings.Contains(s, title) && !strings.Contains(s, other)
		})
		for q := pane(0); q < numPanes; q++ {
			if q != p && strings.Contains(s, fmt.Sprintf("%d %s", q+1, paneNames[q])) {
				t.Errorf("zoomed %s still shows %s:\n%s", paneNames[p], paneNames[q], s)
			}
		}
		if !strings.Contains(s, "handoff:") || !strings.Contains(s, "? help") {
			t.Errorf("zoom hid the handoff or status line:\n%s", s)
		}
		hs.key('z')
		hs.waitFor("linear_pages")
	}
}

func TestEnterJumpsFromTheLog(t *testing.T) {
	hs := start(t, 200, 55)
	hs.runToEnd()
	hs.focusAndWait(paneEvents)
	hs.key('/')
	hs.typeText("(#PF)")
	hs.special(tcell.KeyEnter)
	s := hs.waitFor("Events /(#PF) 1/")
	m := regexp.MustCompile(`trap 14 \(#PF\) at 0x[0-9a-f]+ err 0x[0-9a-f]+ cr2 0x([0-9a-f]+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no #PF line selected:\n%s", s)
	}
	hs.special(tcell.KeyEnter)
	var cr2 uint32
	fmt.Sscanf(m[1], "%x", &cr2)
	hs.waitFor(fmt.Sprintf("4 Walk %08x", cr2))
	hs.waitFor("Enter jumped: walk")
	hs.waitFor("error code not-present") // the expanded line
}

func TestResizeKeepsTheLog(t *testing.T) {
	hs := start(t, 200, 55)
	hs.runToEnd()
	hs.waitFor(`SHUTDOWN "Power down" POWEROFF`)
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {60, 20}, {200, 55}} {
		hs.resize(sz[0], sz[1])
	}
	hs.waitFor("LGUEST_INIT")
	hs.waitFor(`SHUTDOWN "Power down" POWEROFF`)
}
