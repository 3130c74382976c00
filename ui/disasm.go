package ui

import (
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// codeWindow is a copy of Guest memory around the disassembly anchor. ok[i]
// says whether byte i could be read: an unmapped page is shown as such
// instead of as a run of zero bytes that would decode as "add %al,(%eax)".
type codeWindow struct {
	base uint32
	data []byte
	ok   []bool
}

func (w codeWindow) bytes(addr uint32, n int) ([]byte, bool) {
	off := int(addr - w.base)
	if addr < w.base || off >= len(w.data) {
		return nil, false
	}
	end := min(off+n, len(w.data))
	for i := off; i < end; i++ {
		if !w.ok[i] {
			end = i
			break
		}
	}
	if end == off {
		return nil, false
	}
	return w.data[off:end], true
}

// asmLine is one disassembled instruction.
type asmLine struct {
	addr   uint32
	size   int
	bytes  []byte
	text   string
	label  string // a symbol starting exactly here
	mapped bool
}

// Disassembly window sizes: how far back we look for a synchronised start,
// and the longest x86 instruction.
const (
	backReach   = 96
	maxInsnSize = 15
)

// decodeAt decodes one instruction; undecodable bytes become ".byte" so
// the listing always advances.
func decodeAt(w codeWindow, addr uint32, syntax string, syms symtab) asmLine {
	l := asmLine{addr: addr, size: 1}
	b, ok := w.bytes(addr, maxInsnSize)
	if !ok {
		l.text = "(not mapped)"
		return l
	}
	l.mapped = true
	inst, err := x86asm.Decode(b, 32)
	if err != nil || inst.Len == 0 || inst.Op == 0 {
		l.bytes = b[:1]
		l.text = fmt.Sprintf(".byte %#02x", b[0])
		return l
	}
	l.size = inst.Len
	l.bytes = b[:inst.Len]
	// Operands are named by the symbol model's rules (symbols.Instruction):
	// only places in allocated sections or their load aliases, nothing in
	// the bzImage's own code.
	l.text = syms.t.Instruction(inst, addr, syntax)
	return l
}

// syncStart finds where to start decoding so that the instruction stream
// lands exactly on anchor. x86 has no backwards decoding, but a stream
// started far enough back resynchronises with the true one after a few
// instructions, so we prefer the containing symbol's start (exact), and
// otherwise the farthest start that lands on anchor (most likely true).
func syncStart(w codeWindow, anchor uint32, syntax string, syms symtab) uint32 {
	if start, off, ok := syms.lookup(anchor); ok && off <= backReach*4 {
		if _, ok := w.bytes(start, 1); ok && lands(w, start, anchor) {
			return start
		}
	}
	for back := uint32(backReach); back > 0; back-- {
		start := anchor - back
		if start > anchor {
			continue // wrapped below 0
		}
		if lands(w, start, anchor) {
			return start
		}
	}
	return anchor
}

func lands(w codeWindow, start, anchor uint32) bool {
	a := start
	for a < anchor {
		b, ok := w.bytes(a, maxInsnSize)
		if !ok {
			return false
		}
		inst, err := x86asm.Decode(b, 32)
		if err != nil || inst.Len == 0 {
			return false
		}
		a += uint32(inst.Len)
	}
	return a == anchor
}

// disassemble lists up to before instructions before anchor, the one at
// anchor, and after-1 more.
func disassemble(w codeWindow, anchor uint32, before, total int, syntax string, syms symtab) []asmLine {
	var lines []asmLine
	start := syncStart(w, anchor, syntax, syms)
	for a := start; a < anchor; {
		l := decodeAt(w, a, syntax, syms)
		lines = append(lines, l)
		a += uint32(l.size)
	}
	if len(lines) > before {
		lines = lines[len(lines)-before:]
	}
	for a := anchor; len(lines) < total; {
		l := decodeAt(w, a, syntax, syms)
		lines = append(lines, l)
		if a+uint32(l.size) < a {
			break // top of the address space
		}
		a += uint32(l.size)
	}
	for i := range lines {
		if name, ok := syms.at(lines[i].addr); ok {
			lines[i].label = name
		}
	}
	return lines
}

// hexBytes renders instruction bytes for the listing, padded to width.
func hexBytes(b []byte, width int) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	s := sb.String()
	if len(s) > width {
		s = s[:width-1] + "+"
	}
	return s + strings.Repeat(" ", width-len(s))
}
