// Package ui is lgdbg's terminal user interface: a kernel developer watches
// and steps an lguest Guest's boot, with the guest-versus-shadow page-table
// walk of an address, the Host's linear_pages flag, the decoded hypercall
// log and the Guest console side by side (DESIGN.md "UI").
//
// The UI never runs or blocks the Guest itself. The Guest runs on the
// Machine's own goroutine (Resume, Pause, StepInstruction); a refresher
// goroutine copies Machine snapshots ten times a second and after every
// stop, and the tview event loop only renders those copies. Run control
// goes through a controller goroutine, because Pause and StepInstruction
// wait for the Guest to reach an instruction boundary and the screen must
// stay responsive meanwhile.
package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/rivo/tview"
)

// Options configure Run.
type Options struct {
	// StartPaused leaves the Guest stopped at its entry point (-S, as
	// QEMU's); otherwise Run resumes it at once.
	StartPaused bool
	// ImageName is shown in the status line (the vmlinux/bzImage path).
	ImageName string
	// Screen is the terminal to draw on; nil opens the real one. Tests
	// pass a tcell.SimulationScreen.
	Screen tcell.Screen
	// Syntax is the disassembly syntax: "gnu" (AT&T, objdump's default
	// and the kernel's) or "intel". Empty means gnu.
	Syntax string
	// Refresh is the snapshot interval; 0 means 100 ms (10 Hz).
	Refresh time.Duration
	// AfterDraw, if set, is called on the UI goroutine after every frame
	// is drawn and before it is shown, with the screen whose GetContent
	// holds the frame: the screenshot tool and the tests copy frames
	// there, where no draw can race with them. Keep it fast.
	AfterDraw func(screen tcell.Screen)
}

// MinWidth and MinHeight are the smallest terminal the layout is drawn
// in; below it the UI shows TooSmallMessage instead of a broken layout.
const (
	MinWidth  = 80
	MinHeight = 24
)

// TooSmallMessage is what a terminal below MinWidth x MinHeight shows.
var TooSmallMessage = fmt.Sprintf("terminal too small (need %dx%d)", MinWidth, MinHeight)

// pane numbers the focusable panes in their on-screen reading order; the
// number keys 1-7 are pane+1.
type pane int

const (
	paneRegs pane = iota
	paneDisasm
	paneHcalls
	paneWalk
	paneMemory
	paneEvents
	paneConsole
	numPanes
)

var paneNames = [numPanes]string{"Registers", "Disassembly", "Hypercalls", "Walk", "Memory", "Events", "Console"}

// maxLogLines bounds the hypercall, event and console panes.
const maxLogLines = 5000

// view is the part of the UI state the refresher needs to know what to
// copy; the UI goroutine writes it, the refresher reads it, under mu.
type view struct {
	walkVA       uint32
	walkFollow   bool // walk EIP
	memVA        uint32
	memFollow    bool // dump from ESP
	memBytes     int
	disasmCursor uint32
	disasmFollow bool // cursor = EIP
	disasmRows   int
}

type message struct {
	isErr bool
	text  string
}

// snapshot is one Machine.Snapshot, reshaped for rendering.
type snapshot struct {
	at      time.Time
	running bool
	stop    hv.Stop
	regs    hv.Regs
	host    hv.HostState
	linear  bool
	walk    hv.Walks
	slot    int
	gpgdir  uint32
	code    codeWindow
	mem     codeWindow
	events  []hv.Event
	dropped bool // events fell out of the ring before we read them
}

type app struct {
	m    *hv.Machine
	opts Options
	tv   *tview.Application
	syms symtab
	pae  bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ctl    chan func()    // run control, executed in order by controller
	stops  <-chan hv.Stop // the Machine's stops, read by controller
	unsub  func()
	kick   chan struct{} // ask the refresher for a snapshot now

	// The pending ":until", controller goroutine only.
	untilSpec  string
	untilMatch func(hv.Event) bool

	mu      sync.Mutex
	v       view
	pending *message // for the message line, from queueMsg

	// The rest belongs to the UI goroutine.
	root     *tview.Pages
	main     *tview.Flex
	panes    [numPanes]*tview.TextView
	linearTV *tview.TextView
	status   *tview.TextView
	msg      *tview.TextView
	prompt   *tview.InputField
	bottom   *tview.Pages
	help     *tview.TextView
	helpBox  *tview.Flex
	helpRow  *tview.Flex
	helpOn   bool
	bot      *tview.Flex  // the bottom row: memory, events, console
	side     *tview.Pages // right of the disassembly: hypercalls (and in small mode the bottom row's panes)
	small    bool         // a short terminal: the bottom row's panes share the side slot
	screenH  int          // the screen height at the last draw
	lastFoc  tview.Primitive

	snap      *snapshot
	cur, prev hv.Regs
	haveCur   bool
	havePrev  bool
	listing   []asmLine
	bps       map[uint32]bool
	syntax    string
	filter    string
	hcalls    []string
	linOffAt  uint64
	haveOff   bool
	mips      float64
	lastRun   *snapshot // previous running sample, for MIPS
	seq       uint64    // next event sequence number (refresher only)
	// ready is closed once the screen is initialised (tests inject
	// events only after that).
	ready chan struct{}
}

