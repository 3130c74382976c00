package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
)

// Keys of the log panes (Hypercalls, Events).

// logOf is the focused log pane, if a log pane has the focus.
func (a *app) logOf() (pane, *logBuf, bool) {
	p, ok := a.focusedPane()
	if !ok || a.logs[p] == nil {
		return 0, nil, false
	}
	return p, a.logs[p], true
}

func (a *app) logMove(ev *tcell.EventKey) {
	p, b, ok := a.logOf()
	if !ok {
		return
	}
	_, _, _, h := a.panes[p].GetInnerRect()
	page := max(1, h-2)
	switch {
	case ev.Key() == tcell.KeyUp || ev.Rune() == 'k':
		b.move(-1)
	case ev.Key() == tcell.KeyDown || ev.Rune() == 'j':
		b.move(1)
	case ev.Key() == tcell.KeyPgUp:
		b.move(-page)
	case ev.Key() == tcell.KeyPgDn:
		b.move(page)
	case ev.Key() == tcell.KeyHome:
		b.setSel(0)
	case ev.Key() == tcell.KeyEnd:
		b.setSel(len(b.lines) - 1)
	}
	a.renderLog(p)
}

func (a *app) logSearchPrompt(*tcell.EventKey) {
	p, b, ok := a.logOf()
	if !ok {
		p, b = paneHcalls, a.logs[paneHcalls]
		a.focusPane(p)
	}
	a.search = p
	a.openPrompt("/", b.search)
}

// setSearch searches pane p's log for text, from the selection on.
func (a *app) setSearch(p pane, text string) {
	b := a.logs[p]
	if b == nil {
		return
	}
	b.search = text
	if text != "" && !b.find(1) {
		a.setMsg(true, fmt.Sprintf("/%s: not in the %s log", text, paneNames[p]))
	}
	a.renderLog(p)
}

func (a *app) logFind(ev *tcell.EventKey) {
	p, b, ok := a.logOf()
	if !ok {
		return
	}
	if b.search == "" {
		a.setMsg(true, "no search yet: / TEXT first")
		return
	}
	dir := 1
	if ev.Rune() == 'N' {
		dir = -1
	}
	if !b.find(dir) {
		a.setMsg(true, fmt.Sprintf("/%s: not in the %s log", b.search, paneNames[p]))
	}
	a.renderLog(p)
}

// logEnter expands the selected line and points the other panes where
// its event points; on the expanded line it travels in time to just
// before the event (logTravel), or folds it when history is off.
func (a *app) logEnter(ev *tcell.EventKey) {
	p, b, ok := a.logOf()
	if !ok {
		return
	}
	i := b.selected()
	if i < 0 {
		return
	}
	if b.expanded && a.m.History().On {
		a.logTravel(ev)
		return
	}
	if b.follow {
		b.sel, b.follow = i, false // an expanded line stays put
	}
	b.expanded = !b.expanded
	if b.expanded {
		j := jumpOf(b.lines[i].ev)
		a.mu.Lock()
		if j.walk != nil {
			a.v.walkVA, a.v.walkFollow = *j.walk, false
		}
		if j.mem != nil {
			a.v.memVA, a.v.memFollow = *j.mem, false
		}
		if j.code != nil {
			a.v.disasmCursor, a.v.disasmFollow = *j.code, false
		}
		a.mu.Unlock()
		if j.what != "" {
			a.setMsg(false, "jumped: "+j.what)
		}
		a.refreshNow()
	}
	a.renderLog(p)
}

// logFold folds the expanded line.
func (a *app) logFold(*tcell.EventKey) {
	if p, b, ok := a.logOf(); ok && b.expanded {
		b.expanded = false
		a.renderLog(p)
	}
}

// logTravel travels to the instant just before the selected line's event
// (hv.Machine.GotoBefore): the event has not happened yet, and one step
// makes it. The walk and memory panes go where the event points, the
// disassembly follows EIP there, and the logs end before the event.
func (a *app) logTravel(*tcell.EventKey) {
	p, b, ok := a.logOf()
	if !ok {
		return
	}
	i := b.selected()
	if i < 0 {
		return
	}
	if !a.m.History().On {
		a.setMsg(true, hv.ErrNoHistory.Error())
		return
	}
	e, what := b.lines[i].ev, strings.TrimSpace(b.lines[i].text)
	j := jumpOf(e)
	a.mu.Lock()
	if j.walk != nil {
		a.v.walkVA, a.v.walkFollow = *j.walk, false
	}
	if j.mem != nil {
		a.v.memVA, a.v.memFollow = *j.mem, false
	}
	a.v.disasmFollow = true
	a.mu.Unlock()
	b.expanded = false
	a.renderLog(p)
	a.control(func() {
		a.m.Pause() // travel from a running Guest: stop it first
		st, err := a.m.GotoBefore(e)
		if err != nil {
			a.queueMsg(true, err.Error())
			return
		}
		a.queueMsg(false, fmt.Sprintf("travelled to icount %d, just before: %s", st.ICount, what))
	})
}
