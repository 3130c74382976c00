package cpu

import "math/bits"

// Eager-flag instructions: multiply, divide, shifts and rotates, bit
// operations, BCD. Flags the SDM leaves undefined get a fixed, documented
// value (usually what current Intel silicon produces where that is simple,
// otherwise SZP of the result and AF = 0).

func sizeBits(size uint8) uint { return uint(size) * 8 }

func sizeMask(size uint8) uint32 {
	switch size {
	case 1:
		return 0xFF
	case 2:
		return 0xFFFF
	}
	return 0xFFFFFFFF
}

func signExt(v uint32, size uint8) int64 {
	switch size {
	case 1:
		return int64(int8(v))
	case 2:
		return int64(int16(v))
	}
	return int64(int32(v))
}

// mul1 is MUL/IMUL with one operand: EDX:EAX = EAX * src (by size).
func (c *CPU) mul1(in *insn, src uint32, signed bool) {
	size := in.size
	var lo, hi uint32
	var over bool
	if signed {
		p := signExt(c.getReg(0, size), size) * signExt(src, size)
		lo = uint32(p) & sizeMask(size)
		hi = uint32(p>>sizeBits(size)) & sizeMask(size)
		over = p != signExt(lo, size)
	} else {
		p := uint64(c.getReg(0, size)) * uint64(src)
		lo = uint32(p) & sizeMask(size)
		hi = uint32(p>>sizeBits(size)) & sizeMask(size)
		over = hi != 0
	}
	c.setAccPair(size, lo, hi)
	c.mulFlags(lo, size, over)
}

// setAccPair writes the result pair of MUL/IMUL/DIV/IDIV: AH:AL for bytes,
// DX:AX for words, EDX:EAX for dwords (lo goes to the accumulator).
func (c *CPU) setAccPair(size uint8, lo, hi uint32) {
	switch size {
	case 1:
		c.setReg(0, 2, hi<<8|lo)
	case 2:
		c.setReg(0, 2, lo)
		c.setReg(regEDX, 2, hi)
	default:
		c.r[EAX], c.r[EDX] = lo, hi
	}
}

func (c *CPU) mulFlags(lo uint32, size uint8, over bool) {
	f := szp(lo, size)
	if over {
		f |= FlagCF | FlagOF
	}
	c.setFlagBits(arithMask, f)
}

// imul2 is IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69, 6B).
func (c *CPU) imul2(in *insn) {
	size := in.size
	a := signExt(c.getRM(in), size)
	var b int64
	if in.op == 0x1AF {
		b = signExt(c.getReg(in.reg, size), size)
	} else {
		b = signExt(in.imm, size)
	}
	p := a * b
	r := uint32(p) & sizeMask(size)
	c.setReg(in.reg, size, r)
	c.mulFlags(r, size, p != signExt(r, size))
}

// div1 is DIV/IDIV: #DE on division by zero or a quotient that does not fit.
func (c *CPU) div1(in *insn, src uint32, signed bool) {
	size := in.size
	if src&sizeMask(size) == 0 {
		c.raise(VecDE, 0, false)
	}
	var q, r uint32
	if signed {
		var n int64
		switch size {
		case 1:
			n = int64(int16(c.r[EAX]))
		case 2:
			n = int64(int32(c.r[EDX]<<16 | c.r[EAX]&0xFFFF))
		default:
			n = int64(uint64(c.r[EDX])<<32 | uint64(c.r[EAX]))
		}
		d := signExt(src, size)
		if n == -1<<63 && d == -1 {
			c.raise(VecDE, 0, false)
		}
		qq, rr := n/d, n%d
		if qq != signExt(uint32(qq)&sizeMask(size), size) {
			c.raise(VecDE, 0, false)
		}
		q, r = uint32(qq)&sizeMask(size), uint32(rr)&sizeMask(size)
	} else {
		d := uint64(src & sizeMask(size))
		switch size {
		case 1, 2:
			var n uint64
			if size == 1 {
				n = uint64(c.r[EAX] & 0xFFFF)
			} else {
				n = uint64(c.r[EDX]&0xFFFF)<<16 | uint64(c.r[EAX]&0xFFFF)
			}
			qq := n / d
			if qq > uint64(sizeMask(size)) {
				c.raise(VecDE, 0, false)
			}
			q, r = uint32(qq), uint32(n%d)
		default:
			if uint64(c.r[EDX]) >= d {
				c.raise(VecDE, 0, false)
			}
			qq, rr := bits.Div32(c.r[EDX], c.r[EAX], uint32(d))
			q, r = qq, rr
		}
	}
	c.setAccPair(size, q, r)
}

