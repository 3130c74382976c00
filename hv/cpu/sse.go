package cpu

import "encoding/binary"

// An SSE/SSE2 subset: the 128-bit moves and the integer operations that
// i386 C libraries use in their SSE2 string and memory functions once
// CPUID reports SSE2 (memcpy/memset/strlen/strchr/strcmp/memchr), plus the
// bitwise XORPS family. Exact integer semantics; anything else in the SIMD
// space still exits as unimplemented. Only XMM forms (66 prefix, or the
// unprefixed packed-single moves); MMX forms are not implemented.

type xmm = [16]byte

func (c *CPU) xmmLin(in *insn, align bool, write bool) uint32 {
	var lin uint32
	if write {
		lin = c.linW(in.seg, c.ea(in), 16)
	} else {
		lin = c.linR(in.seg, c.ea(in), 16)
	}
	if align && lin&15 != 0 {
		c.raise(VecGP, 0, true)
	}
	return lin
}

func (c *CPU) readXMMm(lin uint32) (v xmm) {
	for i := uint32(0); i < 4; i++ {
		binary.LittleEndian.PutUint32(v[4*i:], c.read32(lin+4*i))
	}
	return
}

func (c *CPU) writeXMMm(lin uint32, v *xmm, n uint32) {
	c.probeW(lin, n)
	for i := uint32(0); i < n/4; i++ {
		c.write32(lin+4*i, binary.LittleEndian.Uint32(v[4*i:]))
	}
}

// xmmSrc reads the r/m operand (register or 128-bit memory).
func (c *CPU) xmmSrc(in *insn, align bool) xmm {
	if !in.mem {
		return c.fpu.xmm[in.rm]
	}
	return c.readXMMm(c.xmmLin(in, align, false))
}

// sse executes the implemented subset; false means not implemented.
func (c *CPU) sse(in *insn) bool {
	b := in.op & 0xFF
	p66 := in.osz16
	none := !p66 && in.rep == 0
	f3 := in.rep == 0xF3 && !p66
	x := &c.fpu.xmm
	switch {
	// ---- moves ----
	case (b == 0x6F && (p66 || f3)) || ((b == 0x28 || b == 0x10) && (none || p66 && in.rep == 0)):
		// MOVDQA/MOVDQU/MOVAPS/MOVUPS/MOVAPD/MOVUPD xmm, xmm/m128
		align := b == 0x28 || (b == 0x6F && p66)
		x[in.reg] = c.xmmSrc(in, align)
	case (b == 0x7F && (p66 || f3)) || ((b == 0x29 || b == 0x11) && (none || p66 && in.rep == 0)) ||
		(b == 0xE7 && p66) || (b == 0x2B && none):
		// stores, including the non-temporal MOVNTDQ/MOVNTPS
		align := b == 0x29 || b == 0xE7 || b == 0x2B || (b == 0x7F && p66)
		if !in.mem {
			if b == 0xE7 || b == 0x2B {
				return false
			}
			x[in.rm] = x[in.reg]
			return true
		}
		v := x[in.reg]
		c.writeXMMm(c.xmmLin(in, align, true), &v, 16)
	case b == 0x6E && p66: // MOVD xmm, r/m32
		var v xmm
		binary.LittleEndian.PutUint32(v[:], c.getRMs(in, 4))
		x[in.reg] = v
	case b == 0x7E && p66: // MOVD r/m32, xmm
		v := binary.LittleEndian.Uint32(x[in.reg][:])
		if in.mem {
			c.write32(c.linW(in.seg, c.ea(in), 4), v)
		} else {
			c.r[in.rm] = v
		}
	case b == 0x7E && f3: // MOVQ xmm, xmm/m64 (zero upper half)
		var v xmm
		if in.mem {
			lin := c.linR(in.seg, c.ea(in), 8)
			binary.LittleEndian.PutUint32(v[0:], c.read32(lin))
			binary.LittleEndian.PutUint32(v[4:], c.read32(lin+4))
		} else {
			copy(v[:8], x[in.rm][:8])
		}
		x[in.reg] = v
	case b == 0xD6 && p66: // MOVQ xmm/m64, xmm
		if in.mem {
			v := x[in.reg]
			c.writeXMMm(c.linW(in.seg, c.ea(in), 8), &v, 8)
		} else {
			var v xmm
			copy(v[:8], x[in.reg][:8])
			x[in.rm] = v
		}
	// ---- bitwise ----
	case (b == 0xEF || b == 0xEB || b == 0xDB || b == 0xDF) && p66,
		(b == 0x57 || b == 0x56 || b == 0x54 || b == 0x55) && (none || p66 && in.rep == 0):
		s := c.xmmSrc(in, true)
		d := &x[in.reg]
		for i := range d {
			switch b {
			case 0xEF, 0x57:
				d[i] ^= s[i]
			case 0xEB, 0x56:
				d[i] |= s[i]
			case 0xDB, 0x54:
				d[i] &= s[i]
			default: // PANDN / ANDNPS
				d[i] = ^d[i] & s[i]
			}
		}
	// ---- byte/word/dword/qword integer ops ----
	case p66 && (b == 0x74 || b == 0x75 || b == 0x76 || b == 0x64 || b == 0x65 || b == 0x66 ||
		b == 0xDA || b == 0xDE || b == 0xF8 || b == 0xF9 || b == 0xFA || b == 0xFB ||
		b == 0xFC || b == 0xFD || b == 0xFE || b == 0xD4):
		s := c.xmmSrc(in, true)
		d := &x[in.reg]
		c.packedInt(b, d, &s)
	case p66 && b == 0xD7 && !in.mem: // PMOVMSKB r32, xmm
		var m uint32
		for i, v := range x[in.rm] {
			m |= uint32(v>>7) << i
		}
		c.r[in.reg] = m
	case p66 && b == 0x70: // PSHUFD
		s := c.xmmSrc(in, true)
		var d xmm
		for i := 0; i < 4; i++ {
			sel := int(in.imm>>(2*i)) & 3
			copy(d[4*i:4*i+4], s[4*sel:4*sel+4])
		}
		x[in.reg] = d
	case p66 && (b == 0x60 || b == 0x61 || b == 0x62 || b == 0x6C): // PUNPCKL*
		s := c.xmmSrc(in, true)
		d := x[in.reg]
		w := 8
		switch b {
		case 0x60:
			w = 1
		case 0x61:
			w = 2
		case 0x62:
			w = 4
		}
		var r xmm
		for i := 0; i < 16/(2*w); i++ {
			copy(r[2*i*w:], d[i*w:i*w+w])
			copy(r[2*i*w+w:], s[i*w:i*w+w])
		}
		x[in.reg] = r
	case p66 && b == 0x73 && !in.mem: // PSRLQ/PSRLDQ/PSLLQ/PSLLDQ imm
		d := &x[in.rm]
		n := int(in.imm & 0xFF)
		switch in.reg {
		case 3, 7: // byte shifts of the whole register
			var r xmm
			for i := 0; i < 16; i++ {
				j := i + n
				if in.reg == 7 {
					j = i - n
				}
				if j >= 0 && j < 16 {
					r[i] = d[j]
				}
			}
			*d = r
		case 2, 6:
			for q := 0; q < 2; q++ {
				v := binary.LittleEndian.Uint64(d[8*q:])
				switch {
				case n > 63:
					v = 0
				case in.reg == 2:
					v >>= uint(n)
				default:
					v <<= uint(n)
				}
				binary.LittleEndian.PutUint64(d[8*q:], v)
			}
		default:
			return false
		}
	default:
		return false
	}
	return true
}