// Run shows the TUI for m until the user quits. The Guest is left paused
// when it returns. An error means the terminal could not be used.
func Run(m *hv.Machine, opts Options) error {
	if m == nil {
		return errors.New("ui: no machine")
	}
	a := newApp(m, opts)
	return a.run()
}

func newApp(m *hv.Machine, opts Options) *app {
	if opts.Refresh <= 0 {
		opts.Refresh = 100 * time.Millisecond
	}
	a := &app{
		m:      m,
		opts:   opts,
		tv:     tview.NewApplication(),
		pae:    m.PAE(),
		ctl:    make(chan func(), 16),
		kick:   make(chan struct{}, 1),
		bps:    map[uint32]bool{},
		syntax: "gnu",
		ready:  make(chan struct{}),
	}
	if opts.Syntax == "intel" {
		a.syntax = "intel"
	}
	if img := m.Image(); img != nil {
		a.syms = symtab(img.Symbols)
	}
	a.v = view{walkFollow: true, memFollow: true, memBytes: 16 * 16, disasmFollow: true, disasmRows: 40}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.build()
	return a
}

func (a *app) run() error {
	if a.opts.Screen != nil {
		a.tv.SetScreen(a.opts.Screen)
	}
	a.tv.EnableMouse(true)
	close(a.ready)
	a.stops, a.unsub = a.m.Subscribe()
	defer a.unsub()
	if !a.opts.StartPaused {
		if err := a.m.Resume(); err != nil {
			a.queueMsg(true, err.Error())
		}
	}
	a.wg.Add(2)
	go a.controller()
	go a.refresher()
	err := a.tv.Run()
	a.cancel()
	a.wg.Wait()
	a.m.Pause()
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}

// build creates the widgets and the layout:
//
//	+-- 1 Registers --------+-- linear_pages ---------+
//	+-- 2 Disassembly ------+-- 3 Hypercalls ---------+
//	+-- 4 Walk (guest | shadow) ----------------------+
//	+-- 5 Memory ------+-- 6 Events ----+-- 7 Console +
//	status line
//	message / command line
func (a *app) build() {
	for i := range a.panes {
		tv := tview.NewTextView()
		tv.SetBorder(true).SetTitle(fmt.Sprintf(" %d %s ", i+1, paneNames[i])).SetTitleAlign(tview.AlignLeft)
		a.panes[i] = tv
	}
	for _, p := range []pane{paneRegs, paneDisasm, paneWalk, paneMemory} {
		// Scrollable, because a non-scrollable TextView shows the
		// last lines; these are rebuilt each refresh and read from the top.
		a.panes[p].SetDynamicColors(true).SetWrap(false).SetScrollable(true)
	}
	for _, p := range []pane{paneHcalls, paneEvents, paneConsole} {
		// Guest-controlled text: no colour tags are interpreted.
		a.panes[p].SetDynamicColors(false).SetMaxLines(maxLogLines).SetScrollable(true)
		a.panes[p].ScrollToEnd()
	}
	a.panes[paneHcalls].SetWrap(false)
	a.panes[paneEvents].SetWrap(false)
	a.panes[paneConsole].SetWrap(true)

	// Scrollable so that it shows its first lines (the flag) when the
	// host lines do not fit.
	a.linearTV = tview.NewTextView().SetDynamicColors(true).SetScrollable(true)
	a.linearTV.SetBorder(true).SetTitle(" linear_pages ").SetTitleAlign(tview.AlignLeft)

	a.status = tview.NewTextView().SetDynamicColors(true)
	a.msg = tview.NewTextView().SetDynamicColors(true)
	a.prompt = tview.NewInputField()
	a.prompt.SetFieldBackgroundColor(tcell.ColorDefault)
	a.prompt.SetDoneFunc(a.promptDone)
	a.bottom = tview.NewPages().
		AddPage("msg", a.msg, true, true).
		AddPage("prompt", a.prompt, true, false)

	top := tview.NewFlex().
		AddItem(a.panes[paneRegs], regsWidth+2, 0, false).
		AddItem(a.linearTV, 0, 1, false)
	a.side = tview.NewPages().AddPage(paneNames[paneHcalls], a.panes[paneHcalls], true, true)
	mid := tview.NewFlex().
		AddItem(a.panes[paneDisasm], 0, 3, true).
		AddItem(a.side, 0, 2, false)
	bot := tview.NewFlex()
	a.bot = bot
	a.fillBottom()
	a.main = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(top, 8, 0, false).
		AddItem(mid, 0, 3, true).
		AddItem(a.panes[paneWalk], 7, 0, false).
		AddItem(bot, 0, 2, false).
		AddItem(a.status, 1, 0, false).
		AddItem(a.bottom, 1, 0, false)

	a.help = tview.NewTextView().SetDynamicColors(true).SetText(helpText())
	a.help.SetBorder(true).SetTitle(" help: ? or Esc closes, arrows scroll ").SetTitleAlign(tview.AlignLeft)
	a.helpRow = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(nil, 0, 1, false).
		AddItem(a.help, 10, 0, true).
		AddItem(nil, 0, 1, false)
	a.helpBox = tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(a.helpRow, 10, 0, true).
		AddItem(nil, 0, 1, false)

	a.root = tview.NewPages().
		AddPage("main", a.main, true, true).
		AddPage("help", a.helpBox, true, false)
	a.tv.SetRoot(a.root, true).SetFocus(a.panes[paneDisasm])
	a.tv.SetInputCapture(a.onKey)
	a.tv.SetBeforeDrawFunc(a.beforeDraw)
	if a.opts.AfterDraw != nil {
		a.tv.SetAfterDrawFunc(a.opts.AfterDraw)
	}
	a.status.SetText("starting")
}

