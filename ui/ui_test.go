package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/symbols"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// These tests drive the real application on a tcell SimulationScreen, as
// tview's own tests do, and assert on the text it draws.

const waitLimit = 15 * time.Second

type harness struct {
	t    *testing.T
	a    *app
	m    *hv.Machine
	scr  tcell.SimulationScreen
	done chan error

	mu    sync.Mutex
	frame Frame // the last frame drawn
}

// start runs the UI on the demo guest, paused at its entry point, at w x h.
func start(t *testing.T, w, h int) *harness {
	t.Helper()
	return startImage(t, guests.BootImage, w, h)
}

func startImage(t *testing.T, image []byte, w, h int) *harness {
	t.Helper()
	return startWith(t, hv.Config{Image: image}, w, h, nil)
}

func startConfig(t *testing.T, cfg hv.Config, w, h int) *harness {
	t.Helper()
	return startWith(t, cfg, w, h, nil)
}

// startWith starts the UI on a Machine built from cfg, with the options
// changed by opt (nil: none).
func startWith(t *testing.T, cfg hv.Config, w, h int, opt func(*Options)) *harness {
	t.Helper()
	m, err := hv.New(cfg)
	if err != nil {
		t.Fatalf("hv.New(demo guest): %v", err)
	}
	scr := tcell.NewSimulationScreen("UTF-8")
	hs := &harness{t: t, m: m, scr: scr, done: make(chan error, 1)}
	opts := Options{StartPaused: true, ImageName: "demo", Screen: scr, Refresh: 20 * time.Millisecond,
		AfterDraw: func(s tcell.Screen) {
			f := CaptureFrame(s)
			hs.mu.Lock()
			hs.frame = f
			hs.mu.Unlock()
		}}
	if opt != nil {
		opt(&opts)
	}
	a := newApp(m, opts)
	hs.a = a
	go func() { hs.done <- a.run() }()
	t.Cleanup(func() {
		a.tv.Stop()
		select {
		case err := <-hs.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("Run did not return after Stop")
		}
	})
	select {
	case <-a.ready:
	case <-time.After(waitLimit):
		t.Fatal("the screen was never initialised")
	}
	hs.waitFor("1 Registers")
	hs.resize(w, h)
	return hs
}

func (hs *harness) resize(w, h int) {
	hs.t.Helper()
	hs.scr.SetSize(w, h)
	// The resize event makes tview redraw at the new size.
	hs.scr.PostEvent(tcell.NewEventResize(w, h))
	hs.waitUntil(fmt.Sprintf("a %dx%d screen", w, h), func(string) bool {
		f := hs.last()
		return f.W == w && f.H == h
	})
}

func (hs *harness) last() Frame {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.frame
}

func (hs *harness) text() string { return hs.last().Text() }

func (hs *harness) waitUntil(what string, ok func(screen string) bool) string {
	hs.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s := hs.text()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			hs.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (hs *harness) waitFor(sub string) string {
	hs.t.Helper()
	return hs.waitUntil(fmt.Sprintf("%q", sub), func(s string) bool { return strings.Contains(s, sub) })
}

func (hs *harness) waitGone(sub string) string {
	hs.t.Helper()
	return hs.waitUntil(fmt.Sprintf("%q to disappear", sub), func(s string) bool { return !strings.Contains(s, sub) })
}

func (hs *harness) key(r rune) { hs.scr.InjectKey(tcell.KeyRune, r, tcell.ModNone) }

func (hs *harness) special(k tcell.Key) { hs.scr.InjectKey(k, 0, tcell.ModNone) }

func (hs *harness) typeText(s string) {
	for _, r := range s {
		hs.key(r)
	}
}

// command types a ":" command line.
func (hs *harness) command(line string) {
	hs.key(':')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText(line)
	hs.special(tcell.KeyEnter)
	hs.waitUntil("the prompt to close", func(string) bool { return !hs.promptOpen() })
}

func (hs *harness) promptOpen() bool {
	ch := make(chan bool)
	go hs.a.tv.QueueUpdate(func() { ch <- hs.a.tv.GetFocus() == hs.a.prompt })
	return <-ch
}

// waitDead continues the guest and waits for a terminal stop.
func (hs *harness) runToEnd() hv.Stop {
	hs.t.Helper()
	hs.key('c')
	hs.waitFor("DEAD")
	return hs.m.LastStop()
}

func TestPanesAppear(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {100, 33}, {120, 40}, {200, 60}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			hs := start(t, sz.w, sz.h)
			want := []string{"linear_pages ON", "PAUSED", "eip 00100000", "handoff:"}
			small := sz.h < smallHeight
			for i, n := range paneNames {
				if small && (pane(i) == paneWalk || pane(i) == paneMemory || pane(i) == paneEvents || pane(i) == paneConsole) {
					continue // they share the hypercalls' slot; see below
				}
				want = append(want, fmt.Sprintf("%d %s", i+1, n))
			}
			hs.waitUntil("every pane", func(s string) bool {
				for _, w := range want {
					if !strings.Contains(s, w) {
						return false
					}
				}
				return true
			})
			if s := hs.text(); strings.Contains(s, "too small") {
				t.Errorf("%dx%d is big enough, yet:\n%s", sz.w, sz.h, s)
			}
			if !small {
				return
			}
			// On a short terminal the focused one of hypercalls, memory,
			// events and console takes the slot beside the disassembly.
			for _, p := range []pane{paneWalk, paneMemory, paneHcalls, paneEvents, paneConsole} { // console last: it keeps digits
				hs.key(rune('1' + p))
				title := fmt.Sprintf("%d %s", p+1, paneNames[p])
				s := hs.waitFor(title)
				if rowOf(s, title) != rowOf(s, "2 Disassembly") {
					t.Errorf("%s is not beside the disassembly:\n%s", title, s)
				}
			}
		})
	}
}