// shiftGroup is C0/C1/D0..D3: ROL ROR RCL RCR SHL SHR SAL SAR.
func (c *CPU) shiftGroup(in *insn) {
	var cnt uint32
	switch in.op {
	case 0xC0, 0xC1:
		cnt = in.imm
	case 0xD0, 0xD1:
		cnt = 1
	default:
		cnt = c.r[ECX]
	}
	cnt &= 31
	size := in.size
	var lin uint32
	var v uint32
	if in.mem {
		lin = c.rmwLin(in, size)
		v = c.readN(lin, size)
	} else {
		v = c.getReg(in.rm, size)
	}
	if cnt == 0 {
		return // no flags change, no write (the probe already checked)
	}
	r := c.shift(in.reg, v, cnt, size)
	if in.mem {
		c.writeN(lin, size, r)
	} else {
		c.setReg(in.rm, size, r)
	}
}

func (c *CPU) shift(op uint8, v, cnt uint32, size uint8) uint32 {
	nb := uint32(sizeBits(size))
	mask := sizeMask(size)
	msb := uint32(1) << (nb - 1)
	v &= mask
	var r, cf uint32
	var of bool
	if size == 4 && op >= 4 {
		// 32-bit shifts are lazy (lfShl/lfShr/lfSar, count 1..31)
		switch op {
		case 4, 6:
			r = v << cnt
			c.setLazy(lfShl, 0, r, v, cnt)
		case 5:
			r = v >> cnt
			c.setLazy(lfShr, 0, r, v, cnt)
		default:
			r = uint32(int32(v) >> cnt)
			c.setLazy(lfSar, 0, r, v, cnt)
		}
		return r
	}
	switch op {
	case 0: // ROL
		n := cnt % nb
		r = (v<<n | v>>(nb-n)) & mask
		c.setRot(lfRol, shTab[size], r<<shTab[size])
		return r
	case 1: // ROR
		n := cnt % nb
		r = (v>>n | v<<(nb-n)) & mask
		c.setRot(lfRor, shTab[size], r<<shTab[size])
		return r
	case 2, 3: // RCL, RCR through nb+1 bits
		n := cnt % (nb + 1)
		x := uint64(v) | uint64(c.cf())<<nb
		w := uint64(nb + 1)
		if op == 2 {
			x = (x<<n | x>>(w-uint64(n))) & (1<<w - 1)
		} else {
			x = (x>>n | x<<(w-uint64(n))) & (1<<w - 1)
		}
		r = uint32(x) & mask
		cf = uint32(x>>nb) & 1
		if op == 2 {
			of = (r&msb != 0) != (cf != 0)
		} else {
			of = (r&msb != 0) != (r&(msb>>1) != 0)
		}
		c.setFlagBits(FlagCF|FlagOF, cf|b2u(of)<<11)
		return r
	case 4, 6: // SHL
		x := uint64(v) << cnt
		r = uint32(x) & mask
		cf = uint32(x>>nb) & 1
		of = (r&msb != 0) != (cf != 0)
	case 5: // SHR
		r = v >> cnt
		cf = v >> (cnt - 1) & 1
		of = v&msb != 0
	case 7: // SAR
		s := signExt(v, size)
		r = uint32(s>>cnt) & mask
		cf = uint32(s>>(cnt-1)) & 1
	}
	f := szp(r, size) | cf
	if of {
		f |= FlagOF
	}
	c.setFlagBits(arithMask, f)
	return r
}

// shiftDouble is SHLD/SHRD.
func (c *CPU) shiftDouble(in *insn) {
	cnt := in.imm
	if in.op == 0x1A5 || in.op == 0x1AD {
		cnt = c.r[ECX]
	}
	cnt &= 31
	size := in.size
	var lin, dst uint32
	if in.mem {
		lin = c.rmwLin(in, size)
		dst = c.readN(lin, size)
	} else {
		dst = c.getReg(in.rm, size)
	}
	if cnt == 0 {
		return
	}
	src := c.getReg(in.reg, size)
	nb := uint(sizeBits(size))
	mask := sizeMask(size)
	msb := uint32(1) << (nb - 1)
	var r, cf uint32
	if in.op <= 0x1A5 { // SHLD
		x := uint64(dst)<<nb | uint64(src)
		if size == 2 {
			// 16-bit counts above 16 shift in dst again (Intel behaviour)
			x = x<<16 | uint64(dst)
			r = uint32(x<<cnt>>32) & mask
			cf = uint32(x<<(cnt-1)>>47) & 1
		} else {
			r = uint32(x << cnt >> nb)
			cf = uint32(x<<(cnt-1)>>(2*nb-1)) & 1
		}
	} else { // SHRD
		x := uint64(src)<<nb | uint64(dst)
		if size == 2 {
			x |= uint64(dst) << 32
		}
		r = uint32(x>>cnt) & mask
		cf = uint32(x>>(cnt-1)) & 1
	}
	of := (r^dst)&msb != 0
	f := szp(r, size) | cf
	if of {
		f |= FlagOF
	}
	c.setFlagBits(arithMask, f)
	if in.mem {
		c.writeN(lin, size, r)
	} else {
		c.setReg(in.rm, size, r)
	}
}