// beforeDraw replaces the layout by a plain message on a terminal too
// small for it, and sizes the help overlay to the screen.
func (a *app) beforeDraw(screen tcell.Screen) bool {
	w, h := screen.Size()
	a.screenH = h
	if (h < smallHeight) != a.small {
		// The layout cannot change here: draw holds the application's
		// lock, which SetFocus and friends take. The next refresh
		// switches it.
		a.refreshNow()
	}
	if w < MinWidth || h < MinHeight {
		drawTooSmall(screen, w, h)
		if a.opts.AfterDraw != nil {
			a.opts.AfterDraw(screen) // tview skips it when we draw instead
		}
		return true
	}
	if a.helpOn {
		text := a.help.GetText(true)
		lines := strings.Count(text, "\n") + 3
		width := 0
		for _, l := range strings.Split(text, "\n") {
			width = max(width, len([]rune(l)))
		}
		a.helpBox.ResizeItem(a.helpRow, min(w-2, width+4), 0)
		a.helpRow.ResizeItem(a.help, min(h-2, lines), 0)
	}
	return false
}

// smallHeight is the terminal height below which the bottom row would be
// too short to read: its panes then take turns in the slot beside the
// disassembly (the one focused last is shown).
const smallHeight = 34

var bottomPanes = []struct {
	p      pane
	weight int
}{{paneMemory, 4}, {paneEvents, 3}, {paneConsole, 3}}

func (a *app) fillBottom() {
	for _, b := range bottomPanes {
		a.bot.AddItem(a.panes[b.p], 0, b.weight, false)
	}
}

// setSmall moves the bottom row's panes into the side slot and back. A
// primitive lives in one container at a time, so that its rectangle (and
// with it mouse focus) is always the one on screen.
func (a *app) setSmall(small bool) {
	a.small = small
	if small {
		for _, b := range bottomPanes {
			a.bot.RemoveItem(a.panes[b.p])
			a.side.AddPage(paneNames[b.p], a.panes[b.p], true, false)
		}
		a.main.ResizeItem(a.bot, 0, 0)
		if p, ok := a.focusedPane(); ok && a.side.HasPage(paneNames[p]) {
			a.side.SwitchToPage(paneNames[p])
		} else {
			a.side.SwitchToPage(paneNames[paneHcalls])
		}
		return
	}
	for _, b := range bottomPanes {
		a.side.RemovePage(paneNames[b.p])
	}
	a.fillBottom()
	a.main.ResizeItem(a.bot, 0, 2)
	a.side.SwitchToPage(paneNames[paneHcalls])
}

