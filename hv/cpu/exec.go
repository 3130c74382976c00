package cpu

import "math/bits"

// exec runs one decoded instruction. On entry c.eip already points after it;
// a fault restores EIP to the instruction (faults restart, see locate), so a
// handler must not change c.eip before its last possible fault.
func (c *CPU) exec(in *insn) {
	switch in.op {
	// ---- specialised fast forms (see specialise) ----
	case opMovRR32:
		c.r[in.rm] = c.r[in.reg]
	case opMovLoad32:
		c.r[in.reg] = c.read32(c.linR(in.seg, c.ea32(in), 4))
	case opMovStore32:
		c.write32(c.linW(in.seg, c.ea32(in), 4), c.r[in.reg])
	case opMovzx8Load:
		c.r[in.reg] = uint32(c.read8(c.linR(in.seg, c.ea32(in), 1)))
	case opAluRR32:
		// reg form of 01/03/09/0B/...: rm is the destination
		v := c.aluOp(in.reg>>3, c.r[in.rm], c.r[in.reg&7], 4)
		if in.reg>>3 != 7 {
			c.r[in.rm] = v
		}
	case opAluLoad32:
		a := c.read32(c.linR(in.seg, c.ea(in), 4))
		v := c.aluOp(uint8(in.imm2&7), c.r[in.reg], a, 4)
		if in.imm2&7 != 7 {
			c.r[in.reg] = v
		}
	case opAluRI32:
		v := c.aluOp(in.reg, c.r[in.rm], in.imm, 4)
		if in.reg != 7 {
			c.r[in.rm] = v
		}
	case opCmpRR32:
		a, b := c.r[in.rm], c.r[in.reg]
		c.setLazy(lfSub, 0, a-b, a, b)
	case opLeaFast:
		c.r[in.reg] = c.ea32(in)
	case opIncR32, opDecR32:
		l := &c.lazy
		if l.rop != 0 || l.op != lfNone && l.op != lfInc && l.op != lfDec {
			c.flags = c.flags&^FlagCF | c.cf()
		}
		a := c.r[in.reg]
		if in.op == opIncR32 {
			c.setLazy(lfInc, 0, a+1, a, 1)
			c.r[in.reg] = a + 1
		} else {
			c.setLazy(lfDec, 0, a-1, a, 1)
			c.r[in.reg] = a - 1
		}
	case opAddRI32:
		a := c.r[in.rm]
		r := a + in.imm
		c.setLazy(lfAdd, 0, r, a, in.imm)
		c.r[in.rm] = r
	case opSubRI32:
		a := c.r[in.rm]
		r := a - in.imm
		c.setLazy(lfSub, 0, r, a, in.imm)
		if in.reg != 7 {
			c.r[in.rm] = r
		}
	case opXorRI32:
		r := c.r[in.rm] ^ in.imm
		c.setLazy(lfLogic, 0, r, 0, 0)
		c.r[in.rm] = r
	case opRolRI32:
		r := bits.RotateLeft32(c.r[in.rm], int(in.imm))
		c.setRot(lfRol, 0, r)
		c.r[in.rm] = r
	case opRorRI32:
		r := bits.RotateLeft32(c.r[in.rm], -int(in.imm))
		c.setRot(lfRor, 0, r)
		c.r[in.rm] = r
	case opAndRI32:
		r := c.r[in.rm] & in.imm
		c.setLazy(lfLogic, 0, r, 0, 0)
		c.r[in.rm] = r
	case opAddRR32:
		a, b := c.r[in.rm], c.r[in.reg]
		c.setLazy(lfAdd, 0, a+b, a, b)
		c.r[in.rm] = a + b
	case opSubRR32:
		a, b := c.r[in.rm], c.r[in.reg]
		c.setLazy(lfSub, 0, a-b, a, b)
		c.r[in.rm] = a - b
	case opOrRR32:
		r := c.r[in.rm] | c.r[in.reg]
		c.setLazy(lfLogic, 0, r, 0, 0)
		c.r[in.rm] = r
	case opAndRR32:
		r := c.r[in.rm] & c.r[in.reg]
		c.setLazy(lfLogic, 0, r, 0, 0)
		c.r[in.rm] = r
	case opXorRR32:
		r := c.r[in.rm] ^ c.r[in.reg]
		c.setLazy(lfLogic, 0, r, 0, 0)
		c.r[in.rm] = r
	case opTestRR32:
		c.setLazy(lfLogic, 0, c.r[in.rm]&c.r[in.reg], 0, 0)
	case opShlRI32:
		a := c.r[in.rm]
		c.setLazy(lfShl, 0, a<<in.imm, a, in.imm)
		c.r[in.rm] = a << in.imm
	case opShrRI32:
		a := c.r[in.rm]
		c.setLazy(lfShr, 0, a>>in.imm, a, in.imm)
		c.r[in.rm] = a >> in.imm
	case opSarRI32:
		a := c.r[in.rm]
		r := uint32(int32(a) >> in.imm)
		c.setLazy(lfSar, 0, r, a, in.imm)
		c.r[in.rm] = r
	case opMovRI32:
		c.r[in.reg] = in.imm
	case opPushR32:
		c.push32(c.r[in.reg])
	case opPopR32:
		v := c.peek(0, 4)
		c.r[ESP] += 4
		c.r[in.reg] = v
	case opJccFast, opJzFast:
		if c.condFast(in.reg) {
			c.jumpTo(c.eip + in.imm)
		}
	case opMovzx8RR:
		c.r[in.reg] = c.get8(in.rm)
	case opMovzx16RR:
		c.r[in.reg] = c.r[in.rm] & 0xFFFF
	case opMovzx16Load:
		c.r[in.reg] = uint32(c.read16(c.linR(in.seg, c.ea32(in), 2)))
	case opAlu8RR:
		c.alu8RR(in)
	case opShlRCL32, opShrRCL32, opSarRCL32:
		c.shiftCL32(in)
	case opJmpRel:
		c.jumpTo(c.eip + in.imm)
	case opMovLoad8:
		c.set8(in.reg, uint32(c.read8(c.linR(in.seg, c.ea32(in), 1))))
	case opMovStore8:
		c.write8(c.linW(in.seg, c.ea32(in), 1), uint8(c.get8(in.reg)))
	case opMovsB:
		c.movsB(in)
	case opTestRI32:
		c.setLazy(lfLogic, 0, c.r[in.rm]&in.imm, 0, 0)
	case opSetccR8:
		c.set8(in.rm, b2u(c.condFast(uint8(in.imm2))))
	case opCmovRR32:
		if c.condFast(uint8(in.imm2)) {
			c.r[in.reg] = c.r[in.rm]
		}
	case opBtRR32:
		c.setFlagBits(FlagCF, c.r[in.rm]>>(c.r[in.reg]&31)&1)
	case opBtRI32:
		c.setFlagBits(FlagCF, c.r[in.rm]>>in.imm&1)

	// ---- ALU 00..3F ----
	case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x38, 0x39:
		op := uint8(in.op >> 3)
		src := c.getReg(in.reg, in.size)
		if !in.mem {
			v := c.aluOp(op, c.getReg(in.rm, in.size), src, in.size)
			if op != 7 {
				c.setReg(in.rm, in.size, v)
			}
			return
		}
		if op == 7 {
			c.aluOp(op, c.getRM(in), src, in.size)
			return
		}
		lin := c.rmwLin(in, in.size)
		v := c.aluOp(op, c.readN(lin, in.size), src, in.size)
		c.writeN(lin, in.size, v)
	case 0x02, 0x03, 0x0A, 0x0B, 0x12, 0x13, 0x1A, 0x1B, 0x22, 0x23, 0x2A, 0x2B, 0x32, 0x33, 0x3A, 0x3B:
		op := uint8(in.op >> 3)
		v := c.aluOp(op, c.getReg(in.reg, in.size), c.getRM(in), in.size)
		if op != 7 {
			c.setReg(in.reg, in.size, v)
		}
	case 0x04, 0x05, 0x0C, 0x0D, 0x14, 0x15, 0x1C, 0x1D, 0x24, 0x25, 0x2C, 0x2D, 0x34, 0x35, 0x3C, 0x3D:
		op := uint8(in.op >> 3)
		v := c.aluOp(op, c.getReg(0, in.size), in.imm, in.size)
		if op != 7 {
			c.setReg(0, in.size, v)
		}
	case 0x06, 0x0E, 0x16, 0x1E:
		c.pushN(uint32(c.seg[in.op>>3].Sel), in.size)
	case 0x1A0, 0x1A8:
		c.pushN(uint32(c.seg[FS+SReg(in.op>>3&1)].Sel), in.size)
	case 0x07, 0x17, 0x1F, 0x1A1, 0x1A9:
		s := SReg(in.op >> 3)
		if in.op >= 0x100 {
			s = FS + SReg(in.op>>3&1)
		}
		sel := c.peek(0, in.size)
		c.writeSeg(s, uint16(sel))
		c.r[ESP] += uint32(in.size)
	case 0x27, 0x2F, 0x37, 0x3F, 0xD4, 0xD5:
		c.bcd(in)

	case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47:
		r := uint8(in.op & 7)
		c.setReg(r, in.size, c.incDec(c.getReg(r, in.size), in.size, false))
	case 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F:
		r := uint8(in.op & 7)
		c.setReg(r, in.size, c.incDec(c.getReg(r, in.size), in.size, true))
	case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57:
		c.pushN(c.getReg(uint8(in.op&7), in.size), in.size)
	case 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F:
		v := c.peek(0, in.size)
		c.r[ESP] += uint32(in.size)
		c.setReg(uint8(in.op&7), in.size, v)
	case opcPusha:
		c.pusha(in)
	case opcPopa:
		c.popa(in)
	case opcBound:
		c.bound(in)
	case opcArpl:
		c.arpl(in)
	case 0x68, 0x6A:
		c.pushN(in.imm, in.size)
	case 0x69, 0x6B, 0x1AF:
		c.imul2(in)
	case 0x6C, 0x6D, 0x6E, 0x6F, 0xE4, 0xE5, 0xE6, 0xE7, 0xEC, 0xED, 0xEE, 0xEF:
		c.ioInsn(in)
	case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F:
		if c.cond(uint8(in.op & 0xF)) {
			c.jumpRel(in)
		}
	case 0x180, 0x181, 0x182, 0x183, 0x184, 0x185, 0x186, 0x187, 0x188, 0x189, 0x18A, 0x18B, 0x18C, 0x18D, 0x18E, 0x18F:
		if c.cond(uint8(in.op & 0xF)) {
			c.jumpRel(in)
		}
	case 0x80, 0x81, 0x82, 0x83:
		size := in.size
		imm := in.imm
		if !in.mem {
			v := c.aluOp(in.reg, c.getReg(in.rm, size), imm, size)
			if in.reg != 7 {
				c.setReg(in.rm, size, v)
			}
			return
		}
		if in.reg == 7 {
			c.aluOp(7, c.getRM(in), imm, size)
			return
		}
		lin := c.rmwLin(in, size)
		c.writeN(lin, size, c.aluOp(in.reg, c.readN(lin, size), imm, size))
	case 0x84, 0x85:
		c.aluOp(4, c.getRM(in), c.getReg(in.reg, in.size), in.size)
	case 0xA8, 0xA9:
		c.aluOp(4, c.getReg(0, in.size), in.imm, in.size)
	case 0x86, 0x87:
		if !in.mem {
			a, b := c.getReg(in.reg, in.size), c.getReg(in.rm, in.size)
			c.setReg(in.rm, in.size, a)
			c.setReg(in.reg, in.size, b)
			return
		}
		lin := c.rmwLin(in, in.size)
		old := c.readN(lin, in.size)
		c.writeN(lin, in.size, c.getReg(in.reg, in.size))
		c.setReg(in.reg, in.size, old)
	case 0x88, 0x89:
		c.setRM(in, c.getReg(in.reg, in.size))
	case 0x8A, 0x8B:
		c.setReg(in.reg, in.size, c.getRM(in))
	case opcMovEwSw:
		sel := uint32(c.seg[in.reg].Sel)
		if in.mem {
			c.write16(c.linW(in.seg, c.ea(in), 2), uint16(sel))
		} else {
			c.setReg(in.rm, in.size, sel)
		}
	case opcLea:
		v := c.ea(in)
		c.setReg(in.reg, in.size, v)
	case opcMovSwEw:
		c.writeSeg(SReg(in.reg), uint16(c.getRMs(in, 2)))
	case opcPopEv:
		// POP r/m: the address is computed with ESP already incremented.
		v := c.peek(0, in.size)
		old := c.r[ESP]
		c.r[ESP] += uint32(in.size)
		if in.mem {
			lin := c.linW(in.seg, c.ea(in), uint32(in.size))
			c.r[ESP] = old
			c.writeN(lin, in.size, v)
			c.r[ESP] = old + uint32(in.size)
		} else {
			c.setReg(in.rm, in.size, v)
		}
	case opcNop:
		// NOP / PAUSE
	case 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97:
		r := uint8(in.op & 7)
		a, b := c.getReg(0, in.size), c.getReg(r, in.size)
		c.setReg(0, in.size, b)
		c.setReg(r, in.size, a)
	case opcCbw:
		if in.size == 2 {
			c.setReg(0, 2, uint32(int32(int8(c.r[EAX]))))
		} else {
			c.r[EAX] = uint32(int32(int16(c.r[EAX])))
		}
	case opcCwd:
		if in.size == 2 {
			c.setReg(regEDX, 2, uint32(int32(int16(c.r[EAX]))>>16))
		} else {
			c.r[EDX] = uint32(int32(c.r[EAX]) >> 31)
		}
	case opcCallFar:
		c.farCall(uint16(in.imm2), in.imm, in.size)
	case opcFwait:
		c.fwait()
	case opcPushf:
		f := c.getFlags() &^ (FlagVM | FlagRF)
		c.pushN(f, in.size)
	case opcPopf:
		v := c.peek(0, in.size)
		c.popf(v, in.size)
		c.r[ESP] += uint32(in.size)
	case opcSahf:
		ah := c.r[EAX] >> 8 & 0xFF
		c.setFlagBits(FlagSF|FlagZF|FlagAF|FlagPF|FlagCF, ah)
	case opcLahf:
		f := c.getFlags()&(FlagSF|FlagZF|FlagAF|FlagPF|FlagCF) | 2
		c.r[EAX] = c.r[EAX]&^0xFF00 | f<<8
	case 0xA0, 0xA1:
		off := in.disp
		c.setReg(0, in.size, c.readN(c.linR(in.seg, off, uint32(in.size)), in.size))
	case 0xA2, 0xA3:
		c.writeN(c.linW(in.seg, in.disp, uint32(in.size)), in.size, c.getReg(0, in.size))
	case 0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF:
		c.stringOp(in)
	case 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7:
		c.setReg(uint8(in.op&7), 1, in.imm)
	case 0xB8, 0xB9, 0xBA, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF:
		c.setReg(uint8(in.op&7), in.size, in.imm)
	case 0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3:
		c.shiftGroup(in)
	case 0xC2, 0xC3:
		v := c.peek(0, in.size)
		if in.size == 2 {
			v &= 0xFFFF
		}
		if c.schkR[CS] {
			c.checkCSLimit(v)
		}
		c.r[ESP] += uint32(in.size)
		if in.op == 0xC2 {
			c.r[ESP] += in.imm & 0xFFFF
		}
		c.eip = v
	case 0xC4, 0xC5, 0x1B2, 0x1B4, 0x1B5:
		c.loadFarPtr(in)
	case 0xC6, 0xC7:
		c.setRM(in, in.imm)
	case opcEnter:
		c.enter(in)
	case opcLeave:
		v := c.readN(c.linR(uint8(SS), c.r[EBP], uint32(in.size)), in.size)
		if in.size == 2 {
			c.r[ESP] = c.r[EBP] + 2
			c.setReg(uint8(EBP), 2, v)
		} else {
			c.r[ESP] = c.r[EBP] + 4
			c.r[EBP] = v
		}
	case 0xCA, 0xCB:
		c.farRet(in)
	case opcInt3:
		c.softInt(VecBP, true)
	case opcIntIb:
		c.softInt(int(in.imm&0xFF), true)
	case opcInto:
		if c.of() {
			c.softInt(VecOF, true)
		}
	case opcIret:
		c.iret(in)
	case opcInt1:
		// INT1 (ICEBP): a trap through vector 1 without the DPL check.
		c.softInt(VecDB, false)
	case opcSalc:
		// SALC: AL = CF ? 0xFF : 0
		c.setReg(0, 1, -c.cf())
	case opcXlat:
		a := c.r[EBX] + c.r[EAX]&0xFF
		if in.a16 {
			a &= 0xFFFF
		}
		c.setReg(0, 1, uint32(c.read8(c.linR(in.seg, a, 1))))
	case 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF:
		c.x87(in)
	case 0xE0, 0xE1, 0xE2, 0xE3:
		c.loop(in)
	case opcCallRel:
		t := c.relTarget(in)
		if c.schkR[CS] {
			c.checkCSLimit(t)
		}
		c.pushN(c.eip, in.size)
		c.eip = t
	case 0xE9, 0xEB:
		c.jumpRel(in)
	case opcJmpFar:
		c.farJump(uint16(in.imm2), in.imm, in.size)
	case opcHlt:
		c.privileged(in)
	case opcCmc:
		c.setFlagBits(FlagCF, c.cf()^1)
	case 0xF6, 0xF7:
		c.group3(in)
	case opcClc:
		c.setFlagBits(FlagCF, 0)
	case opcStc:
		c.setFlagBits(FlagCF, FlagCF)
	case 0xFA, 0xFB:
		// CLI/STI: CPL > IOPL (always 0 here) -> #GP(0).
		if c.cpl > int(c.flags>>12&3) {
			c.raise(VecGP, 0, true)
		}
		c.privileged(in)
	case opcCld:
		c.flags &^= FlagDF
	case opcStd:
		c.flags |= FlagDF
	case opcGroup4:
		c.incDecRM(in, in.reg == 1)
	case opcGroup5:
		c.group5(in)

	// ---- two-byte opcodes ----
	case opcGroup6:
		c.group6(in)
	case opcGroup7:
		c.group7(in)
	case 0x102, 0x103:
		c.larLsl(in)
	case 0x105, 0x107:
		c.raise(VecUD, 0, false) // SYSCALL/SYSRET: not claimed by CPUID
	case 0x106, 0x108, 0x109, 0x120, 0x121, 0x122, 0x123, 0x130, 0x132:
		c.privileged(in)
	case 0x10D, 0x118, 0x119, 0x11A, 0x11B, 0x11C, 0x11D, 0x11E, 0x11F:
		// prefetch hints and the long NOP space
	case opcRdtsc:
		c.rdtsc()
	case opcRdpmc:
		c.raise(VecGP, 0, true) // RDPMC with CR4.PCE = 0
	case opcSysenter:
		c.raise(VecGP, 0, true) // SYSENTER with SYSENTER_CS = 0 (spec §9.2 step 7)
	case opcSysexit:
		c.raise(VecGP, 0, true) // SYSEXIT at CPL != 0
	case 0x140, 0x141, 0x142, 0x143, 0x144, 0x145, 0x146, 0x147, 0x148, 0x149, 0x14A, 0x14B, 0x14C, 0x14D, 0x14E, 0x14F:
		v := c.getRM(in) // the source is read (and may fault) even if not moved
		if c.cond(uint8(in.op & 0xF)) {
			c.setReg(in.reg, in.size, v)
		}
	case 0x190, 0x191, 0x192, 0x193, 0x194, 0x195, 0x196, 0x197, 0x198, 0x199, 0x19A, 0x19B, 0x19C, 0x19D, 0x19E, 0x19F:
		c.setRM(in, b2u(c.cond(uint8(in.op&0xF))))
	case opcCpuid:
		c.cpuid()
	case 0x1A3, 0x1AB, 0x1B3, 0x1BB, 0x1BA:
		c.bitTest(in)
	case 0x1A4, 0x1A5, 0x1AC, 0x1AD:
		c.shiftDouble(in)
	case opcGroup15:
		c.group15(in)
	case 0x1B0, 0x1B1:
		c.cmpxchg(in)
	case 0x1B6, 0x1B7, 0x1BE, 0x1BF:
		ss := uint8(1)
		if in.op&1 != 0 {
			ss = 2
		}
		v := c.getRMs(in, ss)
		if in.op >= 0x1BE {
			if ss == 1 {
				v = uint32(int32(int8(v)))
			} else {
				v = uint32(int32(int16(v)))
			}
		}
		c.setReg(in.reg, in.size, v)
	case 0x1BC, 0x1BD:
		c.bitScan(in)
	case 0x1C0, 0x1C1:
		c.xadd(in)
	case opcMovnti:
		// MOVNTI m32, r32 (SSE2): a plain store for us
		if !in.mem {
			c.raise(VecUD, 0, false)
		}
		c.write32(c.linW(in.seg, c.ea(in), 4), c.r[in.reg])
	case opcGroup9:
		c.cmpxchg8b(in)
	case 0x1C8, 0x1C9, 0x1CA, 0x1CB, 0x1CC, 0x1CD, 0x1CE, 0x1CF:
		r := uint8(in.op & 7)
		if in.size == 2 {
			c.setReg(r, 2, 0) // undefined in the SDM; real CPUs zero it
		} else {
			c.r[r] = bits.ReverseBytes32(c.r[r])
		}
	case opcEmms:
		c.fpuCheck()
		c.fpu.emms()
	case opUD:
		c.raise(VecUD, 0, false)
	case opGP0:
		c.raise(VecGP, 0, true)
	default:
		if isSIMD(in.op) {
			c.fpuCheck()
			if c.sse(in) {
				return
			}
		}
		c.unimpl(in)
	}
}