// cellStyle finds sub on the screen and returns its first cell's style.
func cellStyle(t *testing.T, f Frame, sub string) tcell.Style {
	t.Helper()
	text := f.Text()
	for y, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, sub); i >= 0 {
			x := len([]rune(line[:i]))
			return f.Styles[y*f.W+x]
		}
	}
	t.Fatalf("%q not on screen:\n%s", sub, text)
	return tcell.StyleDefault
}

func TestStepChangesEIP(t *testing.T) {
	hs := start(t, 120, 40)
	before := hs.m.Regs()
	hs.waitFor(fmt.Sprintf("eip %08x", before.EIP))
	for _, k := range []rune{'s', 'i'} {
		prev := hs.m.Regs()
		hs.key(k)
		hs.waitUntil("the step to finish", func(string) bool { return hs.m.Regs().ICount > prev.ICount })
		after := hs.m.Regs()
		if after.EIP == prev.EIP {
			t.Fatalf("key %q: EIP stayed %#x", k, after.EIP)
		}
		eip := fmt.Sprintf("eip %08x", after.EIP)
		hs.waitFor(eip)
		hs.waitFor(fmt.Sprintf("=>%08x", after.EIP))
		// The changed EIP is highlighted red (Bochs/gdb convention).
		val := fmt.Sprintf("%08x eflags", after.EIP)
		if fg, _, _ := cellStyle(t, hs.last(), val).Decompose(); fg != tcell.ColorRed {
			t.Errorf("key %q: changed EIP drawn in %v, want red", k, fg)
		}
		if st := hs.m.LastStop(); st.Reason != hv.StopStep {
			t.Errorf("key %q: stop %v, want a step", k, st)
		}
	}
	// An unchanged register is not red.
	if fg, _, _ := cellStyle(t, hs.last(), "cs 0061").Decompose(); fg == tcell.ColorRed {
		t.Errorf("unchanged cs is drawn red")
	}
}

func TestContinueToPowerOff(t *testing.T) {
	hs := start(t, 120, 40)
	hs.waitFor("linear_pages ON")
	st := hs.runToEnd()
	if st.Reason != hv.StopPowerOff {
		t.Errorf("the demo guest ended with %v, want a power-off", st)
	}
	s := hs.waitFor("linear_pages OFF")
	if strings.Contains(s, "linear_pages ON") {
		t.Errorf("both ON and OFF on screen")
	}
	evs, _ := hs.m.Events(0)
	var off *hv.Event
	for i := range evs {
		if evs[i].Kind == event.LinearOff {
			off = &evs[i]
		}
	}
	if off == nil {
		t.Fatal("no linear-off event in the machine's log")
	}
	hs.waitFor(fmt.Sprintf("off at icount %d", off.ICount))
	hs.waitFor(fmt.Sprintf("pgdir %08x", off.GPgdir))
	hs.waitFor("boot: PASS")                 // the console pane
	hs.waitFor("SHUTDOWN")                   // the hypercall log
	hs.waitFor(fmt.Sprintf("%d", st.ICount)) // the status line
}

