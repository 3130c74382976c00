package cpu

// Lazy flags: the ALU records its operands and result instead of computing
// six flag bits per instruction; the bits are materialised only when read
// (Jcc, SETcc, PUSHF, EFLAGS()...). Operands and result are stored shifted
// left so that the operand's sign bit is bit 31 whatever the operand size:
// then CF/ZF/SF/OF need no size-dependent masks, and only PF/AF use sh.

const (
	lfNone  uint8 = iota // arithmetic bits live in c.flags
	lfAdd                // res = a + b
	lfAdc                // res = a + b + 1 (carry-in was set)
	lfSub                // res = a - b (also CMP, NEG with a = 0)
	lfSbb                // res = a - b - 1 (borrow-in was set)
	lfLogic              // AND/OR/XOR/TEST: CF = OF = 0
	lfInc                // res = a + 1, CF kept in c.flags
	lfDec                // res = a - 1, CF kept in c.flags
	lfShl                // 32-bit only: res = a << b (b = count, 1..31)
	lfShr                // res = a >> b
	lfSar                // res = int32(a) >> b
	// Rotates define only CF and OF; the other four flags are those of the
	// producer before them. A rotate therefore never replaces op/res/a/b:
	// it is recorded beside them in rop/rsh/rres, so it costs no flag
	// materialisation and no copy of the older producer (copying the
	// struct stalled on store forwarding: ~6% of the SHA-256 rounds).
	lfRol // rres = rotated value (shifted like the others)
	lfRor
)

const arithMask = FlagCF | FlagPF | FlagAF | FlagZF | FlagSF | FlagOF

type lazyFlags struct {
	op  uint8
	sh  uint8 // 24 for byte, 16 for word, 0 for dword operations
	rop uint8 // lfRol/lfRor: a rotate after op owns CF and OF; 0 = none
	rsh uint8 // the rotate's operand shift (like sh)
	res uint32
	a   uint32
	b   uint32
	// rres is the pending rotate's result, shifted left by rsh
	rres uint32
}

// ownedBits: the arithmetic bits of c.flags that the record replaces
// when they are read (getFlags), so their stored value is never seen.
func (l *lazyFlags) ownedBits() uint32 {
	var rot uint32
	if l.rop != 0 {
		rot = FlagCF | FlagOF // a rotate defines these two alone
	}
	switch l.op {
	case lfNone:
		return rot
	case lfInc, lfDec:
		return arithMask&^FlagCF | rot
	}
	return arithMask
}

// setLazy records a lazy-flags producer. Fields are stored one by one: a
// struct-literal assignment is built on the stack and copied with a wide
// load, which stalls on store forwarding (measured: ~25% of the CRC loop).
func (c *CPU) setLazy(op, sh uint8, res, a, b uint32) {
	l := &c.lazy
	l.op, l.sh, l.rop, l.rsh, l.res, l.a, l.b = op, sh, 0, 0, res, a, b
}

// shTab maps an operand size in bytes to the lazy-flags shift.
var shTab = [5]uint8{0, 24, 16, 0, 0}

// parity[b] is FlagPF when b has an even number of set bits.
var parity = func() (t [256]uint8) {
	for i := range t {
		n := 0
		for b := i; b != 0; b >>= 1 {
			n += b & 1
		}
		if n%2 == 0 {
			t[i] = FlagPF
		}
	}
	return
}()

func (c *CPU) cf() uint32 {
	l := &c.lazy
	switch l.rop {
	case lfRol:
		return l.rres >> l.rsh & 1
	case lfRor:
		return l.rres >> 31
	}
	switch l.op {
	case lfAdd:
		return b2u(l.res < l.a)
	case lfAdc:
		return b2u(l.res <= l.a)
	case lfSub:
		return b2u(l.a < l.b)
	case lfSbb:
		return b2u(l.a <= l.b)
	case lfLogic:
		return 0
	case lfShl:
		return l.a >> (32 - l.b) & 1
	case lfShr:
		return l.a >> (l.b - 1) & 1
	case lfSar:
		return uint32(int32(l.a)>>(l.b-1)) & 1
	}
	return c.flags & FlagCF
}