// regEDX is EDX as an operand-register number.
const regEDX = uint8(EDX)

// isSIMD reports the MMX/SSE opcode space: with CR0.TS these raise #NM
// before being reported as unimplemented.
func isSIMD(op uint16) bool {
	if op < 0x100 || op >= 0x200 {
		return false
	}
	b := op & 0xFF
	return (b >= 0x10 && b <= 0x17) || (b >= 0x28 && b <= 0x2F) || (b >= 0x50 && b <= 0x7F) ||
		(b >= 0xC2 && b <= 0xC6) || b >= 0xD0
}

func (c *CPU) jumpRel(in *insn) {
	c.jumpTo(c.relTarget(in))
}

func (c *CPU) relTarget(in *insn) uint32 {
	t := c.eip + in.imm
	if in.size == 2 {
		t &= 0xFFFF
	}
	return t
}

// jumpTo is a near transfer: the target must lie inside the CS limit, or
// the jump itself faults with #GP(0) (SDM JMP/CALL/RET "tempEIP beyond the
// code segment limit"). With a flat CS there is nothing to check.
func (c *CPU) jumpTo(t uint32) {
	if c.schkR[CS] {
		c.checkCSLimit(t)
	}
	c.eip = t
}

func (c *CPU) checkCSLimit(t uint32) {
	if t > c.seg[CS].Limit {
		c.raise(VecGP, 0, true)
	}
}