// drawTooSmall word-wraps TooSmallMessage into whatever space there is.
func drawTooSmall(screen tcell.Screen, w, h int) {
	if w <= 0 || h <= 0 {
		return
	}
	msg := fmt.Sprintf("%s; this one is %dx%d", TooSmallMessage, w, h)
	var lines []string
	line := ""
	for _, word := range strings.Fields(msg) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	lines = append(lines, line)
	top := max(0, (h-len(lines))/2)
	style := tcell.StyleDefault.Foreground(tcell.ColorYellow).Bold(true)
	for i, l := range lines {
		if top+i >= h {
			break
		}
		x := max(0, (w-len(l))/2)
		for j, r := range l {
			if x+j >= w {
				break
			}
			screen.SetContent(x+j, top+i, r, nil, style)
		}
	}
}

// ---- Run control ---------------------------------------------------------

// control queues f for the controller goroutine; the screen does not wait.
func (a *app) control(f func()) {
	select {
	case a.ctl <- f:
	default:
		a.setMsg(true, "busy: too many commands queued")
	}
}

// controller is the one goroutine that drives the Machine for the UI: it
// runs the queued commands in order and hears every stop, so a command
// and the stop it causes are seen in the order they happened.
func (a *app) controller() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case f := <-a.ctl:
			f()
			a.refreshNow()
		case st := <-a.stops:
			a.onStop(st)
			a.refreshNow()
		}
	}
}

// onStop reports how a pending ":until" ended.
func (a *app) onStop(st hv.Stop) {
	if a.untilSpec == "" {
		return
	}
	if st.Reason == hv.StopUntil && st.Event != nil && a.untilMatch(*st.Event) {
		a.queueMsg(false, fmt.Sprintf("until %s: %s at icount %d", a.untilSpec, st.Event.String(), st.Event.ICount))
	} else {
		a.queueMsg(true, fmt.Sprintf("until %s: never happened; %s", a.untilSpec, st.String()))
	}
	a.untilSpec, a.untilMatch = "", nil
}

func (a *app) refreshNow() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *app) cmdContinue(*tcell.EventKey) {
	a.followEIP()
	a.control(func() {
		if err := a.m.Resume(); err != nil {
			a.queueMsg(true, err.Error())
		}
	})
}

func (a *app) cmdPause(*tcell.EventKey) {
	a.followEIP()
	a.control(func() { a.m.Pause() })
}

func (a *app) cmdStep(*tcell.EventKey) {
	a.followEIP()
	a.control(func() {
		if _, err := a.m.Step(); err != nil {
			a.queueMsg(true, err.Error())
		}
	})
}

func (a *app) followEIP() {
	a.mu.Lock()
	a.v.disasmFollow = true
	a.mu.Unlock()
}

func (a *app) cmdToggleBreak(*tcell.EventKey) {
	addr := a.cursorAddr()
	if a.bps[addr] {
		a.clearBreak(addr)
	} else {
		a.setBreak(addr)
	}
}

func (a *app) setBreak(addr uint32) {
	if !a.bps[addr] { // the Machine counts one reference per front end
		a.control(func() { a.m.SetBreakpoint(addr) })
	}
	a.bps[addr] = true
	a.setMsg(false, "breakpoint at "+a.describe(addr))
	a.renderDisasm()
}

func (a *app) clearBreak(addr uint32) {
	if a.bps[addr] {
		a.control(func() { a.m.ClearBreakpoint(addr) })
	}
	delete(a.bps, addr)
	a.setMsg(false, "breakpoint cleared at "+a.describe(addr))
	a.renderDisasm()
}

func (a *app) describe(addr uint32) string {
	if n := a.syms.name(addr); n != "" {
		return fmt.Sprintf("%#x <%s>", addr, n)
	}
	return fmt.Sprintf("%#x", addr)
}

// until resumes the Guest until the first event matching spec (the
// --until words), as the CLI's --until does: the Machine stops right
// after the event. A running Guest is paused first, and the stop of that
// pause is not the until's.
func (a *app) until(spec string) error {
	match, err := hv.MatchEvent(spec)
	if err != nil {
		return err
	}
	if a.m.LastStop().Reason.Terminal() {
		return hv.ErrDead
	}
	a.followEIP()
	a.control(func() {
		a.m.Pause()
		select { // the pause's own stop, if it made one
		case <-a.stops:
		default:
		}
		a.untilSpec, a.untilMatch = spec, match
		if err := a.m.ResumeUntil(match, 0); err != nil {
			a.untilSpec, a.untilMatch = "", nil
			a.queueMsg(true, fmt.Sprintf("until %s: %v", spec, err))
		}
	})
	return nil
}