func TestHypercallLogOrderAndFilter(t *testing.T) {
	hs := start(t, 120, 40)
	hs.command("until hcall:NEW_PGTABLE")
	hs.waitFor("until hcall:NEW_PGTABLE: hcall NEW_PGTABLE") // the message line
	st := hs.m.LastStop()
	if st.Reason != hv.StopUntil || st.Event == nil || st.Event.Name != "NEW_PGTABLE" {
		t.Errorf("until stopped with %v, want the NEW_PGTABLE event", st)
	}
	s := hs.waitFor(st.String())
	initRow, newRow := rowOf(s, " LGUEST_INIT lguest_data=0x"), rowOf(s, " NEW_PGTABLE pgdir=0x")
	if initRow < 0 || newRow < 0 || initRow >= newRow {
		t.Fatalf("want LGUEST_INIT above NEW_PGTABLE in the log (rows %d, %d):\n%s", initRow, newRow, s)
	}
	// Newest at the bottom: nothing is logged below NEW_PGTABLE.
	if regexp.MustCompile(`│ *\d+ [A-Z_]+ `).MatchString(strings.Split(s, "\n")[newRow+1]) {
		t.Errorf("NEW_PGTABLE is not the bottom line of the log:\n%s", s)
	}

	hs.runToEnd()
	// The log is whole and decoded: the first hypercall is still there,
	// the power-off says POWEROFF and NOTIFY says what it was.
	hs.focusAndWait(paneHcalls)
	hs.key('/')
	hs.typeText("lguest_init")
	hs.special(tcell.KeyEnter)
	s = hs.waitFor("Hypercalls /lguest_init 1/1")
	if !regexp.MustCompile(`LGUEST_INIT lguest_data=0x[0-9a-f]+`).MatchString(s) {
		t.Errorf("search did not bring LGUEST_INIT into view:\n%s", s)
	}
	hs.key('/')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.special(tcell.KeyCtrlU)
	hs.typeText("notify")
	hs.special(tcell.KeyEnter)
	s = hs.waitFor("Hypercalls /notify 1/")
	if !strings.Contains(s, "(early console") {
		t.Errorf("NOTIFY is not decoded:\n%s", s)
	}
	hs.key('N') // back from the first match wraps to the last
	hs.waitUntil("the last match", func(s string) bool {
		return regexp.MustCompile(`/notify (\d+)/(\d+)`).FindStringSubmatch(s) != nil &&
			regexp.MustCompile(`/notify (\d+)/(\d+)`).FindStringSubmatch(s)[1] == regexp.MustCompile(`/notify (\d+)/(\d+)`).FindStringSubmatch(s)[2]
	})
	hs.special(tcell.KeyEnd)
	hs.waitFor(`SHUTDOWN "Power down" POWEROFF`)
}

// focusAndWait focuses pane p with its number key.
func (hs *harness) focusAndWait(p pane) {
	hs.t.Helper()
	hs.key(rune('1' + p))
	hs.waitUntil("the focus", func(string) bool {
		ch := make(chan bool)
		go hs.a.tv.QueueUpdate(func() { q, ok := hs.a.focusedPane(); ch <- ok && q == p })
		return <-ch
	})
}

func rowOf(screen, sub string) int {
	for i, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, sub) {
			return i
		}
	}
	return -1
}

func TestHelpOverlay(t *testing.T) {
	hs := start(t, 160, 90) // tall enough for all of it
	hs.key('?')
	s := hs.waitFor("lgdbg keys")
	for _, b := range keymap {
		if !strings.Contains(s, b.help) {
			t.Errorf("help lacks %q (%s)", b.help, b.label)
		}
	}
	for _, r := range consoleHelp {
		if !strings.Contains(s, r[1]) {
			t.Errorf("help lacks the console row %q", r[1])
		}
	}
	// Keys other than the closing ones do nothing while help is up.
	hs.key('c')
	time.Sleep(100 * time.Millisecond)
	if hs.m.Running() || hs.m.Regs().ICount != 0 {
		t.Errorf("'c' under the help overlay ran the guest")
	}
	hs.special(tcell.KeyEscape)
	hs.waitGone("lgdbg keys")
	hs.key('?')
	hs.waitFor("lgdbg keys")
	hs.key('?')
	hs.waitGone("lgdbg keys")
}

