package ui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv/event"
)

// commands is the ":" command line, in the spirit of gdb and the Bochs
// debugger. Each takes the rest of the line.
var commands = []struct {
	names []string
	usage string // "syntax  what it does", for the help overlay
	run   func(a *app, arg string) error
}{
	{[]string{"walk", "w"}, "walk [ADDR]  walk ADDR in guest and shadow tables (no ADDR: follow EIP)", (*app).cmdWalk},
	{[]string{"x", "mem"}, "x [ADDR]  dump memory at ADDR (no ADDR: follow ESP)", (*app).cmdMem},
	{[]string{"break", "b"}, "break [ADDR]  breakpoint at ADDR (default: the cursor)", (*app).cmdBreak},
	{[]string{"clear", "delete", "d"}, "clear [ADDR|N]  delete a breakpoint by address or number (default: the cursor)", (*app).cmdClear},
	{[]string{"until"}, "until EVENT  continue to the first EVENT: " + strings.Join(event.WordHelp(1000), " "), func(a *app, arg string) error {
		if arg == "" {
			return errors.New("which event? " + strings.Join(event.WordHelp(1000), " "))
		}
		return a.until(arg)
	}},
	{[]string{"next", "n"}, "next  step over a call (n); otherwise stepi", func(a *app, _ string) error { a.cmdNext(nil); return nil }},
	{[]string{"finish", "fin"}, "finish  run until the current function returns (f)", func(a *app, _ string) error { a.cmdFinish(nil); return nil }},
	{[]string{"advance", "u"}, "advance ADDR  run to ADDR (u: to the disassembly cursor)", func(a *app, arg string) error {
		addr := a.cursorAddr()
		if arg != "" {
			var err error
			if addr, err = a.addr(arg); err != nil {
				return err
			}
		}
		a.cmdAdvance(addr)
		return nil
	}},
	{[]string{"disas", "disassemble"}, "disas [ADDR|SYMBOL]  show the code at ADDR (Tab completes symbols; no ADDR: EIP)", (*app).cmdDisas},
	{[]string{"info"}, "info break  the breakpoint list: numbers, enabled, hits, the name a hit came from", (*app).cmdInfo},
	{[]string{"enable"}, "enable N  enable breakpoint N", func(a *app, arg string) error { return a.cmdEnable(arg, true) }},
	{[]string{"disable"}, "disable N  disable breakpoint N (kept in the list)", func(a *app, arg string) error { return a.cmdEnable(arg, false) }},
	{[]string{"continue", "c"}, "continue  like c", func(a *app, _ string) error { a.cmdContinue(nil); return nil }},
	{[]string{"stepi", "si", "s", "i"}, "stepi  like s", func(a *app, _ string) error { a.cmdStep(nil); return nil }},
	{[]string{"pause", "p"}, "pause  like p", func(a *app, _ string) error { a.cmdPause(nil); return nil }},
	{[]string{"syntax"}, "syntax gnu|intel  disassembly syntax", (*app).cmdSyntax},
	{[]string{"devices", "dev"}, "devices  the Guest's devices and their queues (? or Esc closes)", func(a *app, _ string) error {
		a.showOverlay(" devices: Esc closes ", deviceListing(a.m.Devices(), a.m.PCIDevices(), a.m.ABI4x()))
		return nil
	}},
	{[]string{"help", "h"}, "help  this help", func(a *app, _ string) error { a.showOverlay(helpTitle, a.helpStr); return nil }},
	{[]string{"quit", "q"}, "q  quit", func(a *app, _ string) error { a.quit(); return nil }},
}

// exec runs one command line; the error is shown on the message line.
func (a *app) exec(line string) error {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	for _, c := range commands {
		for _, n := range c.names {
			if n == name {
				if err := c.run(a, arg); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("unknown command %q (%s; Tab completes)", name, strings.Join(primaryNames(), ", "))
}

func (a *app) addr(arg string) (uint32, error) {
	return parseAddr(arg, a.cur, a.syms)
}

func (a *app) cmdWalk(arg string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if arg == "" {
		a.v.walkFollow = true
		a.refreshNow()
		return nil
	}
	va, err := parseAddr(arg, a.cur, a.syms)
	if err != nil {
		return err
	}
	a.v.walkVA, a.v.walkFollow = va, false
	a.refreshNow()
	defer a.reveal(paneWalk) // after the unlock
	return nil
}

func (a *app) cmdMem(arg string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if arg == "" {
		a.v.memFollow = true
		a.refreshNow()
		return nil
	}
	va, err := parseAddr(arg, a.cur, a.syms)
	if err != nil {
		return err
	}
	a.v.memVA, a.v.memFollow = va, false
	a.refreshNow()
	defer a.reveal(paneMemory) // after the unlock
	return nil
}

func (a *app) cmdBreak(arg string) error {
	addr := a.cursorAddr()
	if arg != "" {
		var err error
		if addr, err = a.addr(arg); err != nil {
			return err
		}
	}
	a.setBreak(addr, arg)
	return nil
}

func (a *app) cmdClear(arg string) error {
	addr := a.cursorAddr()
	if arg != "" {
		var err error
		if addr, err = a.addr(arg); err != nil {
			return err
		}
	}
	if b, err := a.bpByNum(arg); err == nil && arg != "" && !strings.HasPrefix(arg, "0") {
		addr = b.addr // "delete 2": gdb's breakpoint number
	}
	if a.bpByAddr(addr) == nil {
		return fmt.Errorf("no breakpoint at %#x", addr)
	}
	a.clearBreak(addr)
	return nil
}

func (a *app) cmdSyntax(arg string) error {
	switch arg {
	case "gnu", "att", "intel":
		a.syntax = map[string]string{"gnu": "gnu", "att": "gnu", "intel": "intel"}[arg]
		a.renderDisasm()
		return nil
	}
	return fmt.Errorf("%q: want gnu or intel", arg)
}

// primaryNames is each command's first name, for the unknown-command error.
func primaryNames() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.names[0])
	}
	return out
}
