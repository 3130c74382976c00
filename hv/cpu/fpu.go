package cpu

// x87/SSE state, as far as a Linux boot needs it (spec §5.9): the control
// instructions (FNINIT FNCLEX FNSTSW FNSTCW FLDCW FWAIT FNSTENV FLDENV), the
// state save/restore instructions (FNSAVE/FRSTOR 108-byte layout,
// FXSAVE/FXRSTOR 512-byte layout) and EMMS, over stored registers; the MMX
// registers alias R0..R7 (mmx.go). Every
// x87/MMX/SSE instruction raises #NM while CR0.TS is set. x87 arithmetic is
// a checked subset (fpuarith.go), SSE2 a data/integer subset (sse.go); the
// rest exits with ExitUnimplemented rather than compute a wrong result.

const mxcsrMask = 0xFFBF // no DAZ

type fpuState struct {
	fcw, fsw, ftw uint16 // ftw is the full 2-bit-per-register tag word
	fop           uint16
	fip, fdp      uint32
	fcs, fds      uint16
	st            [8][10]byte // physical registers R0..R7, raw 80-bit
	mxcsr         uint32
	xmm           [8][16]byte
}

func (f *fpuState) reset() {
	f.init()
	f.mxcsr = 0x1F80
}

// init is FNINIT.
func (f *fpuState) init() {
	f.fcw, f.fsw, f.ftw = 0x037F, 0, 0xFFFF
	f.fop, f.fip, f.fdp, f.fcs, f.fds = 0, 0, 0, 0, 0
}

// emms is EMMS: all tags empty. TOS is left as it is, which
// cpu_mix_test.go asserts; SDM vol. 1 Table 9-4 and this machine's silicon
// (AMD EPYC: fld1; emms; fnstsw gives TOP = 0) set TOS = 0 as well.
// emms empties every tag and, like every MMX instruction, sets TOS to 0
// (SDM vol. 1 table 9-4; `fld1; fld1; emms; fnstenv` on this machine's
// silicon reports TOP = 0).
func (f *fpuState) emms() {
	f.ftw = 0xFFFF
	f.fsw &^= 7 << 11
}

func (c *CPU) fpuCheck() {
	if c.ts {
		c.raise(VecNM, 0, false)
	}
}

// fwait: with TS and MP (always set here) WAIT raises #NM; no unmasked x87
// exception can be pending because no arithmetic runs.
func (c *CPU) fwait() { c.fpuCheck() }

func (c *CPU) x87(in *insn) {
	c.fpuCheck()
	f := &c.fpu
	m := in.modrm
	if !in.mem {
		switch {
		case in.op == 0xDB && m == 0xE3:
			f.init()
			return
		case in.op == 0xDB && m == 0xE2:
			f.fsw &^= 0x80FF
			return
		case in.op == 0xDF && m == 0xE0:
			c.setReg(0, 2, uint32(f.fsw))
			return
		case in.op == 0xDB && (m == 0xE0 || m == 0xE1 || m == 0xE4):
			return // FENI/FDISI/FSETPM: no-ops on a 387+
		}
		c.x87data(in)
		return
	}
	off := c.ea(in)
	switch {
	case in.op == 0xD9 && in.reg == 7: // FNSTCW
		c.write16(c.linW(in.seg, off, 2), f.fcw)
	case in.op == 0xD9 && in.reg == 5: // FLDCW
		f.fcw = c.read16(c.linR(in.seg, off, 2))
	case in.op == 0xDD && in.reg == 7: // FNSTSW m16
		c.write16(c.linW(in.seg, off, 2), f.fsw)
	case in.op == 0xD9 && in.reg == 6 && !in.osz16: // FNSTENV
		c.storeEnv(in, off)
		f.fcw |= 0x3F
	case in.op == 0xD9 && in.reg == 4 && !in.osz16: // FLDENV
		c.loadEnv(in, off)
	case in.op == 0xDD && in.reg == 6 && !in.osz16: // FNSAVE
		lin := c.linW(in.seg, off, 108)
		c.probeW(lin, 108)
		c.storeEnv(in, off)
		for i := 0; i < 8; i++ {
			r := (int(f.fsw>>11&7) + i) & 7
			for j := 0; j < 10; j++ {
				c.write8(c.linW(in.seg, off+28+uint32(i*10+j), 1), f.st[r][j])
			}
		}
		f.init()
	case in.op == 0xDD && in.reg == 4 && !in.osz16: // FRSTOR
		c.linR(in.seg, off, 108)
		var st [8][10]byte
		for i := 0; i < 8; i++ {
			for j := 0; j < 10; j++ {
				st[i][j] = c.read8(c.linR(in.seg, off+28+uint32(i*10+j), 1))
			}
		}
		c.loadEnv(in, off)
		for i := 0; i < 8; i++ {
			f.st[(int(f.fsw>>11&7)+i)&7] = st[i]
		}
	default:
		c.x87data(in)
	}
}

