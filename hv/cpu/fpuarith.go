package cpu

import (
	"math"
	"math/big"
)

// A minimal, exact x87 arithmetic subset: loads, stores, integer
// conversions, + - * /, compares and the stack moves. Linux's boot-time
// FDIV-bug check (check_fpu / fpu__init_check_bugs: fninit fldl fdivl fmull
// fsubp fistpl fwait) runs on every CPU that claims an FPU, so a Linux guest
// cannot boot without these.
//
// Values are held as raw 80-bit registers and computed with math/big at
// 64-bit precision with the FCW rounding mode, which is exactly what the
// x87 does for normal finite numbers at the default extended precision.
// Everything outside that envelope (NaN, infinity, denormals, stack
// over/underflow, reduced precision control, integer overflow on stores)
// is reported as ExitUnimplemented rather than approximated: never a silent
// wrong result. The status word gets C0-C3, TOP and PE; no unmasked
// exceptions can result because every masked-exception case stops first.

const (
	fswC0 = 1 << 8
	fswC1 = 1 << 9
	fswC2 = 1 << 10
	fswC3 = 1 << 14
	fswPE = 1 << 5
)

func (f *fpuState) top() int { return int(f.fsw>>11) & 7 }

func (f *fpuState) setTop(t int) { f.fsw = f.fsw&^(7<<11) | uint16(t&7)<<11 }

func (f *fpuState) tag(phys int) uint16 { return f.ftw >> (2 * phys) & 3 }

func (f *fpuState) setTag(phys int, t uint16) {
	f.ftw = f.ftw&^(3<<(2*phys)) | t<<(2*phys)
}

// fpuFail aborts an x87 instruction as unimplemented (see the file
// comment). Nothing has been stored yet when it is called.
func (c *CPU) fpuFail(in *insn) { c.unimpl(in) }

func (c *CPU) roundMode() big.RoundingMode {
	switch c.fpu.fcw >> 10 & 3 {
	case 1:
		return big.ToNegativeInf
	case 2:
		return big.ToPositiveInf
	case 3:
		return big.ToZero
	}
	return big.ToNearestEven
}

func newF() *big.Float { return new(big.Float).SetPrec(64) }

// ext80ToBig converts a raw register; ok is false outside normal/zero.
func ext80ToBig(b [10]byte) (*big.Float, bool) {
	var mant uint64
	for i := 7; i >= 0; i-- {
		mant = mant<<8 | uint64(b[i])
	}
	se := uint16(b[8]) | uint16(b[9])<<8
	exp := int(se & 0x7FFF)
	neg := se&0x8000 != 0
	x := newF()
	switch {
	case exp == 0 && mant == 0:
		if neg {
			x.Neg(x)
		}
		return x, true
	case exp == 0 || exp == 0x7FFF || mant>>63 == 0:
		return nil, false
	}
	x.SetUint64(mant)
	x.SetMantExp(x, exp-16383-63)
	if neg {
		x.Neg(x)
	}
	return x, true
}

func bigToExt80(x *big.Float) ([10]byte, bool) {
	var b [10]byte
	if x.Sign() == 0 {
		if x.Signbit() {
			b[9] = 0x80
		}
		return b, true
	}
	m := new(big.Float).SetPrec(64)
	exp := x.MantExp(m) // x = m * 2^exp, 0.5 <= |m| < 1
	m.Abs(m)
	m.SetMantExp(m, 64)
	mant, acc := m.Uint64()
	if acc != big.Exact {
		return b, false
	}
	e := exp - 1 + 16383
	if e <= 0 || e >= 0x7FFF {
		return b, false
	}
	for i := 0; i < 8; i++ {
		b[i] = byte(mant >> (8 * i))
	}
	se := uint16(e)
	if x.Signbit() {
		se |= 0x8000
	}
	b[8], b[9] = byte(se), byte(se>>8)
	return b, true
}