// bitTest is BT/BTS/BTR/BTC (0F A3/AB/B3/BB and the 0F BA group).
func (c *CPU) bitTest(in *insn) {
	size := in.size
	nb := uint32(sizeBits(size))
	var op uint8 // 0 BT, 1 BTS, 2 BTR, 3 BTC
	var off int64
	imm := in.op == 0x1BA
	if imm {
		op = in.reg - 4
		off = int64(in.imm & (nb - 1))
	} else {
		switch in.op {
		case 0x1AB:
			op = 1
		case 0x1B3:
			op = 2
		case 0x1BB:
			op = 3
		}
		off = signExt(c.getReg(in.reg, size), size)
	}
	var v uint32
	var lin uint32
	bit := uint32(off) & (nb - 1)
	if in.mem {
		addr := c.ea(in)
		if !imm {
			// register bit offsets address memory beyond the operand
			addr += uint32((off >> (3 + bits.TrailingZeros32(nb>>3))) * int64(size))
		}
		if op == 0 {
			lin = c.linR(in.seg, addr, uint32(size))
		} else {
			lin = c.linW(in.seg, addr, uint32(size))
			c.probeW(lin, uint32(size))
		}
		v = c.readN(lin, size)
	} else {
		v = c.getReg(in.rm, size)
	}
	cf := v >> bit & 1
	switch op {
	case 1:
		v |= 1 << bit
	case 2:
		v &^= 1 << bit
	case 3:
		v ^= 1 << bit
	}
	c.setFlagBits(FlagCF, cf)
	if op == 0 {
		return
	}
	if in.mem {
		c.writeN(lin, size, v)
	} else {
		c.setReg(in.rm, size, v)
	}
}

// bitScan is BSF/BSR. F3-prefixed (TZCNT/LZCNT) executes as BSF/BSR, as on
// CPUs without BMI1/ABM, which is what our CPUID claims.
func (c *CPU) bitScan(in *insn) {
	v := c.getRM(in) & sizeMask(in.size)
	if v == 0 {
		c.setFlagBits(arithMask, FlagZF) // destination unchanged
		return
	}
	var idx uint32
	if in.op == 0x1BC {
		idx = uint32(bits.TrailingZeros32(v))
	} else {
		idx = uint32(31 - bits.LeadingZeros32(v))
	}
	c.setReg(in.reg, in.size, idx)
	c.setFlagBits(arithMask, szp(idx, in.size)&FlagPF)
}

func (c *CPU) xadd(in *insn) {
	size := in.size
	src := c.getReg(in.reg, size)
	if !in.mem {
		dst := c.getReg(in.rm, size)
		sum := c.aluOp(0, dst, src, size)
		c.setReg(in.reg, size, dst)
		c.setReg(in.rm, size, sum)
		return
	}
	lin := c.rmwLin(in, size)
	dst := c.readN(lin, size)
	sum := c.aluOp(0, dst, src, size)
	c.writeN(lin, size, sum)
	c.setReg(in.reg, size, dst)
}

func (c *CPU) cmpxchg(in *insn) {
	size := in.size
	var lin, dst uint32
	if in.mem {
		lin = c.rmwLin(in, size)
		dst = c.readN(lin, size)
	} else {
		dst = c.getReg(in.rm, size)
	}
	acc := c.getReg(0, size)
	if acc == dst {
		v := c.getReg(in.reg, size)
		if in.mem {
			c.writeN(lin, size, v)
		} else {
			c.setReg(in.rm, size, v)
		}
	} else {
		if in.mem {
			c.writeN(lin, size, dst) // the locked cycle always writes
		}
		c.setReg(0, size, dst)
	}
	c.aluOp(7, acc, dst, size)
}

func (c *CPU) cmpxchg8b(in *insn) {
	lin := c.rmwLin(in, 8)
	lo := c.read32(lin)
	hi := c.read32(lin + 4)
	if lo == c.r[EAX] && hi == c.r[EDX] {
		c.write32(lin, c.r[EBX])
		c.write32(lin+4, c.r[ECX])
		c.setFlagBits(FlagZF, FlagZF)
	} else {
		c.write32(lin, lo)
		c.write32(lin+4, hi)
		c.r[EAX], c.r[EDX] = lo, hi
		c.setFlagBits(FlagZF, 0)
	}
}

