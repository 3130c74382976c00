package gdbstub

import (
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
)

// monitor stop-on EVENT: stops on what only the Host sees. The words are
// hv/event's table, the same that --until and the TUI's :until take
// (hcall:NEW_PGTABLE, linear-off, trap:14, pgdir, console:TEXT, shadow...).
// An armed stop applies to every continue of this session until cleared;
// the stop reaches gdb as an ordinary SIGTRAP stop, preceded by an 'O' line
// naming the event and its icount, so `continue` simply returns there.

// stopOn is one armed Host-event stop.
type stopOn struct {
	spec  string
	match func(hv.Event) bool
}

// stopOnHelp is the monitor help line; the command itself needs the
// session, so rcmd dispatches it before the session-less commands.
var stopOnHelp = monitorCmd{name: "stop-on", args: "[EVENT|-d]",
	help: "stop the next continue at a Host event (" + event.WordList() + "); no argument lists, -d clears"}

// monStopOn runs `monitor stop-on ...` for this session.
func (ss *session) monStopOn(args []string) string {
	switch {
	case len(args) == 0:
		if len(ss.stopOns) == 0 {
			return "no Host-event stops armed\n"
		}
		var b strings.Builder
		for i, s := range ss.stopOns {
			fmt.Fprintf(&b, "%d  %s\n", i+1, s.spec)
		}
		return b.String()
	case len(args) == 1 && args[0] == "-d":
		n := len(ss.stopOns)
		ss.stopOns = nil
		return fmt.Sprintf("cleared %d Host-event stop(s)\n", n)
	case len(args) > 1:
		return "monitor stop-on: want one EVENT (or -d)\n"
	}
	match, err := hv.MatchEvent(args[0])
	if err != nil {
		return fmt.Sprintf("monitor stop-on %q: %v\n", args[0], err)
	}
	ss.stopOns = append(ss.stopOns, stopOn{spec: args[0], match: match})
	return fmt.Sprintf("armed: the next continue stops at %s\n", args[0])
}

// stopOnPredicate is what a continue runs until: any armed event, or nil
// when none is armed (so an unarmed continue costs nothing).
func (ss *session) stopOnPredicate() func(hv.Event) bool {
	if len(ss.stopOns) == 0 {
		return nil
	}
	arms := append([]stopOn(nil), ss.stopOns...)
	return func(e hv.Event) bool {
		for _, s := range arms {
			if s.match(e) {
				return true
			}
		}
		return false
	}
}

// stopOnNote is the 'O' line sent before the stop reply of a Host-event
// stop: which armed word matched, the event and its icount.
func (ss *session) stopOnNote(st hv.Stop) string {
	if st.Event == nil {
		return ""
	}
	spec := ""
	for _, s := range ss.stopOns {
		if s.match(*st.Event) {
			spec = s.spec
			break
		}
	}
	return fmt.Sprintf("lgdbg: stopped on %s at icount %d: %s\n", spec, st.Event.ICount, st.Event)
}