// st reads ST(i).
func (c *CPU) st(in *insn, i int) *big.Float {
	f := &c.fpu
	p := (f.top() + i) & 7
	if f.tag(p) == 3 {
		c.fpuFail(in) // stack underflow
	}
	x, ok := ext80ToBig(f.st[p])
	if !ok {
		c.fpuFail(in)
	}
	return x
}

// setST writes ST(i).
func (c *CPU) setST(in *insn, i int, x *big.Float) {
	b, ok := bigToExt80(x)
	if !ok {
		c.fpuFail(in)
	}
	f := &c.fpu
	p := (f.top() + i) & 7
	f.st[p] = b
	if x.Sign() == 0 {
		f.setTag(p, 1)
	} else {
		f.setTag(p, 0)
	}
}

func (c *CPU) fpush(in *insn, x *big.Float) {
	f := &c.fpu
	t := (f.top() - 1) & 7
	if f.tag(t) != 3 {
		c.fpuFail(in) // stack overflow
	}
	b, ok := bigToExt80(x)
	if !ok {
		c.fpuFail(in)
	}
	f.setTop(t)
	f.fsw &^= fswC1 // no stack overflow
	f.st[t] = b
	if x.Sign() == 0 {
		f.setTag(t, 1)
	} else {
		f.setTag(t, 0)
	}
}

func (c *CPU) fpop() {
	f := &c.fpu
	f.setTag(f.top(), 3)
	f.setTop(f.top() + 1)
}

// round rounds an exact value to the 64-bit significand with FCW.RC and
// records PE and C1 (rounded away from zero).
func (c *CPU) round(in *insn, exact *big.Float) *big.Float {
	if c.fpu.fcw>>8&3 != 3 {
		c.fpuFail(in) // reduced precision control: not implemented
	}
	z := newF().SetMode(c.roundMode()).Set(exact)
	acc := z.Acc()
	c.fpu.fsw &^= fswC1
	if acc != big.Exact {
		c.fpu.fsw |= fswPE
		if (acc == big.Above) != z.Signbit() {
			c.fpu.fsw |= fswC1
		}
	}
	return z
}

// arith computes a op b exactly enough and rounds once. op: 0 add, 1 mul,
// 4 sub, 5 subr, 6 div, 7 divr (the x87 /digit order; 2,3 are compares).
func (c *CPU) arith(in *insn, op uint8, a, b *big.Float) *big.Float {
	// The 256-bit temporaries are exact for sums and products of 64-bit
	// significands (exponent gaps beyond that only affect the sticky bit,
	// which still rounds correctly); the mode is set on them too because
	// it decides the sign of an exact zero sum (-0 when rounding down).
	t := new(big.Float).SetPrec(256).SetMode(c.roundMode())
	if (op == 0 || op == 4 || op == 5) && a.Sign() == 0 && b.Sign() == 0 {
		// ±0 ± ±0: math/big ignores the rounding mode here; IEEE gives
		// -0 for opposite signs only when rounding down
		// as x + y: a + b, a + (-b), b + (-a)
		nx, ny := a.Signbit(), b.Signbit()
		switch op {
		case 4:
			ny = !ny
		case 5:
			nx, ny = ny, !nx
		}
		neg := nx && ny || nx != ny && c.roundMode() == big.ToNegativeInf
		z := newF()
		if neg {
			z.Neg(z)
		}
		c.fpu.fsw &^= fswC1
		return z
	}
	switch op {
	case 0:
		return c.round(in, t.Add(a, b))
	case 1:
		return c.round(in, t.Mul(a, b))
	case 4:
		return c.round(in, t.Sub(a, b))
	case 5:
		return c.round(in, t.Sub(b, a))
	case 6, 7:
		if op == 7 {
			a, b = b, a
		}
		if b.Sign() == 0 {
			c.fpuFail(in) // divide by zero
		}
		// A 64-bit quotient rounded directly: big.Float.Quo rounds
		// correctly at the target precision and mode.
		z := newF().SetMode(c.roundMode())
		if c.fpu.fcw>>8&3 != 3 {
			c.fpuFail(in)
		}
		z.Quo(a, b)
		c.fpu.fsw &^= fswC1
		if acc := z.Acc(); acc != big.Exact {
			c.fpu.fsw |= fswPE
			if (acc == big.Above) != z.Signbit() {
				c.fpu.fsw |= fswC1
			}
		}
		return z
	}
	panic("unreachable")
}