// privileged: at CPL > 0 every system instruction is #GP(0) (spec §13 item
// 4), exactly as on hardware; the Host emulates or reflects it. CPL 0 never
// happens for an lguest Guest, so there it is reported as unimplemented.
func (c *CPU) privileged(in *insn) {
	if c.cpl > 0 {
		c.raise(VecGP, 0, true)
	}
	c.unimpl(in)
}

func (c *CPU) ioInsn(in *insn) {
	// No I/O permission bitmap (io_bitmap_base = 104, spec §9.1): CPL > IOPL
	// faults for every port.
	if c.cpl > int(c.flags>>12&3) {
		c.raise(VecGP, 0, true)
	}
	c.unimpl(in)
}

func (c *CPU) loop(in *insn) {
	if in.op == 0xE3 {
		if c.count(in) == 0 {
			c.jumpRel(in)
		}
		return
	}
	n := c.count(in) - 1
	c.setCount(in, n)
	if in.a16 {
		n &= 0xFFFF
	}
	take := n != 0
	switch in.op {
	case opcLoopne:
		take = take && !c.zf()
	case opcLoope:
		take = take && c.zf()
	}
	if take {
		c.jumpRel(in)
	}
}

func (c *CPU) incDecRM(in *insn, dec bool) {
	if !in.mem {
		c.setReg(in.rm, in.size, c.incDec(c.getReg(in.rm, in.size), in.size, dec))
		return
	}
	lin := c.rmwLin(in, in.size)
	c.writeN(lin, in.size, c.incDec(c.readN(lin, in.size), in.size, dec))
}

