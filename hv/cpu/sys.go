package cpu

// System instructions that are unprivileged on this CPU (no UMIP): SGDT,
// SIDT, SMSW, STR, SLDT, VERR/VERW, LAR/LSL. The privileged ones raise
// #GP(0) at CPL > 0 (see privileged).

// cr0 is what SMSW reports: PE MP ET NE WP PG, plus TS (spec §5.9). AM is
// clear: alignment checking is not implemented.
func (c *CPU) cr0() uint32 {
	v := uint32(0x80010033)
	if c.ts {
		v |= 8
	}
	return v
}

// storeSel writes a selector-sized result of SLDT/STR/SMSW: 16 bits to
// memory, zero-extended to the operand size in a register.
func (c *CPU) storeSel(in *insn, v uint32) {
	if in.mem {
		c.write16(c.linW(in.seg, c.ea(in), 2), uint16(v))
		return
	}
	c.setReg(in.rm, in.size, v)
}

func (c *CPU) group6(in *insn) {
	switch in.reg {
	case 0: // SLDT: no LDT
		c.storeSel(in, 0)
	case 1: // STR: the guest TSS is GDT entry 16 (spec §6)
		c.storeSel(in, 0x80)
	case 2, 3: // LLDT, LTR
		c.privileged(in)
	case 4, 5: // VERR, VERW
		sel := uint16(c.getRMs(in, 2))
		ok := false
		if seg, good := c.descFor(sel); good && seg.Access&accS != 0 {
			code := seg.Access&accCode != 0
			if in.reg == 4 {
				ok = !code || seg.Access&accRW != 0
			} else {
				ok = !code && seg.Access&accRW != 0
			}
			if !(code && seg.Access&accEC != 0) && (seg.dpl() < c.cpl || seg.dpl() < int(sel&3)) {
				ok = false
			}
		}
		c.setFlagBits(FlagZF, b2u(ok)<<6)
	}
}

// descFor returns the descriptor for sel without faulting.
func (c *CPU) descFor(sel uint16) (Segment, bool) {
	if sel&^3 == 0 || sel&4 != 0 || int(sel>>3) >= len(c.gdt) {
		return Segment{}, false
	}
	return decodeDesc(sel, c.gdt[sel>>3]), true
}

func (c *CPU) group7(in *insn) {
	switch in.reg {
	case 0, 1: // SGDT, SIDT
		lim, base := uint16(0xFF), c.gdtBase
		if in.reg == 1 {
			lim, base = 0x7FF, c.idtBase
		}
		off := c.ea(in)
		lin := c.linW(in.seg, off, 6)
		c.probeW(lin, 6)
		c.write16(lin, lim)
		c.write32(c.linW(in.seg, off+2, 4), base)
	case 4: // SMSW
		c.storeSel(in, c.cr0()&0xFFFF)
		if !in.mem && in.size == 4 {
			c.r[in.rm] = c.cr0()
		}
	default: // LGDT LIDT LMSW INVLPG
		c.privileged(in)
	}
}

// larLsl is LAR/LSL for code and data descriptors and TSS/LDT system
// descriptors; anything else clears ZF.
func (c *CPU) larLsl(in *insn) {
	sel := uint16(c.getRMs(in, 2))
	seg, ok := c.descFor(sel)
	if ok {
		if seg.Access&accS == 0 {
			switch seg.Access & 0xF {
			case 1, 2, 3, 9, 11:
			default:
				ok = false
			}
		}
		conforming := seg.Access&accS != 0 && seg.Access&accCode != 0 && seg.Access&accEC != 0
		if !conforming && (seg.dpl() < c.cpl || seg.dpl() < int(sel&3)) {
			ok = false
		}
	}
	if !ok {
		c.setFlagBits(FlagZF, 0)
		return
	}
	var v uint32
	if in.op == 0x102 {
		hi := uint32(c.gdt[sel>>3] >> 32)
		v = hi & 0x00F0FF00
	} else {
		v = seg.Limit
	}
	c.setReg(in.reg, in.size, v)
	c.setFlagBits(FlagZF, FlagZF)
}

func (c *CPU) group15(in *insn) {
	if !in.mem {
		return // LFENCE, MFENCE, SFENCE: one CPU, nothing to order
	}
	c.fpuCheck()
	lin := c.linW(in.seg, c.ea(in), 4)
	switch in.reg {
	case 0:
		c.fxsave(in)
	case 1:
		c.fxrstor(in)
	case 2: // LDMXCSR
		v := c.read32(c.linR(in.seg, c.ea(in), 4))
		if v&^mxcsrMask != 0 {
			c.raise(VecGP, 0, true)
		}
		c.fpu.mxcsr = v
	case 3: // STMXCSR
		c.write32(lin, c.fpu.mxcsr)
	}
}