func (a *app) quit() { a.tv.Stop() }

// ---- Snapshots -----------------------------------------------------------

func (a *app) refresher() {
	defer a.wg.Done()
	t := time.NewTicker(a.opts.Refresh)
	defer t.Stop()
	for {
		s := a.gather()
		done := make(chan struct{})
		// QueueUpdateDraw waits for the event loop, which is gone once
		// the user quits, so wait for it on the side.
		go func() {
			a.tv.QueueUpdateDraw(func() { a.apply(s) })
			close(done)
		}()
		select {
		case <-a.ctx.Done():
			return
		case <-done:
		}
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
	}
}

// gather takes one Machine.Snapshot for what the panes show: the walk,
// the code window and the memory window follow EIP and ESP at the same
// instant as the registers.
func (a *app) gather() *snapshot {
	a.mu.Lock()
	v := a.v
	a.mu.Unlock()
	walk := hv.Place{From: hv.AtEIP}
	if !v.walkFollow {
		walk = hv.Place{Addr: v.walkVA}
	}
	code := hv.Window{At: hv.Place{From: hv.AtEIP}, Before: backReach * 4, Len: maxInsnSize * (v.disasmRows + 4)}
	if !v.disasmFollow {
		code.At = hv.Place{Addr: v.disasmCursor}
	}
	memory := hv.Window{At: hv.Place{From: hv.AtESP, Align: 16}, Len: v.memBytes}
	if !v.memFollow {
		memory.At = hv.Place{Addr: v.memVA}
	}
	ms := a.m.Snapshot(hv.View{Walk: &walk, Windows: []hv.Window{code, memory}, Events: true, EventsFrom: a.seq})
	s := &snapshot{
		at: time.Now(), running: ms.Running, stop: ms.Stop, regs: ms.Regs, host: ms.Host,
		linear: ms.Linear, walk: ms.Walk, events: ms.Events,
		code: windowOf(ms.Windows[0]), mem: windowOf(ms.Windows[1]),
	}
	for _, sl := range ms.Slots {
		if sl.Current {
			s.slot, s.gpgdir = sl.Index, sl.GPgdir
		}
	}
	s.dropped = len(s.events) > 0 && s.events[0].Seq > a.seq
	a.seq = ms.NextEvent
	return s
}

func windowOf(m hv.Memory) codeWindow { return codeWindow{base: m.Base, data: m.Data, ok: m.OK} }

// apply renders a snapshot; UI goroutine only.
func (a *app) apply(s *snapshot) {
	if a.haveCur && s.regs.ICount != a.cur.ICount {
		a.prev, a.havePrev = a.cur, true
	}
	a.cur, a.haveCur = s.regs, true
	if s.running {
		if a.lastRun != nil {
			if dt := s.at.Sub(a.lastRun.at).Seconds(); dt > 0 {
				a.mips = float64(s.regs.ICount-a.lastRun.regs.ICount) / dt / 1e6
			}
		}
		a.lastRun = s
	} else {
		a.lastRun = nil
	}
	a.snap = s
	a.takeEvents(s.events, s.dropped)
	a.mu.Lock()
	msg := a.pending
	a.pending = nil
	a.mu.Unlock()
	if msg != nil {
		a.setMsg(msg.isErr, msg.text)
	}
	if small := a.screenH < smallHeight; small != a.small {
		a.setSmall(small)
	}

	a.panes[paneRegs].SetText(renderRegs(s.regs, a.prev, a.havePrev))
	_, _, lw, _ := a.linearTV.GetInnerRect()
	a.linearTV.SetText(renderLinear(linearState{
		on: s.linear, offAt: a.linOffAt, haveOff: a.haveOff,
		slot: s.slot, gpgdir: s.gpgdir, haveSlot: !s.linear,
	}, lw) + "\n" + renderHost(s.host))

	_, _, ww, _ := a.panes[paneWalk].GetInnerRect()
	if ww <= 0 {
		ww = 118
	}
	walk := renderWalk(s.walk, a.pae, ww)
	a.panes[paneWalk].SetText(walk)
	walkRows := 12
	if a.small {
		walkRows = 5 // the notes are clipped; the levels and PA stay
	}
	a.main.ResizeItem(a.panes[paneWalk], min(walkLines(walk), walkRows)+2, 0)
	a.panes[paneWalk].SetTitle(fmt.Sprintf(" 4 Walk %08x%s: guest | shadow ", s.walk.Guest.VAddr, a.followNote()))

	a.renderDisasm()
	a.renderMemory()
	a.renderStatus()
}

