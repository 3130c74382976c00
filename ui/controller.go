package ui

import (
	"fmt"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
)

// The controller: the one goroutine that drives the Machine for the UI,
// and the commands it runs.

// control queues f for the controller goroutine; the screen does not wait.
func (a *app) control(f func()) {
	// the user's command goes first: a history replay for the walk
	// pane's writers is not worth waiting for
	a.cancelGuestProv()
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

// onStop counts breakpoint hits and reports how a pending ":until",
// next, finish or advance ended.
func (a *app) onStop(st hv.Stop) {
	if st.Reason == hv.StopBreakpoint {
		a.mu.Lock()
		a.hits = append(a.hits, st.EIP)
		a.mu.Unlock()
	}
	a.onRunToStop(st)
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
	if a.bpByAddr(addr) != nil {
		a.clearBreak(addr)
	} else {
		a.setBreak(addr, "")
	}
}

// setBreak adds a breakpoint at addr; spec is what the user typed for it
// ("" for the cursor).
func (a *app) setBreak(addr uint32, spec string) {
	if spec == "" {
		spec = a.syms.display(addr)
		if spec == "" {
			spec = "(cursor)"
		}
	}
	if b := a.bpByAddr(addr); b != nil {
		if !b.enabled {
			a.enableQuiet(b)
			return
		}
		a.setMsg(false, fmt.Sprintf("breakpoint %d is already at %s", b.num, a.describe(addr)))
		return
	}
	a.control(func() { a.m.SetBreakpoint(addr) }) // the Machine counts one reference per front end
	a.bps[addr] = true
	a.bpNext++
	a.bplist = append(a.bplist, &breakpoint{num: a.bpNext, addr: addr, spec: spec, enabled: true})
	a.setMsg(false, fmt.Sprintf("breakpoint %d at %s", a.bpNext, a.describe(addr)))
	a.renderDisasm()
}

func (a *app) enableQuiet(b *breakpoint) {
	b.enabled = true
	addr := b.addr
	a.control(func() { a.m.SetBreakpoint(addr) })
	a.bps[addr] = true
	a.setMsg(false, fmt.Sprintf("breakpoint %d enabled at %s", b.num, a.describe(addr)))
	a.renderDisasm()
}

func (a *app) clearBreak(addr uint32) {
	b := a.bpByAddr(addr)
	if b == nil {
		return
	}
	if b.enabled {
		a.control(func() { a.m.ClearBreakpoint(addr) })
	}
	delete(a.bps, addr)
	for i, x := range a.bplist {
		if x == b {
			a.bplist = append(a.bplist[:i:i], a.bplist[i+1:]...)
			break
		}
	}
	a.setMsg(false, fmt.Sprintf("breakpoint %d deleted at %s", b.num, a.describe(addr)))
	a.renderDisasm()
}

func (a *app) describe(addr uint32) string {
	if n := a.syms.display(addr); n != "" {
		return fmt.Sprintf("%#x %s", addr, n)
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
