package cpu

import "encoding/binary"

// An SSE/SSE2 subset: the 128-bit moves and the integer operations that
// i386 C libraries use in their SSE2 string and memory functions once
// CPUID reports SSE2 (memcpy/memset/strlen/strchr/strcmp/memchr), plus the
// bitwise XORPS family. Exact integer semantics; anything else in the SIMD
// space still exits as unimplemented. The XMM forms (66 prefix, or the
// unprefixed packed-single moves) are here; the unprefixed MMX forms are in
// mmx.go. Both share the lane engine packedInt/packedShift below, which works
// on 8-byte (MMX) and 16-byte (XMM) operands alike.

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
		packedInt(b, x[in.reg][:], s[:])
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
		packedInt(b, x[in.reg][:], s[:])
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
			packedShift(d[:], 8, in.reg, uint64(n))
		default:
			return false
		}
	case none:
		return c.mmx(in)
	default:
		return false
	}
	return true
}

// Lane helpers: lane i of width w bytes, little-endian, as in memory.
func lane(b []byte, i, w int) uint64 {
	var v uint64
	for k := w - 1; k >= 0; k-- {
		v = v<<8 | uint64(b[i*w+k])
	}
	return v
}

func setLane(b []byte, i, w int, v uint64) {
	for k := 0; k < w; k++ {
		b[i*w+k] = byte(v >> (8 * k))
	}
}

// sext sign-extends a w-byte lane value.
func sext(v uint64, w int) int64 {
	sh := 64 - 8*uint(w)
	return int64(v<<sh) >> sh
}

// satS and satU saturate a signed value to a w-byte signed/unsigned lane.
func satS(v int64, w int) uint64 {
	hi := int64(1)<<(8*uint(w)-1) - 1
	lo := -hi - 1
	if v > hi {
		v = hi
	} else if v < lo {
		v = lo
	}
	return uint64(v)
}

func satU(v int64, w int) uint64 {
	hi := int64(1)<<(8*uint(w)) - 1
	if v > hi {
		return uint64(hi)
	}
	if v < 0 {
		return 0
	}
	return uint64(v)
}

