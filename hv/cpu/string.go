package cpu

// String instructions. With a REP prefix the registers are updated after
// every element, so a fault in the middle leaves ECX/ESI/EDI at the progress
// point and restarts the instruction there, as on hardware.

func (c *CPU) strIdx(r Reg, in *insn) uint32 {
	if in.a16 {
		return c.r[r] & 0xFFFF
	}
	return c.r[r]
}

func (c *CPU) strAdv(r Reg, in *insn, d uint32) {
	if in.a16 {
		c.r[r] = c.r[r]&0xFFFF0000 | (c.r[r]+d)&0xFFFF
	} else {
		c.r[r] += d
	}
}

func (c *CPU) stringOp(in *insn) {
	size := in.size
	d := uint32(size)
	if c.flags&FlagDF != 0 {
		d = -d
	}
	op := in.op &^ 1
	if in.rep == 0 {
		c.strOne(in, op, size, d)
		return
	}
	for {
		n := c.count(in)
		if n == 0 {
			return
		}
		if (op == 0xA4 || op == 0xAA) && d == uint32(size) && !in.a16 {
			if done := c.strBulk(in, op, size, n); done > 0 {
				c.setCount(in, n-done)
				continue
			}
		}
		c.strOne(in, op, size, d)
		c.setCount(in, n-1)
		if op == 0xA6 || op == 0xAE {
			z := c.zf()
			if (in.rep == 0xF3 && !z) || (in.rep == 0xF2 && z) {
				return
			}
		}
		if c.pending&pendExit != 0 && n-1 != 0 {
			// a data breakpoint traps after the iteration; the rest of
			// the instruction runs when execution resumes
			c.eip -= uint32(in.len)
			c.pending |= pendRestart
			return
		}
	}
}

func (c *CPU) strOne(in *insn, op uint16, size uint8, d uint32) {
	switch op {
	case 0xA4: // MOVS
		v := c.readN(c.linR(in.seg, c.strIdx(ESI, in), uint32(size)), size)
		c.writeN(c.linW(uint8(ES), c.strIdx(EDI, in), uint32(size)), size, v)
		c.strAdv(ESI, in, d)
		c.strAdv(EDI, in, d)
	case 0xA6: // CMPS
		a := c.readN(c.linR(in.seg, c.strIdx(ESI, in), uint32(size)), size)
		b := c.readN(c.linR(uint8(ES), c.strIdx(EDI, in), uint32(size)), size)
		c.aluOp(7, a, b, size)
		c.strAdv(ESI, in, d)
		c.strAdv(EDI, in, d)
	case 0xAA: // STOS
		c.writeN(c.linW(uint8(ES), c.strIdx(EDI, in), uint32(size)), size, c.getReg(0, size))
		c.strAdv(EDI, in, d)
	case 0xAC: // LODS
		v := c.readN(c.linR(in.seg, c.strIdx(ESI, in), uint32(size)), size)
		c.setReg(0, size, v)
		c.strAdv(ESI, in, d)
	case 0xAE: // SCAS
		b := c.readN(c.linR(uint8(ES), c.strIdx(EDI, in), uint32(size)), size)
		c.aluOp(7, c.getReg(0, size), b, size)
		c.strAdv(EDI, in, d)
	}
}

// strBulk moves as many elements of a forward REP MOVS/STOS as fit in the
// current source and destination pages with one translation each. It
// returns 0 when the fast path does not apply (segment checks needed, an
// element straddles a page, the destination is a code page...); the caller
// then does one element the slow way.
func (c *CPU) strBulk(in *insn, op uint16, size uint8, n uint32) uint32 {
	if c.schkW[ES] || (op == 0xA4 && c.schkR[in.seg]) {
		return 0
	}
	sz := uint32(size)
	dlin := c.sbase[ES] + c.r[EDI]
	room := (0x1000 - dlin&0xFFF) / sz
	var slin uint32
	if op == 0xA4 {
		slin = c.sbase[in.seg] + c.r[ESI]
		if r := (0x1000 - slin&0xFFF) / sz; r < room {
			room = r
		}
	}
	if room == 0 {
		return 0
	}
	// A watchpoint in either page: each element the slow way, so that
	// the one touching the watched bytes stops (a watchpoint elsewhere
	// leaves the copy its speed)
	if len(c.watches) != 0 && (c.pageWatched(dlin) || op == 0xA4 && c.pageWatched(slin)) {
		return 0
	}
	if n > room {
		n = room
	}
	dpa := c.xlate(dlin, true)
	nb := n * sz
	if c.m.Watched(dpa) {
		return 0 // a watched page: every store goes through mem.Phys
	}
	if c.m.Code[dpa>>12] != 0 {
		// stores bypassing mem.Phys must not land on decoded bytes
		if pg := c.pages[dpa>>12]; pg == nil || pg.decoded&chunks(dpa&0xFFF, nb) != 0 {
			return 0
		}
	}
	dst := c.ram[dpa : dpa+nb]
	if op == 0xAA {
		v := c.r[EAX]
		switch size {
		case 1:
			b := byte(v)
			for i := range dst {
				dst[i] = b
			}
		case 2:
			for i := uint32(0); i < nb; i += 2 {
				dst[i], dst[i+1] = byte(v), byte(v>>8)
			}
		default:
			for i := uint32(0); i < nb; i += 4 {
				dst[i], dst[i+1], dst[i+2], dst[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			}
		}
		c.r[EDI] += nb
		return n
	}
	spa := c.xlate(slin, false)
	src := c.ram[spa : spa+nb]
	if dpa > spa && dpa < spa+nb {
		if dpa-spa < sz {
			return 0 // overlap inside one element: the slow path is exact
		}
		// overlapping forward copy replicates, element by element
		for i := uint32(0); i < nb; i++ {
			dst[i] = src[i]
		}
	} else {
		copy(dst, src)
	}
	c.r[ESI] += nb
	c.r[EDI] += nb
	return n
}
