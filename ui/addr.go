package ui

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/boot"
)

// symtab answers "which function is this address in" for the disassembly
// and "where is start_kernel" for the command line. The slice is the
// image's own (boot.Image.Symbols, sorted by Value, functions first among
// equal values), so lookups are a binary search and nothing is copied.
type symtab []boot.Symbol

// maxLabelReach bounds how far past a size-less symbol (an assembly label
// such as startup_32) an address is still shown as label+offset; beyond it
// the name would be more misleading than helpful.
const maxLabelReach = 0x10000

// lookup returns the symbol containing addr and addr's offset in it.
func (s symtab) lookup(addr uint32) (boot.Symbol, uint32, bool) {
	i := sort.Search(len(s), func(i int) bool { return s[i].Value > addr }) - 1
	if i < 0 {
		return boot.Symbol{}, 0, false
	}
	// Among symbols at the same address the image sorts the most useful
	// (functions, globals) first.
	for i > 0 && s[i-1].Value == s[i].Value {
		i--
	}
	sym := s[i]
	off := addr - sym.Value
	if sym.Size != 0 && off >= sym.Size {
		return boot.Symbol{}, 0, false
	}
	if sym.Size == 0 && off >= maxLabelReach {
		return boot.Symbol{}, 0, false
	}
	return sym, off, true
}

// at returns the name of a symbol starting exactly at addr.
func (s symtab) at(addr uint32) (string, bool) {
	sym, off, ok := s.lookup(addr)
	if !ok || off != 0 {
		return "", false
	}
	return sym.Name, true
}

// name formats addr as gdb does: "name+0x10", or "" when no symbol covers it.
func (s symtab) name(addr uint32) string {
	sym, off, ok := s.lookup(addr)
	if !ok {
		return ""
	}
	if off == 0 {
		return sym.Name
	}
	return fmt.Sprintf("%s+%#x", sym.Name, off)
}

func (s symtab) byName(name string) (uint32, bool) {
	for _, sym := range s {
		if sym.Name == name {
			return sym.Value, true
		}
	}
	return 0, false
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
