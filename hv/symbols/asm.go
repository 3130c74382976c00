package symbols

import (
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Instruction formats one decoded instruction at pc in "gnu" (AT&T) or
// "intel" syntax with the kernel's names:
//
//   - a branch or call target is named as Lookup names a place, without the
//     load-address note, which becomes pa(): "call start_kernel",
//     "jmp pa(have_size)" (the head running at its load address),
//     "call bzImage+0x1f0" inside the bzImage's own code;
//   - an immediate or an absolute memory operand is named only when it
//     points into an allocated section or is the load alias of such a
//     place (Operand): "mov $pa(lguest_data),%ebx", while $0x4 stays a
//     number even if some absolute symbol equals 4;
//   - the bzImage's own code (its decompressor) gets no kernel names at
//     all: it is other code, whatever numbers it holds.
//
// Intel syntax has no "$" before a named immediate.
func (t *Table) Instruction(inst x86asm.Inst, pc uint32, syntax string) string {
	targets := map[uint32]bool{}
	for _, a := range inst.Args {
		if r, ok := a.(x86asm.Rel); ok {
			targets[pc+uint32(inst.Len)+uint32(r)] = true
		}
	}
	inImage := false
	if n, ok := t.Code(pc); ok && n.Image {
		inImage = true
	}
	// An immediate loaded into %esp is the top of a stack: the end of the
	// object below it (init_thread_union+0x2000), not the unrelated one
	// that happens to start there (gdt_page).
	stackLoad := inst.Op == x86asm.MOV && inst.Args[0] == x86asm.ESP
	var named []string
	// x86asm hands 32-bit values sign-extended to 64 bits and prints
	// value-base as a decimal suffix; returning base == value keeps our own
	// "+0x10" and gives no suffix.
	lookup := func(v uint64) (string, uint64) {
		a := uint32(v)
		var s string
		if targets[a] {
			n, ok := t.Code(a)
			switch {
			case !ok || (inImage && !n.Image):
				return "", 0
			case n.Load:
				s = "pa(" + n.Base() + ")"
			default:
				s = n.Base()
			}
		} else {
			if inImage {
				return "", 0
			}
			var ok bool
			if stackLoad {
				s, ok = t.StackTop(a)
			}
			if !ok {
				if s, ok = t.Operand(a); !ok {
					return "", 0
				}
			}
		}
		named = append(named, s)
		return s, v
	}
	if syntax == "intel" {
		text := x86asm.IntelSyntax(inst, uint64(pc), lookup)
		for _, s := range named {
			text = strings.ReplaceAll(text, "$"+s, s)
		}
		return text
	}
	return x86asm.GNUSyntax(inst, uint64(pc), lookup)
}

// Disassemble decodes code at pc, one instruction per line as
// "addr: text", for listings and golden tests. Undecodable bytes become
// ".byte".
func (t *Table) Disassemble(code []byte, pc uint32, syntax string) string {
	var b strings.Builder
	for len(code) > 0 {
		inst, err := x86asm.Decode(code, 32)
		n := inst.Len
		text := ""
		if err != nil || n == 0 {
			n, text = 1, fmt.Sprintf(".byte %#02x", code[0])
		} else {
			text = t.Instruction(inst, pc, syntax)
		}
		label := ""
		if nm, ok := t.Code(pc); ok && nm.Off == 0 {
			label = " <" + nm.String() + ">"
		}
		fmt.Fprintf(&b, "%08x%s: %s\n", pc, label, text)
		code = code[n:]
		pc += uint32(n)
	}
	return b.String()
}
