package ui

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/rivo/tview"
)

// Time travel in the TUI (the Machine keeps the history, hv/history.go):
// S steps one instruction back, C continues back to the last breakpoint,
// :goto ICOUNT jumps anywhere in history and :history ADDR lists every
// change to the guest and shadow entries mapping ADDR. Every pane then shows that
// instant, as after any stop. Enter (or g) on an event in a log pane
// travels to just before it (logkeys.go). Whatever travels — these keys
// or gdb — the panes that keep events (logs, console, handoff) are cut
// back to the new present (rewind).

func init() {
	keymap = append(keymap,
		binding{keys: []keySpec{runeKey('S')}, label: "S", help: "step one instruction back (reverse-stepi; needs history)", act: (*app).cmdStepBack},
		binding{keys: []keySpec{runeKey('C')}, label: "C", help: "continue back to the last breakpoint hit (reverse-continue)", act: (*app).cmdContinueBack},
	)
	commands = append(commands,
		struct {
			names []string
			usage string
			run   func(a *app, arg string) error
		}{[]string{"goto"}, "goto ICOUNT  travel in time to instruction count ICOUNT", (*app).cmdGoto},
		struct {
			names []string
			usage string
			run   func(a *app, arg string) error
		}{[]string{"history"}, "history ADDR  every change to the guest and shadow entries mapping ADDR, oldest first", (*app).cmdHistory},
	)
}

func (a *app) travel(f func() (hv.Stop, error)) {
	a.followEIP()
	a.control(func() {
		a.m.Pause() // travel from a running Guest: stop it first
		if _, err := f(); err != nil {
			a.queueMsg(true, err.Error())
		}
	})
}

func (a *app) cmdStepBack(*tcell.EventKey)     { a.travel(a.m.ReverseStep) }
func (a *app) cmdContinueBack(*tcell.EventKey) { a.travel(a.m.ReverseContinue) }

func (a *app) cmdGoto(arg string) error {
	t, err := strconv.ParseUint(strings.ReplaceAll(arg, "_", ""), 0, 64)
	if err != nil {
		return fmt.Errorf("want an instruction count, not %q", arg)
	}
	if !a.m.History().On {
		return hv.ErrNoHistory
	}
	a.travel(func() (hv.Stop, error) { return a.m.Goto(t) })
	return nil
}

func (a *app) cmdHistory(arg string) error {
	if arg == "" {
		return errors.New("history: which address?")
	}
	va, err := a.addr(arg)
	if err != nil {
		return err
	}
	// The guest entries' history is a replay of all of history: on the
	// controller (a command given meanwhile waits for it), never on the
	// UI goroutine. The overlay says so until the answer replaces it.
	a.help.SetText(fmt.Sprintf("entries mapping 0x%08x: replaying history... (? or Esc closes)\n", va))
	a.showHelp(true)
	a.control(func() {
		changes, guestErr := a.m.MappingHistory(va)
		text := mappingHistoryText(va, changes, guestErr)
		a.tv.QueueUpdateDraw(func() {
			if a.helpOn {
				a.help.SetText(text)
			}
		})
	})
	return nil
}

// mappingHistoryText lists the changes to the guest and shadow entries
// mapping va for the overlay, oldest first.
func mappingHistoryText(va uint32, changes []hv.MappingChange, guestErr error) string {
	var b strings.Builder
	ng := hv.CountGuest(changes)
	fmt.Fprintf(&b, "entries mapping 0x%08x: %d guest changes, %d shadow changes (? or Esc closes)\n\n", va, ng, len(changes)-ng)
	if guestErr != nil {
		fmt.Fprintf(&b, "guest entries: %v\n", guestErr)
	}
	for _, c := range changes {
		b.WriteString(tview.Escape(c.String()) + "\n")
	}
	return b.String()
}

// historyStatus is the status bar's history part: the range one can
// travel in, from the oldest checkpoint to the furthest instant this UI
// saw the Guest at, and where in it the Guest is when that is not the end.
func historyStatus(h hv.HistoryInfo, icount, furthest uint64) string {
	if !h.On {
		return ""
	}
	if icount < furthest {
		return fmt.Sprintf("  history %d..%d, at %d", h.Oldest, furthest, icount)
	}
	return fmt.Sprintf("  history %d..%d", h.Oldest, icount)
}

// conChunk is one console event's text, kept so the console pane can be
// cut back to an earlier instant.
type conChunk struct {
	seq  uint64
	text string
}

// maxConsoleKeep bounds the console text kept for cutting back; past it
// the oldest half goes (the pane itself keeps maxConsoleLines).
const maxConsoleKeep = 4 << 20

func (a *app) keepConsole(seq uint64, text string) {
	a.console = append(a.console, conChunk{seq, text})
	a.conBytes += len(text)
	if a.conBytes > maxConsoleKeep {
		n := len(a.console) / 2
		for _, c := range a.console[:n] {
			a.conBytes -= len(c.text)
		}
		a.console = append(a.console[:0:0], a.console[n:]...)
	}
}

// rewind forgets what the panes hold from event seq on: the Machine
// travelled back to before it, and every pane shows that instant. The
// logs, the console and the handoff summary are cut to the events before
// seq; the refresher then adds the events made since, from seq on.
func (a *app) rewind(seq uint64) {
	n := sort.Search(len(a.console), func(i int) bool { return a.console[i].seq >= seq })
	if n < len(a.console) {
		var sb strings.Builder
		for _, c := range a.console[n:] {
			a.conBytes -= len(c.text)
		}
		a.console = a.console[:n]
		for _, c := range a.console {
			sb.WriteString(c.text)
		}
		a.panes[paneConsole].SetText(sb.String())
		a.panes[paneConsole].ScrollToEnd()
	}
	// The handoff summary and the linear_pages pane follow the events:
	// take back what the forgotten ones did.
	for _, p := range []pane{paneHcalls, paneEvents} {
		for _, l := range a.logs[p].cut(seq) {
			a.handoff.unsee(l.ev)
			if l.ev.Kind == event.LinearOff {
				a.linOffAt, a.haveOff = 0, false
			}
		}
	}
}

// cut drops and returns the lines of events from seq on (the newest, so
// never ones maxLogLines dropped); the selection stays on its line if
// that is kept, else follows the newest.
func (b *logBuf) cut(seq uint64) []logLine {
	n := sort.Search(len(b.lines), func(i int) bool { return b.lines[i].ev.Seq >= seq })
	if n == len(b.lines) {
		return nil
	}
	gone := append([]logLine(nil), b.lines[n:]...)
	b.lines = b.lines[:n]
	if b.follow || b.sel >= n {
		b.sel, b.follow, b.expanded = max(0, n-1), true, false
	}
	return gone
}
