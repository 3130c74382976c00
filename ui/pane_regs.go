package ui

import (
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
)

// Pane 1, Registers.

// regsWidth is the registers pane's inner width: four "eax 00000000"
// columns.
const regsWidth = 51

// renderRegs shows the registers, marking in red what differs from prev
// (the registers at the previous stop, so a step shows what it changed).
func renderRegs(cur, prev hv.Regs, havePrev bool) string {
	var sb strings.Builder
	hex := func(name string, v, old uint32, digits int) {
		tag := ""
		if havePrev && v != old {
			tag = tagChanged
		}
		fmt.Fprintf(&sb, "%s %s%0*x%s", name, tag, digits, v, endTag(tag))
	}
	for row := 0; row < 2; row++ {
		for col := 0; col < 4; col++ {
			i := row*4 + col
			if col > 0 {
				sb.WriteByte(' ')
			}
			hex(regNames[i], cur.GPR[i], prev.GPR[i], 8)
		}
		sb.WriteByte('\n')
	}
	hex("eip", cur.EIP, prev.EIP, 8)
	sb.WriteByte(' ')
	hex("eflags", cur.EFLAGS, prev.EFLAGS, 8)
	fmt.Fprintf(&sb, " cpl %d ", cur.CPL)
	hex("cr2", cur.CR2, prev.CR2, 8)
	sb.WriteByte('\n')
	sb.WriteString(renderFlags(cur.EFLAGS, prev.EFLAGS, havePrev))
	sb.WriteByte('\n')
	for i, n := range segNames {
		if i > 0 {
			sb.WriteByte(' ')
		}
		hex(n, uint32(cur.Seg[i].Sel), uint32(prev.Seg[i].Sel), 4)
	}
	sb.WriteByte('\n')
	hex("cr3", cur.CR3, prev.CR3, 8)
	sb.WriteString(" ")
	hex("shadow cr3", cur.ShadowCR3, prev.ShadowCR3, 8)
	return sb.String()
}

var segNames = [...]string{"es", "cs", "ss", "ds", "fs", "gs"}

var flagBits = []struct {
	name string
	bit  uint32
}{
	{"CF", cpu.FlagCF}, {"PF", cpu.FlagPF}, {"AF", cpu.FlagAF}, {"ZF", cpu.FlagZF},
	{"SF", cpu.FlagSF}, {"TF", cpu.FlagTF}, {"IF", cpu.FlagIF}, {"DF", cpu.FlagDF},
	{"OF", cpu.FlagOF}, {"NT", cpu.FlagNT}, {"RF", cpu.FlagRF}, {"AC", cpu.FlagAC},
}

// renderFlags lists every flag: set ones bright, clear ones dim and in
// lower case, and the ones that changed in red either way.
func renderFlags(cur, prev uint32, havePrev bool) string {
	var parts []string
	for _, f := range flagBits {
		set := cur&f.bit != 0
		name := f.name
		if !set {
			name = strings.ToLower(name)
		}
		switch {
		case havePrev && (cur^prev)&f.bit != 0:
			name = tagChanged + name + tagOff
		case !set:
			name = tagDim + name + tagOff
		}
		parts = append(parts, name)
	}
	iopl := (cur & cpu.FlagIOPL) >> 12
	return strings.Join(parts, " ") + fmt.Sprintf(" iopl %d", iopl)
}
