package ui

import (
	"errors"
	"fmt"
	"strings"
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
	{[]string{"clear", "delete", "d"}, "clear [ADDR]  remove a breakpoint (default: the cursor)", (*app).cmdClear},
	{[]string{"until"}, "until EVENT  continue to the first EVENT: hcall:NEW_PGTABLE, linear-off, trap:14, pgdir, console:TEXT", func(a *app, arg string) error {
		if arg == "" {
			return errors.New("until: which event? (e.g. until hcall:NEW_PGTABLE)")
		}
		return a.until(arg)
	}},
	{[]string{"continue", "c"}, "continue  like c", func(a *app, _ string) error { a.cmdContinue(nil); return nil }},
	{[]string{"stepi", "si", "s", "i"}, "stepi  like s", func(a *app, _ string) error { a.cmdStep(nil); return nil }},
	{[]string{"pause", "p"}, "pause  like p", func(a *app, _ string) error { a.cmdPause(nil); return nil }},
	{[]string{"syntax"}, "syntax gnu|intel  disassembly syntax", (*app).cmdSyntax},
	{[]string{"devices", "dev"}, "devices  the Guest's devices and their queues (? or Esc closes)", func(a *app, _ string) error {
		a.help.SetText(deviceListing(a.m.Devices(), a.m.PCIDevices(), a.m.ABI4x()))
		a.showHelp(true)
		return nil
	}},
	{[]string{"help", "h"}, "help  this help", func(a *app, _ string) error { a.help.SetText(a.helpStr); a.showHelp(true); return nil }},
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
	return fmt.Errorf("unknown command %q (walk, x, break, clear, until, continue, stepi, pause, syntax, devices, help, q)", name)
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
	a.setBreak(addr)
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
	if !a.bps[addr] {
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
	return fmt.Errorf("syntax %q: want gnu or intel", arg)
}