func TestTooSmall(t *testing.T) {
	hs := start(t, 120, 40)
	for _, sz := range []struct{ w, h int }{{79, 24}, {80, 23}, {40, 10}, {20, 6}, {5, 2}, {1, 1}} {
		hs.resize(sz.w, sz.h)
		if sz.w >= 20 {
			hs.waitFor("terminal too small")
			hs.waitFor("80x24")
		}
		s := hs.text()
		if strings.Contains(s, "Registers") {
			t.Errorf("%dx%d: the layout is drawn:\n%s", sz.w, sz.h, s)
		}
	}
	// Keys do nothing unseen behind the message (issue 12: s stepped).
	hs.key('s')
	hs.key(':')
	time.Sleep(200 * time.Millisecond)
	if n := hs.m.Regs().ICount; n != 0 {
		t.Errorf("s behind the too-small screen ran %d instructions", n)
	}
	// The layout comes back, and keys work again.
	hs.resize(80, 24)
	hs.waitGone("too small")
	hs.waitFor("1 Registers")
	if hs.promptOpen() {
		t.Error("':' behind the too-small screen opened the prompt")
	}
	hs.key('s')
	hs.waitUntil("the step", func(string) bool { return hs.m.Regs().ICount > 0 })
	hs.waitFor(fmt.Sprintf("eip %08x", hs.m.Regs().EIP))
}

func TestCommands(t *testing.T) {
	hs := start(t, 120, 40)
	tests := []struct {
		line string
		want string // on screen afterwards
	}{
		{"walk c0100000", "Walk c0100000"},
		{"walk 0x1000+0x10", "Walk 00001010"},
		{"walk", "Walk 00100000 (EIP)"},
		{"x 1000", "Memory 00001000"},
		{"x", "Memory 00000000 (ESP)"},
		{"syntax intel", "mov edi, 0x104000"},
		{"syntax gnu", "mov $0x104000,%edi"},
		{"bogus", `unknown command "bogus"`},
		{"walk $nosuchreg", "unknown register"},
		{"x zz", "not a symbol, register or hex number"},
		{"syntax pascal", "want gnu or intel"},
		{"until nothing", "unknown event kind"},
		{"clear 1234", "no breakpoint at 0x1234"},
	}
	for _, tc := range tests {
		hs.command(tc.line)
		hs.waitFor(tc.want)
	}
}

func TestKeysWalkAndGoto(t *testing.T) {
	hs := start(t, 120, 40)
	hs.key('w')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText("c0000000")
	hs.special(tcell.KeyEnter)
	hs.waitFor("Walk c0000000")
	hs.key('g')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText("100000")
	hs.special(tcell.KeyEnter)
	s := hs.waitFor("Memory 00100000")
	// The bytes at the entry point: cld; mov $..., %edi.
	b := make([]byte, 2)
	if err := hs.m.ReadVirt(0x100000, b); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("00100000  %02x %02x", b[0], b[1])
	if !strings.Contains(s, want) {
		hs.waitFor(want)
	}
	// Escape cancels a prompt without running it.
	hs.key('w')
	hs.waitUntil("the prompt", func(string) bool { return hs.promptOpen() })
	hs.typeText("0")
	hs.special(tcell.KeyEscape)
	hs.waitUntil("the prompt to close", func(string) bool { return !hs.promptOpen() })
	hs.waitFor("Walk c0000000")
}