func (c *CPU) group5(in *insn) {
	switch in.reg {
	case 0, 1:
		c.incDecRM(in, in.reg == 1)
	case 2:
		t := c.getRM(in)
		if in.size == 2 {
			t &= 0xFFFF
		}
		if c.schkR[CS] {
			c.checkCSLimit(t)
		}
		c.pushN(c.eip, in.size)
		c.eip = t
	case 3, 5:
		off := c.ea(in)
		o := c.readN(c.linR(in.seg, off, uint32(in.size)), in.size)
		sel := c.read16(c.linR(in.seg, off+uint32(in.size), 2))
		if in.reg == 3 {
			c.farCall(sel, o, in.size)
		} else {
			c.farJump(sel, o, in.size)
		}
	case 4:
		t := c.getRM(in)
		if in.size == 2 {
			t &= 0xFFFF
		}
		c.jumpTo(t)
	case 6:
		v := c.getRM(in)
		c.pushN(v, in.size)
	}
}

func (c *CPU) group3(in *insn) {
	size := in.size
	switch in.reg {
	case 0, 1:
		c.aluOp(4, c.getRM(in), in.imm, size)
	case 2, 3:
		var lin uint32
		var v uint32
		if in.mem {
			lin = c.rmwLin(in, size)
			v = c.readN(lin, size)
		} else {
			v = c.getReg(in.rm, size)
		}
		if in.reg == 2 {
			v = ^v
		} else {
			v = c.aluOp(5, 0, v, size)
		}
		if in.mem {
			c.writeN(lin, size, v)
		} else {
			c.setReg(in.rm, size, v)
		}
	case 4, 5:
		c.mul1(in, c.getRM(in), in.reg == 5)
	case 6, 7:
		c.div1(in, c.getRM(in), in.reg == 7)
	}
}

