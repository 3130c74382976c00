package cpu

// Interrupt delivery, IRET and far transfers (spec §5.6 "Software-CPU
// model"; SDM Vol.2 INT n / IRET / CALL / JMP / RET, protected mode,
// without task gates, call gates or ring 0).

// softInt is INT n / INT3 / INTO / INT1: the gate DPL check for software
// interrupts (gate DPL < CPL -> #GP(v*8+2)), then delivery through a direct
// gate or an exit to the Host with EIP after the instruction.
func (c *CPU) softInt(vec int, checkDPL bool) {
	g := &c.idt[vec]
	if checkDPL && g.DPL < c.cpl {
		c.raise(VecGP, uint32(vec*8+2), true)
	}
	if !g.Direct {
		// The Host's gate (a hypercall's int $0x1f, above all): the
		// instruction retires and the run exits after it, through
		// c.pending rather than a fault's panic, whose unwinding was a
		// third of a hypercall's round trip. softInt only runs in
		// the run loop's exec, which checks c.pending after it.
		c.exitDue = Exit{Reason: ExitTrap, Vector: vec}
		c.pending |= pendExit
		return
	}
	c.deliverDirect(vec, 0, false)
	// the gate cleared TF: no single-step trap after a software interrupt
	c.noStepTrap = true
}

// deliverDirect vectors through a live gate the Host copied from the Guest:
// from CPL 3 it switches to the TSS ring-1 stack and pushes SS, ESP; then
// EFLAGS, CS, EIP and the error code; it clears TF/NT/RF/VM, and IF for
// interrupt gates. c.eip is the return address. Everything is undone if a
// push faults (the snapshot), and that fault is raised instead.
func (c *CPU) deliverDirect(vec int, errc uint32, hasErr bool) {
	c.save()
	g := c.idt[vec]
	sel := g.Sel
	if sel&^3 == 0 {
		c.raise(VecGP, 0, true)
	}
	cs := decodeDesc(sel, c.fetchDesc(sel, VecGP))
	e := uint32(sel & 0xFFFC)
	if cs.Access&accS == 0 || cs.Access&accCode == 0 || cs.dpl() > c.cpl {
		c.raise(VecGP, e, true)
	}
	if cs.Access&accP == 0 {
		c.raise(VecNP, e, true)
	}
	newCPL := cs.dpl()
	if cs.Access&accEC != 0 {
		newCPL = c.cpl
	}
	flags := c.getFlags()
	oldCS := uint32(c.seg[CS].Sel)
	retEIP := c.eip
	if newCPL < c.cpl {
		if newCPL != 1 {
			// Only ring 1 has a TSS stack the Host maintains.
			c.raise(VecGP, e, true)
		}
		oldSS, oldESP := uint32(c.seg[SS].Sel), c.r[ESP]
		ssSel := c.ss1
		var ss Segment
		if f := c.try(func() { ss = c.loadSegChecked(SS, ssSel, newCPL) }); f != nil {
			c.raise(VecTS, uint32(ssSel&0xFFFC), true)
		}
		c.setCPL(newCPL)
		c.setSegCache(SS, ss)
		c.r[ESP] = c.esp1
		c.push32(oldSS)
		c.push32(oldESP)
	}
	c.push32(flags)
	c.push32(oldCS)
	c.push32(retEIP)
	if hasErr {
		c.push32(errc)
	}
	cs.Sel = sel&^3 | uint16(newCPL)
	c.setSegCache(CS, cs)
	c.setCPL(newCPL)
	c.eip = g.Offset
	c.commitFlags()
	c.flags &^= FlagTF | FlagNT | FlagRF | FlagVM
	if g.Type == 0xE {
		c.flags &^= FlagIF
	}
	c.snapValid = false
}

// iretFlags applies a popped EFLAGS image with the privilege rules: IOPL
// only at CPL 0, IF only when CPL <= IOPL, VM never (no V86 here).
func (c *CPU) iretFlags(v uint32, size uint8, cpl int) {
	mask := uint32(FlagCF | FlagPF | FlagAF | FlagZF | FlagSF | FlagTF | FlagDF | FlagOF | FlagNT | FlagRF | FlagAC | FlagID)
	if cpl == 0 {
		mask |= FlagIOPL
	}
	if cpl <= int(c.flags>>12&3) {
		mask |= FlagIF
	}
	if size == 2 {
		mask &= 0xFFFF
	}
	c.commitFlags()
	c.flags = c.flags&^mask | v&mask | 2
}

