package ui

import (
	"fmt"

	"github.com/rivo/tview"
)

// The status line and the message line.

func (a *app) renderStatus() {
	if a.snap == nil {
		return
	}
	focus := ""
	if p, ok := a.focusedPane(); ok {
		focus = paneNames[p]
	}
	a.status.SetText(renderStatus(a.snap, a.mips, a.opts.ImageName, a.pae, focus) + historyStatus(a.m.History(), a.snap.regs.ICount, a.furthest))
}

// renderStatus is the status line: run state, image, paging mode and the
// focused pane.
func renderStatus(s *snapshot, mips float64, name string, pae bool, focus string) string {
	// The badge, the focused pane and "? help" come first: a narrow
	// terminal cuts the line's end (issue 12: at 80x24 they fell off).
	var badge, state string
	switch {
	case s.running:
		badge, state = "[black:green:b] RUNNING [-:-:-]", fmt.Sprintf("icount %d  %.1f MIPS", s.regs.ICount, mips)
	case s.stop.Reason.Terminal():
		badge, state = "[white:red:b] DEAD [-:-:-]", tview.Escape(s.stop.String())
	default:
		badge, state = "[black:yellow:b] PAUSED [-:-:-]", tview.Escape(s.stop.String())
	}
	if name == "" {
		name = "demo guest"
	}
	mode := "non-PAE"
	if pae {
		mode = "PAE"
	}
	if focus != "" {
		focus = " [" + focus + "]"
	}
	return fmt.Sprintf("%s%s  ? help  %s  %s %s", badge, tview.Escape(focus), state, tview.Escape(name), mode)
}

func (a *app) setMsg(isErr bool, text string) {
	color := "[green]"
	if isErr {
		color = "[red]"
	}
	a.msg.SetText(color + tview.Escape(text) + "[-]")
	// A long message (an error listing the event words) wraps onto up
	// to three rows rather than being cut at the edge.
	w := max(a.screenW, MinWidth)
	a.setMsgRows(min(3, (len([]rune(text))+w-1)/w))
}

func (a *app) clearMsg() {
	a.msg.SetText("")
	a.setMsgRows(1)
}

func (a *app) setMsgRows(n int) {
	n = max(1, n)
	if n != a.msgRows {
		a.msgRows = n
		a.main.ResizeItem(a.bottom, n, 0)
	}
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
