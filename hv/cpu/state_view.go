package cpu

// What a debugger sees of the CPU's control and FPU state. The Guest never
// reads CR0 or CR4 itself (lguest's paravirt ops answer from Guest-side
// copies, spec §10.2); these are the values this CPU actually runs with,
// which the Host set up, so a developer can see why an instruction faulted.

// Control-register bits this CPU models.
const (
	CR0PE = 1 << 0
	CR0MP = 1 << 1 // WAIT honours TS (see fwait)
	CR0TS = 1 << 3
	CR0ET = 1 << 4
	CR0NE = 1 << 5
	CR0WP = 1 << 16 // supervisor writes honour R/W (the MMU always checks)
	CR0PG = 1 << 31

	CR4PSE    = 1 << 4 // 4 MiB pages in 2-level tables
	CR4PAE    = 1 << 5
	CR4PGE    = 1 << 7 // global pages survive a CR3 flush
	CR4OSFXSR = 1 << 9 // FXSAVE/FXRSTOR and SSE are usable
)

// CR0 is the control register 0 the CPU runs with: protected mode, WP and
// NE always (the Host's), PG with paging, TS while the Guest asked for it.
func (c *CPU) CR0() uint32 {
	v := uint32(CR0PE | CR0MP | CR0ET | CR0NE | CR0WP)
	if c.paging {
		v |= CR0PG
	}
	if c.ts {
		v |= CR0TS
	}
	return v
}

// CR4 is the control register 4 the CPU runs with.
func (c *CPU) CR4() uint32 {
	v := uint32(CR4PSE | CR4PGE | CR4OSFXSR)
	if c.pae {
		v |= CR4PAE
	}
	return v
}

// FPU is the x87/MMX/SSE register file as gdb's i387 and SSE features name
// it: ST[i] is ST(i), counted from the top of the stack, in the raw 80-bit
// little-endian form; FTW is the full 2-bit-per-register tag word.
type FPU struct {
	FCW, FSW, FTW, FOP uint16
	FCS, FDS           uint16
	FIP, FDP           uint32
	ST                 [8][10]byte
	MXCSR              uint32
	XMM                [8][16]byte
}

// FPU copies out the FPU state.
func (c *CPU) FPU() FPU {
	f := &c.fpu
	out := FPU{FCW: f.fcw, FSW: f.fsw, FTW: f.ftw, FOP: f.fop, FCS: f.fcs, FDS: f.fds,
		FIP: f.fip, FDP: f.fdp, MXCSR: f.mxcsr, XMM: f.xmm}
	top := int(f.fsw >> 11 & 7)
	for i := range out.ST {
		out.ST[i] = f.st[(top+i)&7]
	}
	return out
}

// SetFPU replaces the FPU state (a debugger's register write). MXCSR keeps
// its reserved bits clear, as FXRSTOR would insist.
func (c *CPU) SetFPU(v FPU) {
	f := &c.fpu
	f.fcw, f.fsw, f.ftw, f.fop, f.fcs, f.fds = v.FCW, v.FSW, v.FTW, v.FOP, v.FCS, v.FDS
	f.fip, f.fdp, f.xmm = v.FIP, v.FDP, v.XMM
	f.mxcsr = v.MXCSR & mxcsrMask
	top := int(f.fsw >> 11 & 7)
	for i := range v.ST {
		f.st[(top+i)&7] = v.ST[i]
	}
}