func (c *CPU) popf(v uint32, size uint8) {
	// At CPL > 0 POPF keeps IOPL; it keeps IF unless CPL <= IOPL; VM, VIP
	// and VIF never change; RF is cleared (SDM "POPF").
	mask := uint32(FlagCF | FlagPF | FlagAF | FlagZF | FlagSF | FlagTF | FlagDF | FlagOF | FlagNT | FlagAC | FlagID)
	iopl := int(c.flags >> 12 & 3)
	if c.cpl == 0 {
		mask |= FlagIOPL | FlagIF
	} else if c.cpl <= iopl {
		mask |= FlagIF
	}
	if size == 2 {
		mask &= 0xFFFF
	}
	c.commitFlags()
	c.flags = c.flags&^mask | v&mask
	c.flags &^= FlagRF
	c.flags |= 2
}

func (c *CPU) rdtsc() {
	idx, _ := c.locate() // instructions of this block retired before RDTSC
	t := c.icount + uint64(idx) + c.tscOffset
	c.r[EAX] = uint32(t)
	c.r[EDX] = uint32(t >> 32)
}

// get8 reads byte register n (AL CL DL BL AH CH DH BH): the low byte of
// r[n&3], shifted by 8 for n >= 4. No branch: the shift is (n&4)*2.
func (c *CPU) get8(n uint8) uint32 {
	return c.r[n&3] >> ((n & 4) << 1) & 0xFF
}

