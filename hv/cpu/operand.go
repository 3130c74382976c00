package cpu

// Operand access helpers shared by the instruction handlers.

// ea is the effective address (offset) of the ModRM memory operand.
func (c *CPU) ea(in *insn) uint32 {
	a := c.ea32(in)
	if in.a16 {
		a &= 0xFFFF
	}
	return a
}

// ea32 is ea for 32-bit addressing (the specialised forms never have a
// 0x67 prefix). scale holds the SIB multiplier minus one (0, 1, 3, 7;
// 0 also without a SIB): a multiply needs no shift count in CL, which
// cost a register move and a spill per memory operand.
func (c *CPU) ea32(in *insn) uint32 {
	return c.r[in.base] + c.r[in.index]*(uint32(in.scale)+1) + in.disp
}

func (c *CPU) getReg(r, size uint8) uint32 {
	switch size {
	case 4:
		return c.r[r]
	case 2:
		return c.r[r] & 0xFFFF
	}
	if r < 4 {
		return c.r[r] & 0xFF
	}
	return c.r[r-4] >> 8 & 0xFF
}

func (c *CPU) setReg(r, size uint8, v uint32) {
	switch size {
	case 4:
		c.r[r] = v
	case 2:
		c.r[r] = c.r[r]&0xFFFF0000 | v&0xFFFF
	default:
		if r < 4 {
			c.r[r] = c.r[r]&^0xFF | v&0xFF
		} else {
			c.r[r-4] = c.r[r-4]&^0xFF00 | (v&0xFF)<<8
		}
	}
}

// getRM reads the ModRM operand.
func (c *CPU) getRM(in *insn) uint32 {
	if !in.mem {
		return c.getReg(in.rm, in.size)
	}
	return c.readN(c.linR(in.seg, c.ea(in), uint32(in.size)), in.size)
}

// getRMs reads the ModRM operand with an explicit size.
func (c *CPU) getRMs(in *insn, size uint8) uint32 {
	if !in.mem {
		return c.getReg(in.rm, size)
	}
	return c.readN(c.linR(in.seg, c.ea(in), uint32(size)), size)
}

// setRM writes the ModRM operand.
func (c *CPU) setRM(in *insn, v uint32) {
	if !in.mem {
		c.setReg(in.rm, in.size, v)
		return
	}
	c.writeN(c.linW(in.seg, c.ea(in), uint32(in.size)), in.size, v)
}

// rmwLin returns the linear address of a read-modify-write memory operand,
// already probed for writing so the later store cannot fault after the
// flags or registers changed.
func (c *CPU) rmwLin(in *insn, size uint8) uint32 {
	lin := c.linW(in.seg, c.ea(in), uint32(size))
	c.probeW(lin, uint32(size))
	return lin
}

// Stack. The stack segment is assumed 32-bit (B=1): lguest guests only
// ever use flat 32-bit stacks.

func (c *CPU) push32(v uint32) {
	sp := c.r[ESP] - 4
	c.write32(c.linW(uint8(SS), sp, 4), v)
	c.r[ESP] = sp
}

func (c *CPU) push16(v uint16) {
	sp := c.r[ESP] - 2
	c.write16(c.linW(uint8(SS), sp, 2), v)
	c.r[ESP] = sp
}

func (c *CPU) pushN(v uint32, size uint8) {
	if size == 2 {
		c.push16(uint16(v))
	} else {
		c.push32(v)
	}
}

// peek reads the stack at ESP+off without popping.
func (c *CPU) peek(off uint32, size uint8) uint32 {
	return c.readN(c.linR(uint8(SS), c.r[ESP]+off, uint32(size)), size)
}

// counter registers for string ops and LOOP (CX with 16-bit addressing)
func (c *CPU) count(in *insn) uint32 {
	if in.a16 {
		return c.r[ECX] & 0xFFFF
	}
	return c.r[ECX]
}

func (c *CPU) setCount(in *insn, v uint32) {
	if in.a16 {
		c.r[ECX] = c.r[ECX]&0xFFFF0000 | v&0xFFFF
	} else {
		c.r[ECX] = v
	}
}