func TestBreakpointAtCursor(t *testing.T) {
	hs := start(t, 120, 40)
	hs.waitFor("=>00100000")
	cursorAt := func() uint32 {
		ch := make(chan uint32)
		go hs.a.tv.QueueUpdate(func() { ch <- hs.a.cursorAddr() })
		return <-ch
	}
	cursor := cursorAt()
	for range 3 {
		prev := cursor
		hs.special(tcell.KeyDown)
		hs.waitUntil("the cursor to move", func(string) bool {
			cursor = cursorAt()
			return cursor != prev
		})
		if cursor <= prev {
			t.Fatalf("Down moved the cursor from %#x to %#x", prev, cursor)
		}
	}
	hs.key('b')
	hs.waitFor(fmt.Sprintf("B  %08x", cursor))
	hs.waitFor(fmt.Sprintf("breakpoint 1 at %#x", cursor))
	hs.key('c')
	hs.waitFor(fmt.Sprintf("breakpoint at eip %#x", cursor))
	if r := hs.m.Regs(); r.EIP != cursor {
		t.Errorf("stopped at %#x, want the breakpoint %#x", r.EIP, cursor)
	}
	hs.waitFor(fmt.Sprintf("B=>%08x", cursor))
	// b again clears it.
	hs.key('b')
	hs.waitFor(fmt.Sprintf("breakpoint 1 deleted at %#x", cursor))
	hs.waitFor(fmt.Sprintf(" =>%08x", cursor))
}

func TestFocusKeysAndMouse(t *testing.T) {
	hs := start(t, 120, 40)
	for i, n := range paneNames {
		hs.key(rune('1' + i))
		hs.waitFor("[" + n + "]")
	}
	hs.special(tcell.KeyTab) // from the console (7) back to 1
	hs.waitFor("[Registers]")
	hs.scr.InjectKey(tcell.KeyBacktab, 0, tcell.ModShift)
	hs.waitFor("[Console]")

	// A click focuses the pane under the mouse.
	s := hs.waitFor("5 Memory")
	y := rowOf(s, "5 Memory") + 2
	x := strings.Index(strings.Split(s, "\n")[y-2], "5 Memory")
	hs.scr.InjectMouse(x+2, y, tcell.Button1, tcell.ModNone)
	hs.scr.InjectMouse(x+2, y, tcell.ButtonNone, tcell.ModNone)
	hs.waitFor("[Memory]")
}

func TestConsoleKeysGoToTheGuest(t *testing.T) {
	hs := start(t, 120, 40)
	hs.key('7')
	hs.waitFor("[Console]")
	// In the console 'c', 'q' and digits are text for the Guest, not
	// commands.
	hs.typeText("cq1")
	time.Sleep(150 * time.Millisecond)
	if hs.m.Running() || hs.m.Regs().ICount != 0 {
		t.Errorf("'c' typed into the console ran the guest")
	}
	hs.waitFor("[Console]")
	select {
	case <-hs.done:
		t.Fatal("'q' typed into the console quit the UI")
	default:
	}
	hs.special(tcell.KeyEscape)
	hs.waitFor("[Disassembly]")
}

func TestQuitKey(t *testing.T) {
	hs := start(t, 120, 40)
	hs.command("until linear-off")
	hs.waitFor("linear_pages OFF")
	hs.key('c')
	hs.key('q')
	select {
	case err := <-hs.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		hs.done <- nil // for the cleanup
	case <-time.After(waitLimit):
		t.Fatal("q did not quit")
	}
	if hs.m.Running() {
		t.Error("the guest still runs after the UI quit")
	}
}

func TestDeadGuest(t *testing.T) {
	hs := start(t, 120, 40)
	hs.runToEnd()
	s := hs.waitFor("DEAD")
	if !regexp.MustCompile(`DEAD .*\? help  power-off`).MatchString(s) {
		t.Errorf("status line: want DEAD power-off:\n%s", s)
	}
	hs.key('c') // continuing a dead guest explains itself
	hs.waitFor("the guest is dead")
}