func (c *CPU) set8(n uint8, v uint32) {
	s := (n & 4) << 1
	c.r[n&3] = c.r[n&3]&^(0xFF<<s) | (v&0xFF)<<s
}

// alu8RR is opAlu8RR: the CRC and Huffman loops' xor/and/cmp on byte
// registers, without the generic operand dispatch.
func (c *CPU) alu8RR(in *insn) {
	a, b := c.get8(in.rm), c.get8(in.reg)
	switch in.imm2 {
	case 6: // XOR, the commonest: flags need no operands
		r := a ^ b
		c.setLazy(lfLogic, 24, r<<24, 0, 0)
		c.set8(in.rm, r)
	case 12: // TEST
		c.setLazy(lfLogic, 24, (a&b)<<24, 0, 0)
	case 7: // CMP
		c.aluOp(7, a, b, 1)
	default:
		c.set8(in.rm, c.aluOp(uint8(in.imm2), a, b, 1))
	}
}

// shiftCL32 is shl/shr/sar r32, %cl: a zero count changes nothing, flags
// included (SDM SAL/SAR/SHL/SHR).
func (c *CPU) shiftCL32(in *insn) {
	cnt := c.r[ECX] & 31
	if cnt == 0 {
		return
	}
	a := c.r[in.rm]
	var r uint32
	switch in.op {
	case opShlRCL32:
		r = a << cnt
		c.setLazy(lfShl, 0, r, a, cnt)
	case opShrRCL32:
		r = a >> cnt
		c.setLazy(lfShr, 0, r, a, cnt)
	default:
		r = uint32(int32(a) >> cnt)
		c.setLazy(lfSar, 0, r, a, cnt)
	}
	c.r[in.rm] = r
}

// movsB is one MOVSB (no REP, 32-bit addressing): the byte copy loop of
// LZ77 matches (movsb; cmp; jne). Registers move only after both accesses,
// so a fault leaves them as they were.
func (c *CPU) movsB(in *insn) {
	v := c.read8(c.linR(in.seg, c.r[ESI], 1))
	c.write8(c.linW(uint8(ES), c.r[EDI], 1), v)
	d := uint32(1)
	if c.flags&FlagDF != 0 {
		d = ^uint32(0)
	}
	c.r[ESI] += d
	c.r[EDI] += d
}