// fcompare sets C3 C2 C0 for ST(0) ? x.
func (c *CPU) fcompare(a, b *big.Float) {
	f := &c.fpu
	f.fsw &^= fswC0 | fswC2 | fswC3 | fswC1
	switch a.Cmp(b) {
	case -1:
		f.fsw |= fswC0
	case 0:
		f.fsw |= fswC3
	}
}

func (c *CPU) loadMemFloat(in *insn, off uint32, size int) *big.Float {
	var v float64
	if size == 4 {
		v = float64(math.Float32frombits(c.read32(c.linR(in.seg, off, 4))))
	} else {
		lo := c.read32(c.linR(in.seg, off, 8))
		hi := c.read32(c.linR(in.seg, off+4, 4))
		v = math.Float64frombits(uint64(hi)<<32 | uint64(lo))
	}
	minNormal := 2.2250738585072014e-308
	if size == 4 {
		minNormal = 1.1754943508222875e-38
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || (v != 0 && math.Abs(v) < minNormal) {
		c.fpuFail(in) // NaN, infinity or denormal operand
	}
	return newF().SetFloat64(v)
}

func (c *CPU) storeMemFloat(in *insn, off uint32, size int, x *big.Float) {
	prec := uint(53)
	if size == 4 {
		prec = 24
	}
	z := new(big.Float).SetPrec(prec).SetMode(c.roundMode()).Set(x)
	c.fpu.fsw &^= fswC1
	if acc := z.Acc(); acc != big.Exact {
		c.fpu.fsw |= fswPE
		if (acc == big.Above) != z.Signbit() {
			c.fpu.fsw |= fswC1
		}
	}
	if size == 4 {
		v, acc := z.Float32()
		if acc != big.Exact || math.IsInf(float64(v), 0) || (v != 0 && math.Abs(float64(v)) < 1.1754943508222875e-38) {
			c.fpuFail(in)
		}
		c.write32(c.linW(in.seg, off, 4), math.Float32bits(v))
		return
	}
	v, acc := z.Float64()
	if acc != big.Exact || math.IsInf(v, 0) || (v != 0 && math.Abs(v) < 2.2250738585072014e-308) {
		c.fpuFail(in)
	}
	bits := math.Float64bits(v)
	lin := c.linW(in.seg, off, 8)
	c.probeW(lin, 8)
	c.write32(lin, uint32(bits))
	c.write32(c.linW(in.seg, off+4, 4), uint32(bits>>32))
}

func (c *CPU) loadMemInt(in *insn, off uint32, size int) *big.Float {
	var v int64
	switch size {
	case 2:
		v = int64(int16(c.read16(c.linR(in.seg, off, 2))))
	case 4:
		v = int64(int32(c.read32(c.linR(in.seg, off, 4))))
	default:
		lo := c.read32(c.linR(in.seg, off, 8))
		hi := c.read32(c.linR(in.seg, off+4, 4))
		v = int64(uint64(hi)<<32 | uint64(lo))
	}
	return newF().SetInt64(v)
}

func (c *CPU) storeMemInt(in *insn, off uint32, size int, x *big.Float) {
	// round to an integer with FCW.RC
	var i big.Int
	switch c.fpu.fcw >> 10 & 3 {
	case 0: // nearest even
		fl := new(big.Float).SetPrec(200).Set(x)
		fl.Int(&i) // truncates
		frac := new(big.Float).SetPrec(200).Sub(fl, new(big.Float).SetInt(&i))
		half := big.NewFloat(0.5)
		switch frac.Abs(frac).Cmp(half) {
		case 1:
			i.Add(&i, big.NewInt(int64(x.Sign())))
		case 0:
			if i.Bit(0) == 1 {
				i.Add(&i, big.NewInt(int64(x.Sign())))
			}
		}
	default:
		// floor/ceil/trunc via the rounding mode at precision = integer bits
		t := new(big.Float).SetPrec(200).Set(x)
		t.Int(&i) // trunc toward zero
		exact := new(big.Float).SetInt(&i).Cmp(x) == 0
		if !exact {
			switch c.fpu.fcw >> 10 & 3 {
			case 1: // down
				if x.Sign() < 0 {
					i.Sub(&i, big.NewInt(1))
				}
			case 2: // up
				if x.Sign() > 0 {
					i.Add(&i, big.NewInt(1))
				}
			}
		}
	}
	lim := int64(1) << (8*size - 1)
	var v int64
	if !i.IsInt64() || i.Int64() < -lim || i.Int64() > lim-1 {
		if c.fpu.fcw&1 == 0 {
			c.fpuFail(in) // unmasked invalid operation: not modelled
		}
		// masked invalid: the integer indefinite, IE set, no PE
		v = -lim
		c.fpu.fsw |= 1
	} else {
		v = i.Int64()
		c.fpu.fsw &^= fswC1
		r := new(big.Float).SetInt(&i)
		if r.Cmp(x) != 0 {
			c.fpu.fsw |= fswPE
			// C1: the last rounding went away from zero
			if new(big.Float).Abs(r).Cmp(new(big.Float).Abs(x)) > 0 {
				c.fpu.fsw |= fswC1
			}
		}
	}
	switch size {
	case 2:
		c.write16(c.linW(in.seg, off, 2), uint16(v))
	case 4:
		c.write32(c.linW(in.seg, off, 4), uint32(v))
	default:
		lin := c.linW(in.seg, off, 8)
		c.probeW(lin, 8)
		c.write32(lin, uint32(v))
		c.write32(c.linW(in.seg, off+4, 4), uint32(uint64(v)>>32))
	}
}

// x87arith executes the arithmetic subset; it returns false for anything
// else (the caller reports it as unimplemented).
func (c *CPU) x87arith(in *insn) bool {
	f := &c.fpu
	op := uint8(in.op & 7) // D8..DF -> 0..7
	r := in.reg
	if in.mem {
		off := c.ea(in)
		switch {
		case op == 0 || op == 4 || op == 2 || op == 6:
			// D8 / DC: arith with m32 / m64 real; DA / DE: with m32 / m16
			// integer (FIADD ... FIDIVR)
			a := c.st(in, 0)
			var b *big.Float
			switch op {
			case 0:
				b = c.loadMemFloat(in, off, 4)
			case 4:
				b = c.loadMemFloat(in, off, 8)
			case 2:
				b = c.loadMemInt(in, off, 4)
			default:
				b = c.loadMemInt(in, off, 2)
			}
			switch r {
			case 2, 3:
				c.fcompare(a, b)
				if r == 3 {
					c.fpop()
				}
			default:
				c.setST(in, 0, c.arith(in, r, a, b))
			}
		case op == 1 && r == 0: // FLD m32
			c.fpush(in, c.loadMemFloat(in, off, 4))
		case op == 5 && r == 0: // FLD m64
			c.fpush(in, c.loadMemFloat(in, off, 8))
		case (op == 1 || op == 5) && (r == 2 || r == 3): // FST/FSTP m32/m64
			size := 4
			if op == 5 {
				size = 8
			}
			c.storeMemFloat(in, off, size, c.st(in, 0))
			if r == 3 {
				c.fpop()
			}
		case op == 3 && r == 0: // FILD m32
			c.fpush(in, c.loadMemInt(in, off, 4))
		case op == 7 && r == 0: // FILD m16
			c.fpush(in, c.loadMemInt(in, off, 2))
		case op == 7 && r == 5: // FILD m64
			c.fpush(in, c.loadMemInt(in, off, 8))
		case op == 3 && (r == 2 || r == 3): // FIST/FISTP m32
			c.storeMemInt(in, off, 4, c.st(in, 0))
			if r == 3 {
				c.fpop()
			}
		case op == 7 && (r == 2 || r == 3): // FIST/FISTP m16
			c.storeMemInt(in, off, 2, c.st(in, 0))
			if r == 3 {
				c.fpop()
			}
		case op == 7 && r == 7: // FISTP m64
			c.storeMemInt(in, off, 8, c.st(in, 0))
			c.fpop()
		case op == 3 && r == 5: // FLD m80
			var b [10]byte
			for i := range b {
				b[i] = c.read8(c.linR(in.seg, off+uint32(i), 1))
			}
			x, ok := ext80ToBig(b)
			if !ok {
				return false
			}
			c.fpush(in, x)
		case op == 3 && r == 7: // FSTP m80
			b := f.st[f.top()]
			if f.tag(f.top()) == 3 {
				return false
			}
			lin := c.linW(in.seg, off, 10)
			c.probeW(lin, 10)
			for i := range b {
				c.write8(c.linW(in.seg, off+uint32(i), 1), b[i])
			}
			c.fpop()
		default:
			return false
		}
		f.fdp = off
		f.fds = c.seg[in.seg].Sel
		return true
	}
	i := int(in.modrm & 7)
	m := in.modrm
	switch {
	case op == 0: // D8 C0..FF: ST(0) = ST(0) op ST(i)
		a, b := c.st(in, 0), c.st(in, i)
		switch r {
		case 2, 3:
			c.fcompare(a, b)
			if r == 3 {
				c.fpop()
			}
		default:
			c.setST(in, 0, c.arith(in, r, a, b))
		}
	case op == 4 || op == 6: // DC / DE: ST(i) = ST(i) op ST(0) [+pop]
		if r == 2 || r == 3 {
			if op == 6 && m == 0xD9 { // FCOMPP
				c.fcompare(c.st(in, 0), c.st(in, 1))
				c.fpop()
				c.fpop()
				return true
			}
			return false
		}
		// DC/DE E0+i is FSUBR, E8+i FSUB, F0+i FDIVR, F8+i FDIV with
		// ST(i) as the destination: the reg field names the reverse op.
		rr := r
		switch r {
		case 4:
			rr = 5
		case 5:
			rr = 4
		case 6:
			rr = 7
		case 7:
			rr = 6
		}
		c.setST(in, i, c.arith(in, rr, c.st(in, i), c.st(in, 0)))
		if op == 6 {
			c.fpop()
		}
	case op == 1 && r == 0: // FLD ST(i)
		c.fpush(in, c.st(in, i))
	case op == 1 && r == 1: // FXCH
		a, b := c.st(in, 0), c.st(in, i)
		c.setST(in, 0, b)
		c.setST(in, i, a)
	case op == 5 && (r == 2 || r == 3): // FST/FSTP ST(i)
		c.setST(in, i, c.st(in, 0))
		if r == 3 {
			c.fpop()
		}
	case m == 0xD9 && op == 1: // FNOP... (D9 D0)
		return false
	case op == 1 && m == 0xE0: // FCHS
		x := c.st(in, 0)
		c.setST(in, 0, x.Neg(x))
	case op == 1 && m == 0xE1: // FABS
		x := c.st(in, 0)
		c.setST(in, 0, x.Abs(x))
	case op == 1 && m == 0xE8: // FLD1
		c.fpush(in, newF().SetInt64(1))
	case op == 1 && m == 0xEE: // FLDZ
		c.fpush(in, newF())
	case op == 1 && m == 0xE4: // FTST
		c.fcompare(c.st(in, 0), newF())
	case (op == 3 || op == 7) && (r == 5 || r == 6): // FUCOMI(P)/FCOMI(P)
		a, b := c.st(in, 0), c.st(in, i)
		var fl uint32
		switch a.Cmp(b) {
		case -1:
			fl = FlagCF
		case 0:
			fl = FlagZF
		}
		c.setFlagBits(FlagZF|FlagPF|FlagCF|FlagOF|FlagSF|FlagAF, fl)
		if op == 7 {
			c.fpop()
		}
	case op == 5 && r == 0: // FFREE ST(i)
		f.setTag((f.top()+i)&7, 3)
	default:
		return false
	}
	return true
}
