package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/symbols"
)

// symtab answers "which function is this address in" for the disassembly
// and "where is start_kernel" for the command line, through the Machine's
// one symbol model (hv/symbols), so the TUI names an address exactly as
// the gdb stub's monitor and the CLI do.
type symtab struct{ t *symbols.Table }

// lookup returns where the place holding addr starts and addr's offset in
// it (the load alias of a symbol starts at the symbol's load address).
func (s symtab) lookup(addr uint32) (start, off uint32, ok bool) {
	n, ok := s.t.Code(addr)
	if !ok {
		return 0, 0, false
	}
	return addr - n.Off, n.Off, true
}

// at returns the display of a place starting exactly at addr:
// "<startup_32>", "<startup_32> (load address)", "<bzImage>".
func (s symtab) at(addr uint32) (string, bool) {
	n, ok := s.t.Code(addr)
	if !ok || n.Off != 0 {
		return "", false
	}
	return s.display(addr), true
}

// display formats addr's name as gdb does, "<name+0x10>", with
// " (load address)" after it when addr is the load alias of that place;
// "" when nothing covers addr.
func (s symtab) display(addr uint32) string {
	n, ok := s.t.Code(addr)
	if !ok {
		return ""
	}
	d := "<" + n.Base() + ">"
	if n.Load {
		d += " (load address)"
	}
	return d
}

// byName returns a symbol's link address.
func (s symtab) byName(name string) (uint32, bool) {
	sym, ok := s.t.ByName(name)
	return sym.Addr, ok
}

var regNames = [...]string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"}

// parseAddr evaluates what a user types where an address is wanted: a sum
// or difference of terms, each a symbol, a register ($eip or eip) or a
// number. Numbers are hex, with or without 0x, because every address a
// kernel developer copies (System.map, oops traces, objdump) is hex;
// "0d" forces decimal. Symbols win over registers, registers over numbers,
// so a function called "add" is still reachable.
func parseAddr(expr string, r hv.Regs, syms symtab) (uint32, error) {
	s := strings.TrimSpace(expr)
	if s == "" {
		return 0, errors.New("empty address")
	}
	var total uint32
	sign := uint32(1)
	for len(s) > 0 {
		end := strings.IndexAny(s[1:], "+-")
		term := s
		if end >= 0 {
			term, s = s[:end+1], s[end+1:]
		} else {
			s = ""
		}
		term = strings.TrimSpace(term)
		switch {
		case strings.HasPrefix(term, "+"):
			sign, term = 1, strings.TrimSpace(term[1:])
		case strings.HasPrefix(term, "-"):
			sign, term = ^uint32(0), strings.TrimSpace(term[1:])
		}
		v, err := parseTerm(term, r, syms)
		if err != nil {
			return 0, fmt.Errorf("address %q: %w", expr, err)
		}
		total += sign * v
	}
	return total, nil
}

func parseTerm(t string, r hv.Regs, syms symtab) (uint32, error) {
	if t == "" {
		return 0, errors.New("missing term")
	}
	if v, ok := syms.byName(t); ok {
		return v, nil
	}
	reg := strings.ToLower(strings.TrimPrefix(t, "$"))
	for i, n := range regNames {
		if n == reg {
			return r.GPR[i], nil
		}
	}
	switch reg {
	case "eip", "pc":
		return r.EIP, nil
	case "cr2":
		return r.CR2, nil
	case "cr3":
		return r.CR3, nil
	}
	if strings.HasPrefix(t, "$") {
		return 0, fmt.Errorf("unknown register %q", t)
	}
	if d, ok := strings.CutPrefix(t, "0d"); ok {
		v, err := strconv.ParseUint(d, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("bad decimal number %q", t)
		}
		return uint32(v), nil
	}
	h := strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	v, err := strconv.ParseUint(strings.ReplaceAll(h, "_", ""), 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a symbol, register or hex number", t)
	}
	return uint32(v), nil
}