// builtGuests builds the test guests once for the tests that need more
// than the embedded demo bzImage (skipped without gcc -m32 or in -short).
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func builtGuest(t *testing.T, file string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the test guests")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "lgdbg-ui-guests"); buildErr == nil {
			buildErr = guests.Build(buildDir)
		}
	})
	if errors.Is(buildErr, guests.ErrNoToolchain) {
		t.Skip(buildErr)
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	b, err := os.ReadFile(filepath.Join(buildDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// TestSymbolsFromELF boots the demo guest from its ELF so the disassembly
// has symbols, and sets a breakpoint by name from the command line.
func TestSymbolsFromELF(t *testing.T) {
	hs := startImage(t, builtGuest(t, "boot.elf"), 120, 40)
	if len(hs.m.Symbols().Symbols()) == 0 {
		t.Fatal("boot.elf has no symbols")
	}
	hs.waitFor("<startup_32>:")              // a label line above the entry
	hs.waitFor("2 Disassembly <startup_32>") // the title names the function
	start, ok := symtab{hs.m.Symbols()}.byName("start_kernel")
	if !ok {
		t.Fatal("no start_kernel in boot.elf")
	}
	hs.command("break start_kernel")
	hs.waitFor(fmt.Sprintf("breakpoint 1 at %#x <start_kernel>", start))
	hs.key('c')
	hs.waitFor(fmt.Sprintf("breakpoint at eip %#x", start))
	hs.waitFor("2 Disassembly <start_kernel>")
	hs.waitFor(fmt.Sprintf("B=>%08x", start))
	// Branch targets are symbolised too (x86asm's symbol callback).
	hs.waitUntil("a call to a named function", func(s string) bool {
		return regexp.MustCompile(`call (kprintf|guest_main|[a-z_]+)\b`).MatchString(s)
	})
}

// TestBreakAtLoadAddress: boot-2g is linked like vmlinux (head at
// PAGE_OFFSET 0x80000000) and booted as a bzImage with its ELF's symbols.
// From icount 0, :break on a head symbol stops where the Guest runs it, at
// its load address, named as such; the memory pane at a link address says
// it reads the load address; the hypercall log names pa() arguments.
func TestBreakAtLoadAddress(t *testing.T) {
	elfBytes := builtGuest(t, "boot-2g.elf")
	tab, err := symbols.FromELF(elfBytes)
	if err != nil {
		t.Fatal(err)
	}
	hs := startConfig(t, hv.Config{Image: builtGuest(t, "boot-2g.bzImage"), Symbols: tab}, 140, 44)
	hs.waitFor("2 Disassembly <startup_32> (load address)")
	s, _ := tab.ByName("have_size")
	hs.command("break have_size")
	hs.waitFor(fmt.Sprintf("breakpoint 1 at %#x <have_size>", s.Addr))
	hs.key('c')
	hs.waitFor(fmt.Sprintf("breakpoint at eip %#x", s.Addr-0x80000000))
	// The list counts the hit and says it came from the load alias.
	hs.command("info break")
	hs.waitFor(fmt.Sprintf("1    y    0x%08x 1      have_size                %#x <have_size> (load address)", s.Addr, s.Addr-0x80000000))
	hs.special(tcell.KeyEscape)
	hs.waitFor("2 Disassembly <have_size> (load address)")
	hs.command("x startup_32")
	hs.waitFor("5 Memory 80100000 (read at load address 00100000)")
	hs.command("delete have_size")
	hs.command("until linear-off")
	hs.waitUntil("NEW_PGTABLE named", func(s string) bool {
		return strings.Contains(s, "NEW_PGTABLE pgdir=0x104000 pa(initial_page_table)")
	})
}

// TestConsoleInputReachesGuest types into the console pane of the vconsole
// guest (a virtio console driver that echoes lines until "quit"): the keys
// must arrive through TryConsoleInput and come back as its output.
func TestConsoleInputReachesGuest(t *testing.T) {
	hs := startImage(t, builtGuest(t, "vconsole.bzImage"), 120, 40)
	hs.key('7')
	hs.waitFor("[Console]")
	// Typed while paused: the input waits in the console device, so the
	// guest finds it however fast its virtual clock runs.
	hs.typeText("hi")
	hs.special(tcell.KeyEnter)
	hs.special(tcell.KeyEscape)
	hs.waitFor("[Disassembly]")
	hs.key('c')
	hs.waitFor("echo: hi")
	// Now it waits for more input: running (halted), until p.
	hs.waitFor("RUNNING")
	hs.key('p')
	hs.waitFor("PAUSED")
	if hs.m.Running() {
		t.Error("p did not pause the guest")
	}
	hs.key('7')
	hs.waitFor("[Console]")
	hs.typeText("quit")
	hs.special(tcell.KeyEnter)
	hs.scr.InjectKey(tcell.KeyCtrlC, 0, tcell.ModCtrl) // Ctrl-C pauses, even from the console
	hs.special(tcell.KeyTab)
	hs.waitFor("[Registers]")
	hs.key('c')
	hs.waitFor("vconsole: quit after 1") // the console pane wraps the rest
	hs.waitFor("DEAD")
	if st := hs.m.LastStop(); st.Reason != hv.StopPowerOff {
		t.Errorf("vconsole ended with %v, want a power-off", st)
	}
}