// setRot records a rotate's result (already shifted by sh); the producer
// before it keeps defining SF, ZF, AF and PF.
func (c *CPU) setRot(op, sh uint8, res uint32) {
	l := &c.lazy
	l.rop, l.rsh, l.rres = op, sh, res
}

func (c *CPU) zf() bool {
	if c.lazy.op == lfNone {
		return c.flags&FlagZF != 0
	}
	return c.lazy.res == 0
}

func (c *CPU) sf() bool {
	if c.lazy.op == lfNone {
		return c.flags&FlagSF != 0
	}
	return int32(c.lazy.res) < 0
}

func (c *CPU) of() bool {
	l := &c.lazy
	switch l.rop {
	case lfRol:
		return (l.rres>>31)^(l.rres>>l.rsh&1) != 0
	case lfRor:
		return (l.rres>>31)^(l.rres>>30&1) != 0
	}
	switch l.op {
	case lfAdd, lfAdc, lfInc:
		return int32((l.a^l.res)&(l.b^l.res)) < 0
	case lfSub, lfSbb, lfDec:
		return int32((l.a^l.b)&(l.a^l.res)) < 0
	case lfLogic, lfSar:
		return false
	case lfShl:
		return (l.res>>31)^(l.a>>(32-l.b)&1) != 0
	case lfShr:
		return int32(l.a) < 0
	}
	return c.flags&FlagOF != 0
}

func (c *CPU) pf() bool {
	if c.lazy.op == lfNone {
		return c.flags&FlagPF != 0
	}
	return parity[uint8(c.lazy.res>>c.lazy.sh)] != 0
}

func (c *CPU) af() uint32 {
	l := &c.lazy
	switch l.op {
	case lfNone:
		return c.flags & FlagAF
	case lfLogic, lfShl, lfShr, lfSar:
		return 0
	}
	return ((l.a ^ l.b ^ l.res) >> (l.sh + 4) & 1) << 4
}

// getFlags returns the full EFLAGS value.
func (c *CPU) getFlags() uint32 {
	if c.lazy.op == lfNone && c.lazy.rop == 0 {
		return c.flags | 2
	}
	f := c.flags &^ arithMask
	f |= c.cf() | c.af()
	if c.pf() {
		f |= FlagPF
	}
	if c.zf() {
		f |= FlagZF
	}
	if c.sf() {
		f |= FlagSF
	}
	if c.of() {
		f |= FlagOF
	}
	return f | 2
}

// commitFlags materialises the lazy state into c.flags.
func (c *CPU) commitFlags() {
	if c.lazy.op != lfNone || c.lazy.rop != 0 {
		c.flags = c.getFlags()
		c.lazy.op, c.lazy.rop = lfNone, 0
	}
}

// setFlagBits replaces the bits in mask with v (eager flag producers:
// shifts, multiplies, BCD, bit tests...).
func (c *CPU) setFlagBits(mask, v uint32) {
	if mask == arithMask {
		c.lazy.op, c.lazy.rop = lfNone, 0 // every lazy bit is overwritten
	}
	c.commitFlags()
	c.flags = c.flags&^mask | v&mask
}