// x87data runs an arithmetic/data x87 instruction (fpuarith.go) and
// records FIP/FCS/FOP as the x87 does for non-control instructions.
func (c *CPU) x87data(in *insn) {
	// a fault or an unimplemented case part-way must leave the FPU as it
	// was (onFault restores this copy)
	c.fpuSnap, c.fpuSnapValid = c.fpu, true
	if !c.x87arith(in) {
		c.unimpl(in)
	}
	c.fpuSnapValid = false
	_, cur := c.locate()
	c.fpu.fip, c.fpu.fcs = cur, c.seg[CS].Sel
	c.fpu.fop = uint16(in.op&7)<<8 | uint16(in.modrm)
}

// storeEnv writes the 28-byte 32-bit protected-mode environment.
func (c *CPU) storeEnv(in *insn, off uint32) {
	f := &c.fpu
	lin := c.linW(in.seg, off, 28)
	c.probeW(lin, 28)
	w := func(o uint32, v uint32) { c.write32(c.linW(in.seg, off+o, 4), v) }
	w(0, 0xFFFF0000|uint32(f.fcw))
	w(4, 0xFFFF0000|uint32(f.fsw))
	w(8, 0xFFFF0000|uint32(f.ftw))
	w(12, f.fip)
	w(16, uint32(f.fcs)|uint32(f.fop&0x7FF)<<16)
	w(20, f.fdp)
	w(24, 0xFFFF0000|uint32(f.fds))
}

func (c *CPU) loadEnv(in *insn, off uint32) {
	f := &c.fpu
	r := func(o uint32) uint32 { return c.read32(c.linR(in.seg, off+o, 4)) }
	fcw, fsw, ftw, fip, fcs, fdp, fds := r(0), r(4), r(8), r(12), r(16), r(20), r(24)
	f.fcw, f.fsw, f.ftw = uint16(fcw), uint16(fsw), uint16(ftw)
	f.fip, f.fcs, f.fop = fip, uint16(fcs), uint16(fcs>>16)&0x7FF
	f.fdp, f.fds = fdp, uint16(fds)
}

func (c *CPU) fxsave(in *insn) {
	off := c.ea(in)
	lin := c.linW(in.seg, off, 288)
	if lin&15 != 0 {
		c.raise(VecGP, 0, true)
	}
	c.probeW(lin, 288)
	f := &c.fpu
	var b [288]byte
	put16 := func(o int, v uint16) { b[o], b[o+1] = byte(v), byte(v>>8) }
	put32 := func(o int, v uint32) { put16(o, uint16(v)); put16(o+2, uint16(v>>16)) }
	put16(0, f.fcw)
	put16(2, f.fsw)
	var abr byte
	for i := 0; i < 8; i++ {
		if f.ftw>>(2*i)&3 != 3 {
			abr |= 1 << i
		}
	}
	b[4] = abr
	put16(6, f.fop)
	put32(8, f.fip)
	put16(12, f.fcs)
	put32(16, f.fdp)
	put16(20, f.fds)
	put32(24, f.mxcsr)
	put32(28, mxcsrMask)
	top := int(f.fsw >> 11 & 7)
	for i := 0; i < 8; i++ {
		copy(b[32+16*i:], f.st[(top+i)&7][:])
	}
	for i := 0; i < 8; i++ {
		copy(b[160+16*i:], f.xmm[i][:])
	}
	for i, v := range b {
		c.write8(lin+uint32(i), v)
	}
}

func (c *CPU) fxrstor(in *insn) {
	off := c.ea(in)
	lin := c.linR(in.seg, off, 288)
	if lin&15 != 0 {
		c.raise(VecGP, 0, true)
	}
	var b [288]byte
	for i := range b {
		b[i] = c.read8(lin + uint32(i))
	}
	get16 := func(o int) uint16 { return uint16(b[o]) | uint16(b[o+1])<<8 }
	get32 := func(o int) uint32 { return uint32(get16(o)) | uint32(get16(o+2))<<16 }
	mx := get32(24)
	if mx&^mxcsrMask != 0 {
		c.raise(VecGP, 0, true)
	}
	f := &c.fpu
	f.fcw, f.fsw = get16(0), get16(2)
	f.ftw = 0
	for i := 0; i < 8; i++ {
		if b[4]>>i&1 == 0 {
			f.ftw |= 3 << (2 * i)
		}
	}
	f.fop, f.fip, f.fcs, f.fdp, f.fds = get16(6)&0x7FF, get32(8), get16(12), get32(16), get16(20)
	f.mxcsr = mx
	top := int(f.fsw >> 11 & 7)
	for i := 0; i < 8; i++ {
		copy(f.st[(top+i)&7][:], b[32+16*i:32+16*i+10])
	}
	for i := 0; i < 8; i++ {
		copy(f.xmm[i][:], b[160+16*i:160+16*i+16])
	}
}