func (a *app) followNote() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.v.walkFollow {
		return " (EIP)"
	}
	return ""
}

// takeEvents routes new events to their panes.
func (a *app) takeEvents(evs []hv.Event, dropped bool) {
	var hc, ev, con strings.Builder
	if dropped {
		ev.WriteString("  ... older events fell out of the ring ...\n")
	}
	for _, e := range evs {
		switch e.Kind {
		case hv.EvHypercall:
			l := hcallLine(e)
			a.hcalls = append(a.hcalls, l)
			if a.matchFilter(l) {
				hc.WriteString(l + "\n")
			}
			continue
		case hv.EvConsole:
			con.WriteString(sanitizeConsole(e.Text))
			continue
		case hv.EvLinearOff:
			a.linOffAt, a.haveOff = e.ICount, true
		}
		ev.WriteString(eventLine(e) + "\n")
	}
	if len(a.hcalls) > 2*maxLogLines {
		a.hcalls = append([]string(nil), a.hcalls[len(a.hcalls)-maxLogLines:]...)
	}
	write := func(p pane, s string) {
		if s == "" {
			return
		}
		// A "\n" is written before a line rather than after it, so the
		// last line does not leave an empty row at the bottom.
		tv := a.panes[p]
		if p != paneConsole && tv.GetText(false) != "" {
			s = "\n" + s
		}
		if p != paneConsole {
			s = strings.TrimSuffix(s, "\n")
		}
		fmt.Fprint(tv, s)
	}
	write(paneHcalls, hc.String())
	write(paneEvents, ev.String())
	write(paneConsole, con.String())
}

func (a *app) matchFilter(line string) bool {
	return a.filter == "" || strings.Contains(strings.ToLower(line), strings.ToLower(a.filter))
}

func (a *app) setFilter(f string) {
	a.filter = f
	var sb strings.Builder
	for _, l := range a.hcalls {
		if a.matchFilter(l) {
			if sb.Len() > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(l)
		}
	}
	tv := a.panes[paneHcalls]
	tv.SetText(sb.String())
	tv.ScrollToEnd()
	title := " 3 Hypercalls "
	if f != "" {
		title = fmt.Sprintf(" 3 Hypercalls /%s ", f)
	}
	tv.SetTitle(title)
}

func (a *app) cursorAddr() uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.v.disasmFollow {
		return a.cur.EIP
	}
	return a.v.disasmCursor
}

func (a *app) renderDisasm() {
	s := a.snap
	if s == nil {
		return
	}
	tv := a.panes[paneDisasm]
	_, _, w, h := tv.GetInnerRect()
	if h <= 0 {
		h = 20
	}
	a.mu.Lock()
	a.v.disasmRows = h
	a.mu.Unlock()
	cursor := a.cursorAddr()
	a.listing = disassemble(s.code, cursor, h/3, h, a.syntax, a.syms)
	focused := tv.HasFocus()
	var sb strings.Builder
	for i, l := range a.listing {
		if l.label != "" {
			fmt.Fprintf(&sb, "%s<%s>:%s\n", tagLabel, tview.Escape(l.label), tagOff)
		}
		gutter := "   "
		switch {
		case a.bps[l.addr] && l.addr == s.regs.EIP:
			gutter = tagBP + "B" + tagOff + tagPC + "=>" + tagOff
		case a.bps[l.addr]:
			gutter = tagBP + "B  " + tagOff
		case l.addr == s.regs.EIP:
			gutter = " " + tagPC + "=>" + tagOff
		}
		line := fmt.Sprintf("%08x ", l.addr)
		if w >= 60 && l.mapped {
			line += hexBytes(l.bytes, 21) + " "
		}
		line += tview.Escape(l.text)
		if focused && l.addr == cursor {
			line = "[::r]" + line + "[::-]"
		}
		sb.WriteString(gutter + line)
		if i < len(a.listing)-1 {
			sb.WriteByte('\n')
		}
	}
	tv.SetText(sb.String())
	title := " 2 Disassembly "
	if n := a.syms.name(cursor); n != "" {
		title = fmt.Sprintf(" 2 Disassembly <%s> ", n)
	}
	tv.SetTitle(title)
}

