// Package ui is lgdbg's terminal user interface: a kernel developer watches
// and steps an lguest Guest's boot, with the guest-versus-shadow page-table
// walk of an address, the Host's linear_pages flag, the decoded hypercall
// log and the Guest console side by side.
//
// The UI never runs or blocks the Guest itself, and its parts have one
// role each:
//
//   - model.go: a refresher goroutine takes one hv.Machine.Snapshot ten
//     times a second and after every stop (the model), and hands it to the
//     tview event loop, which only renders copies;
//   - controller.go: one controller goroutine drives the Machine (Resume,
//     Pause, Step, ResumeUntil) and hears its stops through a subscription,
//     so the screen stays responsive while a pause waits for the Guest;
//   - pane_*.go: one file per pane; their render functions are pure (text
//     from a snapshot and view state), tested in render_test.go;
//   - layout.go, input.go, status.go, keymap.go, command.go: widgets, keys,
//     the status line and the ":" commands.
package ui

import (
	"context"
	"errors"
	"fmt"
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
	// Quit, if set, ends Run when it is closed, as the q key does: the
	// CLI closes it on SIGTERM/SIGHUP, which the terminal's raw mode
	// does not turn into keys.
	Quit <-chan struct{}
	// Refresh is the snapshot interval; 0 means 100 ms (10 Hz).
	Refresh time.Duration
	// AfterDraw, if set, is called on the UI goroutine after every frame
	// is drawn and before it is shown, with the screen whose GetContent
	// holds the frame: the screenshot tool and the tests copy frames
	// there, where no draw can race with them. Keep it fast.
	AfterDraw func(screen tcell.Screen)
	// HistoryFile keeps the ":" command history across runs ("" = for
	// this run only); DefaultHistoryFile is the user's state directory.
	HistoryFile string
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

type message struct {
	isErr bool
	text  string
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
	runTo      *runTo // a pending next, finish or advance

	mu      sync.Mutex
	v       view
	pending *message // for the message line, from queueMsg
	hits    []uint32 // breakpoint stops the controller saw, for the hit counts

	// The rest belongs to the UI goroutine.
	root                *tview.Pages
	main                *tview.Flex
	panes               [numPanes]*tview.TextView
	linearTV            *tview.TextView
	status              *tview.TextView
	msg                 *tview.TextView
	prompt              *tview.InputField
	bottom              *tview.Pages
	help                *tview.TextView
	helpStr             string // the keymap and commands, restored when ? or :help reopens the overlay
	helpBox             *tview.Flex
	helpRow             *tview.Flex
	helpOn              bool
	side                *tview.Pages // right of the disassembly: hypercalls (and in small mode the bottom row's panes)
	handoffTV           *tview.TextView
	mode                layoutMode
	layoutW             int  // the width the layout was built for
	zoomOn              bool // the zoom key maximized a pane
	zoomed, zoomedBuilt pane
	walkRows            int  // the walk pane's height, sized to its content
	msgRows             int  // the message line's height, 1-3 rows as its text needs
	screenW, screenH    int  // the screen size at the last draw
	tooSmall            bool // the last draw showed TooSmallMessage
	lastFoc             tview.Primitive

	snap       *snapshot
	cur, prev  hv.Regs
	haveCur    bool
	havePrev   bool
	listing    []asmLine
	bps        map[uint32]bool // enabled breakpoints, as the disassembly marks them
	bplist     []*breakpoint   // every breakpoint, in number order
	bpNext     int
	syntax     string
	logs       [numPanes]*logBuf // the log panes' lines (Hypercalls, Events)
	search     pane              // the log pane a "/" prompt searches
	handoff    handoff
	linOffAt   uint64
	haveOff    bool
	mips       float64
	lastRun    *snapshot  // previous running sample, for MIPS
	seq        uint64     // next event sequence number (refresher only)
	evGen      uint64     // the event log's generation at the last snapshot (refresher only)
	console    []conChunk // the console pane's text by event, to cut it back on time travel
	conBytes   int
	furthest   uint64         // the furthest icount seen: the end of the history range
	guestCache guestProvCache // the guest writers' last answer (guestWalkProv)
	provCache  struct {       // walkProv's last answer (refresher only)
		key  provKey
		prov []shadowProv
		ok   bool
	}
	// ready is closed once the screen is initialised (tests inject
	// events only after that).
	ready chan struct{}
	hist  *history
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
	a.syms = symtab{m.Symbols()}
	a.logs[paneHcalls], a.logs[paneEvents] = newLogBuf(), newLogBuf()
	var herr error
	a.hist, herr = loadHistory(opts.HistoryFile)
	a.v = view{walkFollow: true, memFollow: true, memBytes: 16 * 16, disasmFollow: true, disasmRows: 40}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.build()
	if herr != nil {
		a.setMsg(true, herr.Error())
	}
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
	if a.opts.Quit != nil {
		go func() {
			select {
			case <-a.opts.Quit:
				// Queued, so that a signal arriving before tview has
				// opened the screen still stops it once it has.
				a.tv.QueueUpdate(a.tv.Stop)
			case <-a.ctx.Done():
			}
		}()
	}
	err := a.tv.Run()
	a.cancel()
	a.wg.Wait()
	a.m.Pause()
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}

func (a *app) quit() { a.tv.Stop() }