// bcd is DAA DAS AAA AAS AAM AAD (SDM definitions).
func (c *CPU) bcd(in *insn) {
	al := c.r[EAX] & 0xFF
	ah := c.r[EAX] >> 8 & 0xFF
	cf := c.cf()
	af := c.af() != 0
	var f uint32
	switch in.op {
	case 0x27, 0x2F: // DAA, DAS
		old := al
		ncf := uint32(0)
		naf := false
		if al&0xF > 9 || af {
			if in.op == 0x27 {
				ncf = cf | b2u(al+6 > 0xFF)
				al = (al + 6) & 0xFF
			} else {
				ncf = cf | b2u(al < 6)
				al = (al - 6) & 0xFF
			}
			naf = true
		}
		if old > 0x99 || cf != 0 {
			if in.op == 0x27 {
				al = (al + 0x60) & 0xFF
			} else {
				al = (al - 0x60) & 0xFF
			}
			ncf = 1
		}
		f = szp(al, 1) | ncf
		if naf {
			f |= FlagAF
		}
		c.setReg(0, 1, al)
	case 0x37, 0x3F: // AAA, AAS
		ax := c.r[EAX] & 0xFFFF
		if al&0xF > 9 || af {
			if in.op == 0x37 {
				ax += 0x106
			} else {
				ax = (ax - 6) & 0xFFFF
				ax = (ax - 0x100) & 0xFFFF
			}
			f = FlagAF | FlagCF
		}
		ax = ax&0xFF00 | ax&0xF
		c.setReg(0, 2, ax)
		f |= szp(ax&0xFF, 1) &^ (FlagAF | FlagCF)
	case 0xD4: // AAM
		base := in.imm & 0xFF
		if base == 0 {
			c.raise(VecDE, 0, false)
		}
		ah, al = al/base, al%base
		c.setReg(0, 2, ah<<8|al)
		f = szp(al, 1)
	case 0xD5: // AAD
		base := in.imm & 0xFF
		al = (al + ah*base) & 0xFF
		c.setReg(0, 2, al)
		f = szp(al, 1)
	}
	c.setFlagBits(arithMask, f)
}

// pusha pushes EAX ECX EDX EBX (original ESP) EBP ESI EDI.
func (c *CPU) pusha(in *insn) {
	size := in.size
	sp := c.r[ESP]
	// check the whole frame first so a fault leaves ESP untouched
	lo := sp - 8*uint32(size)
	c.probeW(c.linW(uint8(SS), lo, 8*uint32(size)), 8*uint32(size))
	orig := sp
	for i := 0; i < 8; i++ {
		v := c.r[i]
		if i == int(ESP) {
			v = orig
		}
		sp -= uint32(size)
		c.writeN(c.linW(uint8(SS), sp, uint32(size)), size, v)
	}
	c.r[ESP] = sp
}

func (c *CPU) popa(in *insn) {
	size := uint32(in.size)
	var vals [8]uint32
	for i := 7; i >= 0; i-- {
		vals[i] = c.peek(uint32(7-i)*size, in.size)
	}
	for i := 0; i < 8; i++ {
		if i != int(ESP) {
			c.setReg(uint8(i), in.size, vals[i])
		}
	}
	c.r[ESP] += 8 * size
}

func (c *CPU) bound(in *insn) {
	size := in.size
	off := c.ea(in)
	lo := signExt(c.readN(c.linR(in.seg, off, uint32(size)), size), size)
	hi := signExt(c.readN(c.linR(in.seg, off+uint32(size), uint32(size)), size), size)
	v := signExt(c.getReg(in.reg, size), size)
	if v < lo || v > hi {
		c.raise(VecBR, 0, false)
	}
}

func (c *CPU) arpl(in *insn) {
	var lin uint32
	var d uint32
	if in.mem {
		lin = c.rmwLin(in, 2)
		d = uint32(c.read16(lin))
	} else {
		d = c.r[in.rm] & 0xFFFF
	}
	s := c.r[in.reg] & 0xFFFF
	if d&3 < s&3 {
		d = d&^3 | s&3
		if in.mem {
			c.write16(lin, uint16(d))
		} else {
			c.setReg(in.rm, 2, d)
		}
		c.setFlagBits(FlagZF, FlagZF)
		return
	}
	c.setFlagBits(FlagZF, 0)
}

func (c *CPU) enter(in *insn) {
	c.save()
	size := uint32(in.size)
	alloc := in.imm & 0xFFFF
	level := in.imm2 & 31
	c.pushN(c.r[EBP], in.size)
	frame := c.r[ESP]
	if level > 0 {
		bp := c.r[EBP]
		for i := uint32(1); i < level; i++ {
			bp -= size
			c.pushN(c.readN(c.linR(uint8(SS), bp, size), in.size), in.size)
		}
		c.pushN(frame, in.size)
	}
	newSP := c.r[ESP] - alloc
	// hardware checks the final stack pointer is writable
	if alloc > 0 {
		c.probeW(c.linW(uint8(SS), newSP, 1), 1)
	}
	c.setReg(uint8(EBP), in.size, frame)
	c.r[ESP] = newSP
	c.snapValid = false
}
