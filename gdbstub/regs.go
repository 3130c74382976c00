package gdbstub

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
)

// gdb's i386 register numbering (gdb/i386-tdep.h, and the order of
// org.gnu.gdb.i386.core in target.xml): the 16 registers of a 'g' packet.
var regNames = [...]string{
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
	"eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
}

const (
	numGRegs = len(regNames)
	regEIP   = 8
	regFirst = 10 // cs: the segment registers follow eip and eflags
	// The x87 registers gdb's i386 core feature also declares (see
	// target.xml): st0-st7 are 10 bytes, fctrl..fop 4 bytes each. The
	// Machine does not expose the FPU, so 'p' reports them unavailable.
	numX87 = 16
)

// gdbSegOrder maps gdb's cs ss ds es fs gs to the CPU's SReg numbering.
var gdbSegOrder = [...]cpu.SReg{cpu.CS, cpu.SS, cpu.DS, cpu.ES, cpu.FS, cpu.GS}

// regValues flattens a snapshot into gdb's order.
func regValues(r hv.Regs) [numGRegs]uint32 {
	var v [numGRegs]uint32
	copy(v[:8], r.GPR[:])
	v[8], v[9] = r.EIP, r.EFLAGS
	for i, s := range gdbSegOrder {
		v[regFirst+i] = uint32(r.Seg[s].Sel)
	}
	return v
}

// x87Size is the byte size of x87 register n (16 <= n < 32).
func x87Size(n int) int {
	if n < numGRegs+8 {
		return 10
	}
	return 4
}

// setReg writes register n. The Machine can write the general registers,
// eip and eflags; the segment registers belong to the Host's GDT handling
// (spec §6: the Guest loads them itself, and the Switcher reloads them), so
// a write that would change one is refused rather than silently dropped.
func setReg(m *hv.Machine, cur [numGRegs]uint32, n int, v uint32) error {
	switch {
	case n < 0 || n >= numGRegs:
		return fmt.Errorf("register %d cannot be written", n)
	case n >= regFirst:
		if v != cur[n] {
			return fmt.Errorf("segment register %s cannot be written (%#x -> %#x)", regNames[n], cur[n], v)
		}
		return nil
	}
	return m.SetReg(regNames[n], v)
}