func (c *CPU) iret(in *insn) {
	if c.flags&FlagNT != 0 {
		// A nested-task return needs the TSS back link, which is 0 in the
		// Host's TSS: #TS(0).
		c.raise(VecTS, 0, true)
	}
	c.save()
	size := in.size
	sz := uint32(size)
	eip := c.peek(0, size)
	sel := uint16(c.peek(sz, size))
	fl := c.peek(2*sz, size)
	rpl := int(sel & 3)
	if rpl < c.cpl {
		c.raise(VecGP, uint32(sel&0xFFFC), true)
	}
	cs := c.loadSegChecked(CS, sel, rpl)
	if eip > cs.Limit {
		c.raise(VecGP, 0, true)
	}
	oldCPL := c.cpl
	if rpl > c.cpl {
		esp := c.peek(3*sz, size)
		ssSel := uint16(c.peek(4*sz, size))
		ss := c.loadSegChecked(SS, ssSel, rpl)
		c.iretFlags(fl, size, oldCPL)
		c.setSegCache(CS, cs)
		c.setCPL(rpl)
		c.setSegCache(SS, ss)
		c.r[ESP] = esp
		c.nullInvalidSegs()
	} else {
		c.iretFlags(fl, size, oldCPL)
		c.setSegCache(CS, cs)
		c.r[ESP] += 3 * sz
	}
	c.eip = eip
	c.snapValid = false
}

// farTarget checks a far JMP/CALL target: only code segments (call gates
// and task gates are not supported and raise #GP(sel)), conforming with
// DPL <= CPL, non-conforming with RPL <= CPL and DPL == CPL.
func (c *CPU) farTarget(sel uint16, off uint32) Segment {
	if sel&^3 == 0 {
		c.raise(VecGP, 0, true)
	}
	seg := decodeDesc(sel, c.fetchDesc(sel, VecGP))
	e := uint32(sel & 0xFFFC)
	if seg.Access&accS == 0 || seg.Access&accCode == 0 {
		c.raise(VecGP, e, true)
	}
	if seg.Access&accEC != 0 {
		if seg.dpl() > c.cpl {
			c.raise(VecGP, e, true)
		}
	} else if int(sel&3) > c.cpl || seg.dpl() != c.cpl {
		c.raise(VecGP, e, true)
	}
	if seg.Access&accP == 0 {
		c.raise(VecNP, e, true)
	}
	if off > seg.Limit {
		c.raise(VecGP, 0, true)
	}
	seg.Sel = sel&^3 | uint16(c.cpl)
	return seg
}

func (c *CPU) farJump(sel uint16, off uint32, size uint8) {
	if size == 2 {
		off &= 0xFFFF
	}
	seg := c.farTarget(sel, off)
	c.setSegCache(CS, seg)
	c.eip = off
}

func (c *CPU) farCall(sel uint16, off uint32, size uint8) {
	if size == 2 {
		off &= 0xFFFF
	}
	seg := c.farTarget(sel, off)
	c.save()
	c.pushN(uint32(c.seg[CS].Sel), size)
	c.pushN(c.eip, size)
	c.setSegCache(CS, seg)
	c.eip = off
	c.snapValid = false
}

func (c *CPU) farRet(in *insn) {
	c.save()
	size := in.size
	sz := uint32(size)
	imm := uint32(0)
	if in.op == 0xCA {
		imm = in.imm & 0xFFFF
	}
	eip := c.peek(0, size)
	sel := uint16(c.peek(sz, size))
	rpl := int(sel & 3)
	if rpl < c.cpl {
		c.raise(VecGP, uint32(sel&0xFFFC), true)
	}
	cs := c.loadSegChecked(CS, sel, rpl)
	if eip > cs.Limit {
		c.raise(VecGP, 0, true)
	}
	if rpl > c.cpl {
		esp := c.peek(2*sz+imm, size)
		ssSel := uint16(c.peek(3*sz+imm, size))
		ss := c.loadSegChecked(SS, ssSel, rpl)
		c.setSegCache(CS, cs)
		c.setCPL(rpl)
		c.setSegCache(SS, ss)
		c.r[ESP] = esp + imm
		c.nullInvalidSegs()
	} else {
		c.setSegCache(CS, cs)
		c.r[ESP] += 2*sz + imm
	}
	c.eip = eip
	c.snapValid = false
}

// loadFarPtr is LES/LDS/LSS/LFS/LGS r, m16:16/32.
func (c *CPU) loadFarPtr(in *insn) {
	var s SReg
	switch in.op {
	case 0xC4:
		s = ES
	case 0xC5:
		s = DS
	case 0x1B2:
		s = SS
	case 0x1B4:
		s = FS
	default:
		s = GS
	}
	off := c.ea(in)
	v := c.readN(c.linR(in.seg, off, uint32(in.size)), in.size)
	sel := c.read16(c.linR(in.seg, off+uint32(in.size), 2))
	c.writeSeg(s, sel)
	c.setReg(in.reg, in.size, v)
}