// packedInt applies the two-operand packed-integer instruction with
// second opcode byte op to d (destination) and s (source), both 8 bytes
// (MMX) or 16 bytes (XMM); the SDM defines every one of these lane-wise, so
// only the operand width differs. It reports false for an opcode it does
// not implement.
func packedInt(op uint16, d, s []byte) bool {
	n := len(d)
	w := 1 // lane width in bytes
	switch op {
	case 0x61, 0x69, 0x63, 0x65, 0x75, 0xD5, 0xD9, 0xDD, 0xE1, 0xE3, 0xE4, 0xE5, 0xE9, 0xEA, 0xED, 0xEE,
		0xF1, 0xF5, 0xF9, 0xFD, 0x67:
		w = 2
	case 0x62, 0x6A, 0x6B, 0x66, 0x76, 0xFA, 0xFE:
		w = 4
	case 0x6C, 0x6D, 0xD4, 0xFB, 0xF4, 0xF6:
		w = 8
	}
	if op == 0x63 || op == 0x67 { // PACKSSWB/PACKUSWB: word lanes in, byte lanes out
		w = 2
	}
	lanes := n / w
	switch op {
	case 0x60, 0x61, 0x62, 0x6C, 0x68, 0x69, 0x6A, 0x6D: // PUNPCKL*/PUNPCKH*
		var r [16]byte
		base := 0
		if op >= 0x68 && op != 0x6C {
			base = lanes / 2 // the high halves
		}
		for i := 0; i < lanes/2; i++ {
			setLane(r[:], 2*i, w, lane(d, base+i, w))
			setLane(r[:], 2*i+1, w, lane(s, base+i, w))
		}
		copy(d, r[:n])
		return true
	case 0x63, 0x67, 0x6B: // PACKSSWB/PACKUSWB (word->byte), PACKSSDW (dword->word)
		var r [16]byte
		for i := 0; i < 2*lanes; i++ {
			src, j := d, i
			if i >= lanes {
				src, j = s, i-lanes
			}
			v := sext(lane(src, j, w), w)
			if op == 0x67 {
				setLane(r[:], i, w/2, satU(v, w/2))
			} else {
				setLane(r[:], i, w/2, satS(v, w/2))
			}
		}
		copy(d, r[:n])
		return true
	case 0xF6: // PSADBW: per quadword, sum of |d-s| bytes into the low word
		for q := 0; q < lanes; q++ {
			var sum uint64
			for k := 8 * q; k < 8*q+8; k++ {
				a, b := int(d[k]), int(s[k])
				if a > b {
					sum += uint64(a - b)
				} else {
					sum += uint64(b - a)
				}
			}
			setLane(d, q, 8, sum)
		}
		return true
	case 0xF5: // PMADDWD: dword i = d.w[2i]*s.w[2i] + d.w[2i+1]*s.w[2i+1]
		for i := 0; i < n/4; i++ {
			p0 := sext(lane(d, 2*i, 2), 2) * sext(lane(s, 2*i, 2), 2)
			p1 := sext(lane(d, 2*i+1, 2), 2) * sext(lane(s, 2*i+1, 2), 2)
			setLane(d, i, 4, uint64(p0+p1)) // only 0x8000^2*2 wraps, to 0x80000000
		}
		return true
	}
	for i := 0; i < lanes; i++ {
		a, b := lane(d, i, w), lane(s, i, w)
		sa, sb := sext(a, w), sext(b, w)
		var r uint64
		switch op {
		case 0x74, 0x75, 0x76, 0x64, 0x65, 0x66: // PCMPEQ*/PCMPGT*
			if (op >= 0x74 && a == b) || (op < 0x74 && sa > sb) {
				r = ^uint64(0)
			}
		case 0xDA, 0xEA: // PMINUB / PMINSW
			r = a
			if (op == 0xDA && b < a) || (op == 0xEA && sb < sa) {
				r = b
			}
		case 0xDE, 0xEE: // PMAXUB / PMAXSW
			r = a
			if (op == 0xDE && b > a) || (op == 0xEE && sb > sa) {
				r = b
			}
		case 0xFC, 0xFD, 0xFE, 0xD4: // PADDB/W/D/Q (wrapping)
			r = a + b
		case 0xF8, 0xF9, 0xFA, 0xFB: // PSUBB/W/D/Q
			r = a - b
		case 0xEC, 0xED: // PADDSB/W
			r = satS(sa+sb, w)
		case 0xE8, 0xE9: // PSUBSB/W
			r = satS(sa-sb, w)
		case 0xDC, 0xDD: // PADDUSB/W
			r = satU(int64(a+b), w)
		case 0xD8, 0xD9: // PSUBUSB/W
			r = satU(int64(a)-int64(b), w)
		case 0xD5: // PMULLW
			r = uint64(sa * sb)
		case 0xE5: // PMULHW
			r = uint64(sa * sb >> 16)
		case 0xE4: // PMULHUW
			r = a * b >> 16
		case 0xF4: // PMULUDQ: low dwords of each quadword, 64-bit product
			r = (a & 0xFFFFFFFF) * (b & 0xFFFFFFFF)
		case 0xE0, 0xE3: // PAVGB/W: rounded unsigned average
			r = (a + b + 1) >> 1
		case 0xDB: // PAND
			r = a & b
		case 0xDF: // PANDN
			r = ^a & b
		case 0xEB: // POR
			r = a | b
		case 0xEF: // PXOR
			r = a ^ b
		default:
			return false
		}
		setLane(d, i, w, r)
	}
	return true
}

// packedShift shifts every w-byte lane of d: kind is the 0F 71/72/73 group
// field (2 = logical right, 4 = arithmetic right, 6 = left). Counts at or
// beyond the lane width clear the lane (sign-fill it for arithmetic shifts),
// SDM PSRLW/PSRAW/PSLLW.
func packedShift(d []byte, w int, kind uint8, count uint64) {
	bitsW := uint64(8 * w)
	for i := 0; i < len(d)/w; i++ {
		v := lane(d, i, w)
		switch kind {
		case 2:
			if count >= bitsW {
				v = 0
			} else {
				v >>= count
			}
		case 4:
			if count >= bitsW {
				count = bitsW - 1
			}
			v = uint64(sext(v, w) >> count)
		default:
			if count >= bitsW {
				v = 0
			} else {
				v <<= count
			}
		}
		setLane(d, i, w, v)
	}
}