// setSZP sets SF, ZF and PF from a result of the given size and clears the
// rest of the arithmetic bits in mask except those in keep.
func szp(v uint32, size uint8) uint32 {
	sh := shTab[size]
	v <<= sh
	f := uint32(parity[uint8(v>>sh)])
	if v == 0 {
		f |= FlagZF
	}
	if int32(v) < 0 {
		f |= FlagSF
	}
	return f
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// condFast evaluates cc straight from the operands of the common lazy
// producers: after CMP/SUB the unsigned and signed orders of a and b (stored
// shifted so bit 31 is the sign) answer B/BE/L/LE without computing flags.
func (c *CPU) condFast(cc uint8) bool {
	l := &c.lazy
	neg := cc&1 != 0
	if l.rop != 0 {
		// a rotate owns CF and OF; ZF still comes from the producer
		if cc>>1 == 2 && l.op != lfNone {
			return (l.res == 0) != neg
		}
		return c.cond(cc)
	}
	switch cc >> 1 {
	case 1: // B / AE
		switch l.op {
		case lfSub:
			return (l.a < l.b) != neg
		case lfShr: // bit-at-a-time loops: shr $1 ; jc
			return (l.a>>(l.b-1)&1 != 0) != neg
		case lfLogic:
			return neg
		}
		return (c.cf() != 0) != neg
	case 2: // Z / NZ: every lazy producer defines ZF from res
		if l.op != lfNone {
			return (l.res == 0) != neg
		}
	case 3: // BE / A
		if l.op == lfSub {
			return (l.a <= l.b) != neg
		}
	case 6: // L / GE
		if l.op == lfSub {
			return (int32(l.a) < int32(l.b)) != neg
		}
	case 7: // LE / G
		if l.op == lfSub {
			return (int32(l.a) <= int32(l.b)) != neg
		}
	}
	return c.cond(cc)
}

// cond evaluates condition code cc (the low nibble of Jcc/SETcc/CMOVcc).
func (c *CPU) cond(cc uint8) bool {
	var r bool
	switch cc >> 1 {
	case 0:
		r = c.of()
	case 1:
		r = c.cf() != 0
	case 2:
		r = c.zf()
	case 3:
		r = c.cf() != 0 || c.zf()
	case 4:
		r = c.sf()
	case 5:
		r = c.pf()
	case 6:
		r = c.sf() != c.of()
	default:
		r = c.zf() || c.sf() != c.of()
	}
	return r != (cc&1 != 0)
}

// aluOp performs ALU operation op (the x86 /digit order: ADD OR ADC SBB AND
// SUB XOR CMP) on size-byte operands and records the flags lazily. The
// returned value is the result (meaningless for CMP).
func (c *CPU) aluOp(op uint8, a, b uint32, size uint8) uint32 {
	sh := shTab[size]
	a <<= sh
	b <<= sh
	var r uint32
	switch op {
	case 0:
		r = a + b
		c.setLazy(lfAdd, sh, r, a, b)
	case 1:
		r = a | b
		c.setLazy(lfLogic, sh, r, 0, 0)
	case 2:
		if c.cf() != 0 {
			r = a + b + 1<<sh
			c.setLazy(lfAdc, sh, r, a, b)
		} else {
			r = a + b
			c.setLazy(lfAdd, sh, r, a, b)
		}
	case 3:
		if c.cf() != 0 {
			r = a - b - 1<<sh
			c.setLazy(lfSbb, sh, r, a, b)
		} else {
			r = a - b
			c.setLazy(lfSub, sh, r, a, b)
		}
	case 4:
		r = a & b
		c.setLazy(lfLogic, sh, r, 0, 0)
	case 5, 7:
		r = a - b
		c.setLazy(lfSub, sh, r, a, b)
	case 6:
		r = a ^ b
		c.setLazy(lfLogic, sh, r, 0, 0)
	}
	return r >> sh
}

// incDec performs INC (dec=false) or DEC, keeping CF.
func (c *CPU) incDec(a uint32, size uint8, dec bool) uint32 {
	// CF survives INC/DEC: park it in c.flags, where cf() reads it for
	// lfNone/lfInc/lfDec already.
	if op := c.lazy.op; c.lazy.rop != 0 || op != lfNone && op != lfInc && op != lfDec {
		c.flags = c.flags&^FlagCF | c.cf()
	}
	sh := shTab[size]
	a <<= sh
	one := uint32(1) << sh
	if dec {
		r := a - one
		c.setLazy(lfDec, sh, r, a, one)
		return r >> sh
	}
	r := a + one
	c.setLazy(lfInc, sh, r, a, one)
	return r >> sh
}