func (a *app) renderMemory() {
	s := a.snap
	if s == nil {
		return
	}
	tv := a.panes[paneMemory]
	_, _, w, h := tv.GetInnerRect()
	per := hexPerLine(w)
	rows := max(h, 1)
	a.mu.Lock()
	a.v.memBytes = per * rows
	follow := a.v.memFollow
	a.mu.Unlock()
	n := min(len(s.mem.data), per*rows)
	tv.SetText(renderHex(s.mem.base, s.mem.data[:n], s.mem.ok[:n], per))
	note := ""
	if follow {
		note = " (ESP)"
	}
	tv.SetTitle(fmt.Sprintf(" 5 Memory %08x%s ", s.mem.base, note))
}

func (a *app) renderStatus() {
	s := a.snap
	if s == nil {
		return
	}
	var state string
	switch {
	case s.running:
		state = fmt.Sprintf("[black:green:b] RUNNING [-:-:-] icount %d  %.1f MIPS", s.regs.ICount, a.mips)
	case s.stop.Reason.Terminal():
		state = fmt.Sprintf("[white:red:b] DEAD [-:-:-] %s", tview.Escape(s.stop.String()))
	default:
		state = fmt.Sprintf("[black:yellow:b] PAUSED [-:-:-] %s", tview.Escape(s.stop.String()))
	}
	name := a.opts.ImageName
	if name == "" {
		name = "demo guest"
	}
	mode := "non-PAE"
	if a.pae {
		mode = "PAE"
	}
	focus := ""
	if p, ok := a.focusedPane(); ok {
		focus = "  [" + paneNames[p] + "]"
	}
	a.status.SetText(fmt.Sprintf("%s  %s %s%s  ? help", state, tview.Escape(name), mode, tview.Escape(focus)))
}

// ---- Messages and the prompt ---------------------------------------------

func (a *app) setMsg(isErr bool, text string) {
	color := "[green]"
	if isErr {
		color = "[red]"
	}
	a.msg.SetText(color + tview.Escape(text) + "[-]")
}

// queueMsg sets the message line from another goroutine: the message
// waits for the next refresh, which it asks for, so no goroutine is left
// blocked on an event loop that may already have stopped.
func (a *app) queueMsg(isErr bool, text string) {
	a.mu.Lock()
	a.pending = &message{isErr, text}
	a.mu.Unlock()
	a.refreshNow()
}

func (a *app) openPrompt(label, text string) {
	a.lastFoc = a.tv.GetFocus()
	a.prompt.SetLabel(label).SetText(text)
	a.bottom.SwitchToPage("prompt")
	a.tv.SetFocus(a.prompt)
}

func (a *app) closePrompt() {
	a.bottom.SwitchToPage("msg")
	if a.lastFoc != nil {
		a.tv.SetFocus(a.lastFoc)
	} else {
		a.focusPane(paneDisasm)
	}
}

func (a *app) promptDone(key tcell.Key) {
	switch key {
	case tcell.KeyEnter:
	case tcell.KeyEscape:
		a.closePrompt()
		return
	default:
		return // Tab and friends: keep editing
	}
	label, text := a.prompt.GetLabel(), a.prompt.GetText()
	a.closePrompt()
	if label == "/" {
		a.setFilter(strings.TrimSpace(text))
		return
	}
	if err := a.exec(text); err != nil {
		a.setMsg(true, err.Error())
	}
}

// ---- Keys, focus, help ---------------------------------------------------

func (a *app) focusedPane() (pane, bool) {
	f := a.tv.GetFocus()
	for i, p := range a.panes {
		if p == f {
			return pane(i), true
		}
	}
	return 0, false
}

func (a *app) focusPane(p pane) {
	if p < 0 || p >= numPanes {
		return
	}
	if a.side.HasPage(paneNames[p]) {
		a.side.SwitchToPage(paneNames[p])
	}
	a.tv.SetFocus(a.panes[p])
	a.renderDisasm() // the cursor shows only while focused
	a.renderStatus()
}

func (a *app) cmdCycleFocus(ev *tcell.EventKey) {
	p, ok := a.focusedPane()
	if !ok {
		p = paneDisasm
	}
	if ev.Key() == tcell.KeyBacktab {
		p = (p + numPanes - 1) % numPanes
	} else {
		p = (p + 1) % numPanes
	}
	a.focusPane(p)
}

func (a *app) showHelp(on bool) {
	a.helpOn = on
	if on {
		a.lastFoc = a.tv.GetFocus()
		a.root.ShowPage("help")
		a.tv.SetFocus(a.help)
		return
	}
	a.root.HidePage("help")
	if a.lastFoc != nil {
		a.tv.SetFocus(a.lastFoc)
	}
}