func (c *CPU) packedInt(op uint16, d, s *xmm) {
	switch op {
	case 0x74, 0x75, 0x76, 0x64, 0x65, 0x66: // PCMPEQ*/PCMPGT*
		w := 1
		switch op {
		case 0x75, 0x65:
			w = 2
		case 0x76, 0x66:
			w = 4
		}
		for i := 0; i < 16; i += w {
			var a, b int64
			for k := w - 1; k >= 0; k-- {
				a, b = a<<8|int64(d[i+k]), b<<8|int64(s[i+k])
			}
			sh := 64 - 8*uint(w)
			a, b = a<<sh>>sh, b<<sh>>sh // sign-extend for GT
			var t bool
			if op >= 0x74 {
				t = a == b
			} else {
				t = a > b
			}
			for k := 0; k < w; k++ {
				if t {
					d[i+k] = 0xFF
				} else {
					d[i+k] = 0
				}
			}
		}
	case 0xDA, 0xDE: // PMINUB / PMAXUB
		for i := range d {
			if (op == 0xDA) == (s[i] < d[i]) {
				d[i] = s[i]
			}
		}
	default: // PADD/PSUB b w d q
		w := 8 // 0xFB, 0xD4
		switch op {
		case 0xF8, 0xFC:
			w = 1
		case 0xF9, 0xFD:
			w = 2
		case 0xFA, 0xFE:
			w = 4
		}
		sub := op >= 0xF8 && op <= 0xFB
		for i := 0; i < 16; i += w {
			var a, b uint64
			for k := w - 1; k >= 0; k-- {
				a, b = a<<8|uint64(d[i+k]), b<<8|uint64(s[i+k])
			}
			r := a + b
			if sub {
				r = a - b
			}
			for k := 0; k < w; k++ {
				d[i+k] = byte(r >> (8 * k))
			}
		}
	}
}
