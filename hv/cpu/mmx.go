package cpu

import "encoding/binary"

// MMX: the eight 64-bit mm registers and the unprefixed 0F 6x/7x/Dx/Ex/Fx
// packed-integer instructions (the Pentium MMX set, plus the SSE/SSE2-era
// additions PSHUFW PMOVMSKB MOVNTQ PMINUB PMAXUB PMINSW PMAXSW PAVGB PAVGW
// PMULHUW PSADBW PADDQ PSUBQ PMULUDQ, since CPUID claims SSE and SSE2).
//
// Aliasing (SDM vol. 1 §9.5 and Table 9-4, checked on silicon by
// tools/vecgen/mmxgen.c): mm i is bits 63..0 of the *physical* x87
// register R i, whatever TOS is. A write sets bits 79..64 of R i to all
// ones. Every MMX instruction (read or write) then sets TOS = 0 and marks
// all eight registers non-empty (abridged FXSAVE tag 1); EMMS sets TOS = 0
// and all tags empty. The full tag word that FNSTENV/FNSAVE report is, as
// on silicon, the class of each register's contents (00 valid, 01 zero,
// 10 special: an MMX-written register has exponent 0x7FFF, so it is
// "special"), which is how fpuarith.go keeps ftw.

// mm returns mm register i.
func (f *fpuState) mm(i uint8) uint64 { return binary.LittleEndian.Uint64(f.st[i&7][:8]) }

// setMM writes mm register i (SDM §9.5.1: exponent and sign set to ones).
func (f *fpuState) setMM(i uint8, v uint64) {
	r := &f.st[i&7]
	binary.LittleEndian.PutUint64(r[:8], v)
	r[8], r[9] = 0xFF, 0xFF
}

// tagClass is the full x87 tag of a non-empty register's contents.
func tagClass(r *[10]byte) uint16 {
	exp := (uint16(r[9])<<8 | uint16(r[8])) & 0x7FFF
	mant := binary.LittleEndian.Uint64(r[:8])
	switch {
	case exp == 0x7FFF:
		return 2 // infinity, NaN (every MMX-written register)
	case exp == 0 && mant == 0:
		return 1 // zero
	case exp == 0 || mant>>63 == 0:
		return 2 // denormal, pseudo-denormal, unnormal
	}
	return 0
}

// mmxTransition is the x87 state change of every MMX instruction but
// EMMS, applied after the instruction's own effects (Table 9-4).
func (f *fpuState) mmxTransition() {
	f.setTop(0)
	for i := 0; i < 8; i++ {
		f.setTag(i, tagClass(&f.st[i]))
	}
}

// mmLin returns the linear address of an n-byte memory operand.
func (c *CPU) mmLin(in *insn, n uint32, write bool) uint32 {
	if write {
		lin := c.linW(in.seg, c.ea(in), n)
		c.probeW(lin, n) // nothing is stored unless all n bytes are writable
		return lin
	}
	return c.linR(in.seg, c.ea(in), n)
}

func (c *CPU) read64(lin uint32) uint64 {
	return uint64(c.read32(lin)) | uint64(c.read32(lin+4))<<32
}

// mmSrc reads the r/m source: an mm register or n bytes of memory (n is 4
// for PUNPCKL*, which read only m32, else 8).
func (c *CPU) mmSrc(in *insn, n uint32) uint64 {
	if !in.mem {
		return c.fpu.mm(in.rm)
	}
	lin := c.mmLin(in, n, false)
	if n == 4 {
		return uint64(c.read32(lin))
	}
	return c.read64(lin)
}

// mmx executes an unprefixed MMX instruction (sse calls it once no XMM
// form matched); false means not implemented. Memory is read and written
// before any register or x87 state changes, so a faulting instruction
// leaves the FPU untouched. Invalid encodings (bad group fields, register
// forms of MOVNTQ, memory forms of PMOVMSKB and the shift groups) are
// already #UD from validate (decode.go).
func (c *CPU) mmx(in *insn) bool {
	f := &c.fpu
	b := in.op & 0xFF
	switch {
	case b == 0x6E: // MOVD mm, r/m32 (zero-extended)
		f.setMM(in.reg, uint64(c.getRMs(in, 4)))
	case b == 0x6F: // MOVQ mm, mm/m64
		f.setMM(in.reg, c.mmSrc(in, 8))
	case b == 0x7E: // MOVD r/m32, mm
		v := uint32(f.mm(in.reg))
		if in.mem {
			c.write32(c.mmLin(in, 4, true), v)
		} else {
			c.r[in.rm] = v
		}
	case b == 0x7F || b == 0xE7: // MOVQ mm/m64, mm; MOVNTQ m64, mm
		v := f.mm(in.reg)
		if !in.mem {
			f.setMM(in.rm, v)
			break
		}
		lin := c.mmLin(in, 8, true)
		c.write32(lin, uint32(v))
		c.write32(lin+4, uint32(v>>32))
	case b == 0x70: // PSHUFW mm, mm/m64, imm8
		s := c.mmSrc(in, 8)
		var r uint64
		for i := 0; i < 4; i++ {
			sel := in.imm >> (2 * i) & 3
			r |= (s >> (16 * sel) & 0xFFFF) << (16 * i)
		}
		f.setMM(in.reg, r)
	case b >= 0x71 && b <= 0x73: // shift groups by imm8: 2 = PSRL, 4 = PSRA, 6 = PSLL
		var d [8]byte
		binary.LittleEndian.PutUint64(d[:], f.mm(in.rm))
		packedShift(d[:], 1<<(b-0x70), in.reg, uint64(in.imm&0xFF))
		f.setMM(in.rm, binary.LittleEndian.Uint64(d[:]))
	case b == 0xD1 || b == 0xD2 || b == 0xD3 || b == 0xE1 || b == 0xE2 || b == 0xF1 || b == 0xF2 || b == 0xF3:
		// shifts by a 64-bit count in mm/m64
		count := c.mmSrc(in, 8)
		var d [8]byte
		binary.LittleEndian.PutUint64(d[:], f.mm(in.reg))
		kind := [16]uint8{0xD: 2, 0xE: 4, 0xF: 6}[b>>4]
		packedShift(d[:], 1<<(b&3), kind, count)
		f.setMM(in.reg, binary.LittleEndian.Uint64(d[:]))
	case b == 0xD7: // PMOVMSKB r32, mm
		v := f.mm(in.rm)
		var m uint32
		for i := 0; i < 8; i++ {
			m |= uint32(v>>(8*i+7)&1) << i
		}
		c.r[in.reg] = m
	case mmxBinary(b):
		n := uint32(8)
		if b >= 0x60 && b <= 0x62 {
			n = 4
		}
		s := c.mmSrc(in, n)
		var db, sb [8]byte
		binary.LittleEndian.PutUint64(db[:], f.mm(in.reg))
		binary.LittleEndian.PutUint64(sb[:], s)
		if !packedInt(b, db[:], sb[:]) {
			return false
		}
		f.setMM(in.reg, binary.LittleEndian.Uint64(db[:]))
	default:
		return false
	}
	f.mmxTransition()
	return true
}

// mmxBinary reports the two-operand lane-wise MMX opcodes of packedInt
// that are implemented (and tested) in their MMX form.
func mmxBinary(b uint16) bool {
	switch {
	case b >= 0x60 && b <= 0x6B: // unpacks, packs, compares
		return true
	case b >= 0x74 && b <= 0x76: // PCMPEQ*
		return true
	}
	switch b {
	case 0xD4, 0xD5, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
		0xE0, 0xE3, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF,
		0xF4, 0xF5, 0xF6, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE:
		return true
	}
	return false
}