// onKey is the application-wide key handler: the help overlay and the
// prompt keep their keys, the console sends keys to the Guest, and
// everything else goes through the keymap.
func (a *app) onKey(ev *tcell.EventKey) *tcell.EventKey {
	if a.helpOn {
		switch {
		case ev.Key() == tcell.KeyEscape, ev.Key() == tcell.KeyRune && (ev.Rune() == '?' || ev.Rune() == 'q'):
			a.showHelp(false)
			return nil
		case ev.Key() == tcell.KeyCtrlC:
			a.cmdPause(ev)
			return nil
		}
		return ev // let the help text scroll
	}
	if a.tv.GetFocus() == a.prompt {
		return ev
	}
	p, ok := a.focusedPane()
	if ok && p == paneConsole {
		return a.consoleKey(ev)
	}
	scope := scopeGlobal
	if ok {
		switch p {
		case paneDisasm:
			scope = scopeDisasm
		case paneMemory:
			scope = scopeMemory
		}
	}
	if b, found := lookupKey(ev, scope); found {
		b.act(a, ev)
		return nil
	}
	if ev.Key() == tcell.KeyCtrlC {
		return nil // never let tview's default Ctrl-C quit the UI
	}
	return ev
}

// consoleKey sends a key typed into the focused console to the Guest.
func (a *app) consoleKey(ev *tcell.EventKey) *tcell.EventKey {
	var b []byte
	switch k := ev.Key(); {
	case k == tcell.KeyTab || k == tcell.KeyBacktab:
		a.cmdCycleFocus(ev)
		return nil
	case k == tcell.KeyEscape:
		a.focusPane(paneDisasm)
		return nil
	case k == tcell.KeyCtrlC:
		a.cmdPause(ev)
		return nil
	case k == tcell.KeyRune:
		b = []byte(string(ev.Rune()))
	case k == tcell.KeyEnter:
		b = []byte{'\n'}
	case k == tcell.KeyBackspace || k == tcell.KeyBackspace2:
		b = []byte{0x7f}
	case k >= tcell.KeyCtrlA && k <= tcell.KeyCtrlZ:
		b = []byte{byte(k)}
	default:
		return ev // arrows etc. scroll the console
	}
	if n := a.m.TryConsoleInput(b); n < len(b) {
		a.setMsg(true, "console input is full; the guest is not reading it")
	}
	return nil
}

func (a *app) disasmMove(ev *tcell.EventKey) {
	_, _, _, h := a.panes[paneDisasm].GetInnerRect()
	if ev.Key() == tcell.KeyRune && ev.Rune() == '.' {
		a.followEIP()
		a.renderDisasm()
		a.refreshNow()
		return
	}
	cur := a.cursorAddr()
	idx := -1
	for i, l := range a.listing {
		if l.addr == cur {
			idx = i
		}
	}
	if idx < 0 || len(a.listing) == 0 {
		return
	}
	step := 1
	switch {
	case ev.Key() == tcell.KeyUp || ev.Rune() == 'k':
		step = -1
	case ev.Key() == tcell.KeyPgUp:
		step = -max(1, h-1)
	case ev.Key() == tcell.KeyPgDn:
		step = max(1, h-1)
	}
	idx = max(0, min(len(a.listing)-1, idx+step))
	a.mu.Lock()
	a.v.disasmFollow = false
	a.v.disasmCursor = a.listing[idx].addr
	a.mu.Unlock()
	a.renderDisasm()
	a.refreshNow()
}

func (a *app) memMove(ev *tcell.EventKey) {
	_, _, w, h := a.panes[paneMemory].GetInnerRect()
	per := uint32(hexPerLine(w))
	a.mu.Lock()
	if a.v.memFollow && a.snap != nil {
		a.v.memVA = a.snap.mem.base
	}
	a.v.memFollow = false
	switch {
	case ev.Key() == tcell.KeyUp || ev.Rune() == 'k':
		a.v.memVA -= per
	case ev.Key() == tcell.KeyDown || ev.Rune() == 'j':
		a.v.memVA += per
	case ev.Key() == tcell.KeyPgUp:
		a.v.memVA -= per * uint32(max(1, h))
	case ev.Key() == tcell.KeyPgDn:
		a.v.memVA += per * uint32(max(1, h))
	}
	a.mu.Unlock()
	a.refreshNow()
}
