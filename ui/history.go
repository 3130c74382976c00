package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
)

// Time travel in the TUI (the Machine keeps the history, hv/history.go):
// S steps one instruction back, C continues back to the last breakpoint,
// :goto ICOUNT jumps anywhere in history and :history ADDR lists every
// change to the shadow entries mapping ADDR. Every pane then shows that
// instant, as after any stop.

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
		}{[]string{"history"}, "history ADDR  every change to the shadow entries mapping ADDR, oldest first", (*app).cmdHistory},
	)
}

func (a *app) travel(f func() (hv.Stop, error)) {
	a.followEIP()
	a.control(func() {
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
	a.help.SetText(shadowHistoryText(va, a.m.ShadowHistory(va)))
	a.showHelp(true)
	return nil
}

// shadowHistoryText lists shadow-entry changes for the overlay.
func shadowHistoryText(va uint32, evs []hv.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "shadow entries mapping 0x%08x: %d changes (? or Esc closes)\n\n", va, len(evs))
	for _, e := range evs {
		fmt.Fprintf(&b, "icount %-10d slot %d %-3s[%d] 0x%x -> 0x%x  %s\n", e.ICount, e.Slot, e.Level, e.Index, e.Old, e.New, e.Why)
	}
	return b.String()
}

// historyStatus is the status bar's history part: the range one can
// travel in.
func historyStatus(h hv.HistoryInfo, icount uint64) string {
	if !h.On {
		return ""
	}
	return fmt.Sprintf("  history %d..%d", h.Oldest, icount)
}
