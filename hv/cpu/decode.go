package cpu

// The decoder turns instruction bytes into an insn once; the decode cache
// (codePage in run.go) keeps the result per physical page, so the interpreter never
// looks at prefixes, ModRM or SIB bytes again.

// insn is one decoded instruction.
type insn struct {
	op   uint16 // handler: one-byte opcode, 0x100+second byte for 0F xx, or opXxx
	len  uint8
	fast uint8 // runLoop's case for op (fastOf; set by seal)
	// end is the offset of the instruction's end from its block's first
	// instruction (set when the block is built): runLoop sets EIP from the
	// block's start instead of adding len to the EIP in memory, which
	// chained every instruction to the previous one's store.
	end   uint16
	size  uint8 // operand size in bytes (1, 2 or 4)
	mem   bool  // the ModRM operand is memory
	reg   uint8 // ModRM reg field (register or group sub-opcode)
	rm    uint8 // ModRM rm register (when !mem)
	seg   uint8 // segment of the memory operand (after overrides)
	base  uint8 // address base register (regNone = none)
	index uint8 // address index register (regNone = none)
	scale uint8 // SIB multiplier - 1 (see ea32)
	a16   bool  // 16-bit addressing
	rep   uint8 // 0, 0xF2 or 0xF3
	lock  bool
	term  bool // ends a decoded block (control transfer, exit...)
	osz16 bool // operand-size prefix present
	modrm uint8
	disp  uint32
	imm   uint32
	imm2  uint32
}

// Special handlers beyond the opcode space.
const (
	opUD     = 0x200 + iota // raise #UD
	opUnimpl                // valid but not implemented: ExitUnimplemented
	opGP0                   // instruction too long: #GP(0)
	// fast specialised forms
	opMovRR32   // mov r32, r32
	opMovLoad32 // mov r32, m32
	opMovStore32
	opAluRR32   // ALU r/m32, r32 or r32, r/m32 with registers only
	opAluLoad32 // ALU r32, m32
	opAluRI32   // ALU r32, imm (81/83 register form)
	opCmpRR32
	opLeaFast
	opIncR32
	opDecR32
	opPushR32
	opPopR32
	opJccFast
	opJzFast
	opAddRI32
	opSubRI32 // also CMP (reg == 7 means compare only)
	opAndRI32
	opXorRR32
	opXorRI32
	opOrRR32
	opAndRR32
	opRolRI32
	opRorRI32
	opAddRR32
	opSubRR32
	opTestRR32
	opShlRI32
	opShrRI32
	opSarRI32
	opMovRI32
	opMovzx8Load // movzbl m8, r32
	// fast forms for what DEFLATE and the kernel's string and bit routines
	// run (issue 13)
	opMovzx8RR    // movzbl r8, r32 (rm is the byte register number)
	opMovzx16RR   // movzwl r16, r32
	opMovzx16Load // movzwl m16, r32
	opAlu8RR      // ALU r8, r8: imm2 = ALU op (0..7), 12 = TEST; rm is the destination
	opShlRCL32    // shl/sal r32, %cl
	opShrRCL32    // shr r32, %cl
	opSarRCL32    // sar r32, %cl
	opJmpRel      // jmp rel8/rel32
	opMovLoad8    // mov m8, r8
	opMovStore8   // mov r8, m8
	opMovsB       // movsb without REP, 32-bit addressing
	opTestRI32    // test $imm32, r32
	opSetccR8     // setcc r8 (imm2 = condition)
	opCmovRR32    // cmovcc r32, r32 (imm2 = condition)
	opBtRR32      // bt r32, r32 (register bit base: the offset is mod 32)
	opBtRI32      // bt $imm8, r32
	// opBlockEnd is the sentinel after a block's last instruction (see
	// seal): it ends the interpreter loop, so the loop needs no bound
	// check per instruction. reg == 1: the last instruction may have
	// left EIP behind (it is not a control transfer), set it.
	opBlockEnd
	opCount
)

type decStatus int

const (
	decOK decStatus = iota
	decMore
)

// attributes of one-byte and two-byte opcodes
const (
	aM     = 1 << iota // ModRM follows
	aI8                // imm8
	aI16               // imm16
	aIZ                // imm16/32 by operand size
	aMoffs             // address-size offset
	aPtr               // ptr16:16/32
	aEnter             // imm16, imm8
	aB                 // byte operation
	aTerm              // ends a block
	aUD                // invalid
)

var attr1, attr2 [256]uint16

func init() {
	set := func(t *[256]uint16, a uint16, ops ...int) {
		for _, o := range ops {
			t[o] |= a
		}
	}
	rng := func(lo, hi int) []int {
		var r []int
		for i := lo; i <= hi; i++ {
			r = append(r, i)
		}
		return r
	}
	for x := 0; x < 8; x++ {
		b := x * 8
		set(&attr1, aM|aB, b, b+2)
		set(&attr1, aM, b+1, b+3)
		set(&attr1, aI8|aB, b+4)
		set(&attr1, aIZ, b+5)
	}
	set(&attr1, aM, 0x62, 0x63, 0x69, 0x6B, 0x81, 0x83, 0x85, 0x87, 0x89, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F,
		0xC1, 0xC4, 0xC5, 0xC7, 0xD1, 0xD3, 0xF7, 0xFF)
	set(&attr1, aM|aB, 0x80, 0x82, 0x84, 0x86, 0x88, 0x8A, 0xC0, 0xC6, 0xD0, 0xD2, 0xF6, 0xFE)
	set(&attr1, aM, rng(0xD8, 0xDF)...)
	set(&attr1, aIZ, 0x68, 0x69, 0x81, 0xA9, 0xC7, 0xE8, 0xE9)
	set(&attr1, aIZ, rng(0xB8, 0xBF)...)
	set(&attr1, aI8, 0x6A, 0x6B, 0x80, 0x82, 0x83, 0xA8, 0xC0, 0xC1, 0xC6, 0xCD, 0xD4, 0xD5, 0xE4, 0xE5, 0xE6, 0xE7)
	set(&attr1, aI8|aB, rng(0xB0, 0xB7)...)
	set(&attr1, aI8|aTerm, rng(0x70, 0x7F)...)
	set(&attr1, aI8|aTerm, 0xE0, 0xE1, 0xE2, 0xE3, 0xEB)
	set(&attr1, aB, 0x6C, 0x6E, 0xA0, 0xA2, 0xA4, 0xA6, 0xA8, 0xAA, 0xAC, 0xAE, 0xE4, 0xE6, 0xEC, 0xEE, 0xD7)
	set(&attr1, aMoffs, 0xA0, 0xA1, 0xA2, 0xA3)
	set(&attr1, aPtr|aTerm, 0x9A, 0xEA)
	set(&attr1, aI16|aTerm, 0xC2, 0xCA)
	set(&attr1, aEnter, 0xC8)
	set(&attr1, aTerm, 0xC3, 0xCB, 0xCC, 0xCE, 0xCF, 0xF1, 0xF4, 0xE8, 0xE9, 0xCD, 0x9D, 0x17, 0x8E)
	// 0x0F, prefixes: handled by the decoder loop.

	// two-byte map: most have ModRM
	for i := 0; i < 256; i++ {
		attr2[i] = aM
	}
	for _, o := range []int{0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0E, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37,
		0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA} {
		attr2[o] = 0
	}
	for i := 0xC8; i <= 0xCF; i++ {
		attr2[i] = 0
	}
	for i := 0x80; i <= 0x8F; i++ {
		attr2[i] = aIZ | aTerm
	}
	for _, o := range []int{0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6} {
		attr2[o] |= aI8
	}
	for i := 0x90; i <= 0x9F; i++ {
		attr2[i] |= aB
	}
	attr2[0xB0] |= aB
	attr2[0xC0] |= aB
	for _, o := range []int{0x04, 0x0A, 0x0C, 0x0E, 0x0F, 0x24, 0x25, 0x26, 0x27, 0x36, 0x39, 0x3B, 0x3C, 0x3D, 0x3E,
		0x3F, 0xFF, 0xA6, 0xA7, 0xAA, 0xB9} {
		attr2[o] = aUD
	}
	attr2[0x0B] = aUD
	attr2[0x37] = aUD    // GETSEC: SMX is not claimed by CPUID (CR4.SMXE = 0)
	attr2[0x34] |= aTerm // sysenter
	attr2[0x35] |= aTerm
	attr2[0xA1] |= aTerm // pop fs may fault; keep simple
	attr2[0xA9] |= aTerm
	attr2[0x31] |= aTerm // rdtsc
}

// decode decodes one instruction from b (the bytes available at EIP, at most
// 15 used). It returns decMore when b ends inside the instruction.
func decode(b []byte, in *insn) decStatus {
	*in = insn{base: regNone, index: regNone, seg: uint8(DS), size: 4}
	n := 0
	next := func() (byte, bool) {
		if n >= len(b) || n >= 15 {
			return 0, false
		}
		v := b[n]
		n++
		return v, true
	}
	segOv := -1
	a16 := false
	var op byte
	var ok bool
	for {
		if op, ok = next(); !ok {
			return tooLong(b, n, in)
		}
		switch op {
		case 0x66:
			in.osz16 = true
			continue
		case 0x67:
			a16 = true
			continue
		case 0xF0:
			in.lock = true
			continue
		case 0xF2, 0xF3:
			in.rep = op
			continue
		case 0x26:
			segOv = int(ES)
			continue
		case 0x2E:
			segOv = int(CS)
			continue
		case 0x36:
			segOv = int(SS)
			continue
		case 0x3E:
			segOv = int(DS)
			continue
		case 0x64:
			segOv = int(FS)
			continue
		case 0x65:
			segOv = int(GS)
			continue
		}
		break
	}
	if in.osz16 {
		in.size = 2
	}
	in.a16 = a16
	var at uint16
	if op == 0x0F {
		if op, ok = next(); !ok {
			return tooLong(b, n, in)
		}
		in.op = 0x100 | uint16(op)
		at = attr2[op]
		if op == 0x38 || op == 0x3A {
			// three-byte maps: every instruction there (SSSE3, SSE4.1,
			// SSE4.2 CRC32, MOVBE, AES, PCLMUL, ADX, INVPCID...) needs a
			// CPUID feature we do not claim (cpuid.go), so #UD as on a
			// CPU without them; the kernel's feature checks keep it from
			// running them (spec §10.3). Decode the length only.
			if _, ok = next(); !ok {
				return tooLong(b, n, in)
			}
			at = aM
			if op == 0x3A {
				at |= aI8
			}
			in.op = opUD
		}
	} else {
		in.op = uint16(op)
		at = attr1[op]
	}
	if at&aB != 0 {
		in.size = 1
	}
	in.term = at&aTerm != 0
	if at&aM != 0 {
		m, ok := next()
		if !ok {
			return tooLong(b, n, in)
		}
		in.modrm = m
		mod, reg, rm := m>>6, m>>3&7, m&7
		in.reg = reg
		if mod == 3 || (in.op >= 0x120 && in.op <= 0x123) {
			in.rm = rm
		} else {
			in.mem = true
			if a16 {
				switch rm {
				case 0:
					in.base, in.index = uint8(EBX), uint8(ESI)
				case 1:
					in.base, in.index = uint8(EBX), uint8(EDI)
				case 2:
					in.base, in.index, in.seg = uint8(EBP), uint8(ESI), uint8(SS)
				case 3:
					in.base, in.index, in.seg = uint8(EBP), uint8(EDI), uint8(SS)
				case 4:
					in.base = uint8(ESI)
				case 5:
					in.base = uint8(EDI)
				case 6:
					if mod != 0 {
						in.base, in.seg = uint8(EBP), uint8(SS)
					}
				case 7:
					in.base = uint8(EBX)
				}
				switch {
				case mod == 0 && rm == 6, mod == 2:
					lo, ok1 := next()
					hi, ok2 := next()
					if !ok1 || !ok2 {
						return tooLong(b, n, in)
					}
					in.disp = uint32(int32(int16(uint16(lo) | uint16(hi)<<8)))
				case mod == 1:
					d, ok := next()
					if !ok {
						return tooLong(b, n, in)
					}
					in.disp = uint32(int32(int8(d)))
				}
			} else {
				if rm == 4 {
					sib, ok := next()
					if !ok {
						return tooLong(b, n, in)
					}
					in.scale = 1<<(sib>>6) - 1
					if idx := sib >> 3 & 7; idx != 4 {
						in.index = idx
					}
					bs := sib & 7
					if bs == 5 && mod == 0 {
						if !readImm(next, 4, &in.disp) {
							return tooLong(b, n, in)
						}
					} else {
						in.base = bs
						if bs == 4 || bs == 5 {
							in.seg = uint8(SS)
						}
					}
				} else if rm == 5 && mod == 0 {
					if !readImm(next, 4, &in.disp) {
						return tooLong(b, n, in)
					}
				} else {
					in.base = rm
					if rm == 5 {
						in.seg = uint8(SS)
					}
				}
				switch mod {
				case 1:
					d, ok := next()
					if !ok {
						return tooLong(b, n, in)
					}
					in.disp = uint32(int32(int8(d)))
				case 2:
					if !readImm(next, 4, &in.disp) {
						return tooLong(b, n, in)
					}
				}
			}
		}
	}
	if segOv >= 0 {
		in.seg = uint8(segOv)
	}
	zsize := 4
	if in.osz16 {
		zsize = 2
	}
	switch {
	case at&aI8 != 0:
		if !readImm(next, 1, &in.imm) {
			return tooLong(b, n, in)
		}
	case at&aI16 != 0:
		if !readImm(next, 2, &in.imm) {
			return tooLong(b, n, in)
		}
	case at&aIZ != 0:
		if !readImm(next, zsize, &in.imm) {
			return tooLong(b, n, in)
		}
	case at&aMoffs != 0:
		as := 4
		if a16 {
			as = 2
		}
		if !readImm(next, as, &in.disp) {
			return tooLong(b, n, in)
		}
		in.mem = true
	case at&aPtr != 0:
		if !readImm(next, zsize, &in.imm) || !readImm(next, 2, &in.imm2) {
			return tooLong(b, n, in)
		}
	case at&aEnter != 0:
		if !readImm(next, 2, &in.imm) || !readImm(next, 1, &in.imm2) {
			return tooLong(b, n, in)
		}
	}
	// group 3 TEST takes an immediate that depends on the reg field
	if (op == 0xF6 || op == 0xF7) && in.op < 0x100 && in.reg < 2 {
		sz := 1
		if op == 0xF7 {
			sz = zsize
		}
		if !readImm(next, sz, &in.imm) {
			return tooLong(b, n, in)
		}
	}
	in.len = uint8(n)
	if at&aUD != 0 {
		in.op = opUD
	}
	validate(in)
	specialise(in)
	return decOK
}

// specialise maps the hottest 32-bit forms to dedicated handlers that skip
// the generic size and operand dispatch.
func specialise(in *insn) {
	if in.lock {
		return
	}
	op := in.op
	if in.size == 1 && !in.a16 {
		switch {
		case op == 0xA4 && in.rep == 0:
			in.op = opMovsB
		case in.rep != 0:
		case op < 0x40 && (op&7 == 0 || op&7 == 2) && !in.mem:
			// 8-bit ALU between registers: rm is the destination
			if op&7 == 2 {
				in.rm, in.reg = in.reg, in.rm
			}
			in.op, in.imm2 = opAlu8RR, uint32(op>>3)
		case op == 0x84 && !in.mem:
			in.op, in.imm2 = opAlu8RR, 12
		case op == 0x88 && in.mem:
			in.op = opMovStore8
		case op == 0x8A && in.mem:
			in.op = opMovLoad8
		case op >= 0x190 && op <= 0x19F && !in.mem:
			in.op, in.imm2 = opSetccR8, uint32(op&0xF)
		}
		return
	}
	if in.size != 4 || in.rep != 0 {
		return
	}
	switch {
	case op == 0x1B6 && !in.mem:
		in.op = opMovzx8RR
	case op == 0x1B7 && !in.mem:
		in.op = opMovzx16RR
	case op == 0x1B7 && in.mem && !in.a16:
		in.op = opMovzx16Load
	case op == 0xA1 && !in.a16:
		// mov moffs32, %eax: a load with no base or index
		in.op, in.reg = opMovLoad32, uint8(EAX)
	case op == 0xA3 && !in.a16:
		in.op, in.reg = opMovStore32, uint8(EAX)
	case op == 0x25:
		in.op, in.rm, in.reg = opAndRI32, uint8(EAX), 4
	case op == 0x35:
		in.op, in.rm, in.reg = opXorRI32, uint8(EAX), 6
	case op == 0x0D:
		in.op, in.rm, in.reg = opAluRI32, uint8(EAX), 1
	case op == 0xA9:
		in.op, in.rm = opTestRI32, uint8(EAX)
	case op == 0xF7 && !in.mem && in.reg < 2:
		in.op = opTestRI32
	case op == 0xD3 && !in.mem && in.reg >= 4:
		in.op = [8]uint16{4: opShlRCL32, 5: opShrRCL32, 6: opShlRCL32, 7: opSarRCL32}[in.reg]
	case op == 0xE9 || op == 0xEB:
		in.op = opJmpRel
	case op >= 0x140 && op <= 0x14F && !in.mem:
		in.op, in.imm2 = opCmovRR32, uint32(op&0xF)
	case op == 0x1A3 && !in.mem:
		in.op = opBtRR32
	case op == 0x1BA && !in.mem && in.reg == 4:
		in.op, in.imm = opBtRI32, in.imm&31
	case op == 0x89 && !in.mem:
		in.op = opMovRR32 // rm <- reg
	case op == 0x8B && !in.mem:
		in.op = opMovRR32
		in.rm, in.reg = in.reg, in.rm
	case op == 0x8B && in.mem && !in.a16:
		in.op = opMovLoad32
	case op == 0x1B6 && in.mem && !in.a16:
		in.op = opMovzx8Load
	case op == 0x05 || op == 0x3D || op == 0x2D:
		// ADD/CMP/SUB EAX, imm32: the 81 /0, /7, /5 register forms
		in.op, in.rm, in.reg = opAddRI32, uint8(EAX), 0
		if op != 0x05 {
			in.op, in.reg = opSubRI32, uint8(op>>3)
		}
	case op == 0x89 && in.mem && !in.a16:
		in.op = opMovStore32
	case op < 0x40 && (op&7 == 1 || op&7 == 3) && !in.mem && op>>3 != 2 && op>>3 != 3:
		// ADD OR AND SUB XOR CMP between registers: rm is the destination
		if op&7 == 3 {
			in.rm, in.reg = in.reg, in.rm
		}
		in.op = [8]uint16{0: opAddRR32, 1: opOrRR32, 4: opAndRR32, 5: opSubRR32, 6: opXorRR32, 7: opCmpRR32}[op>>3]
	case op < 0x40 && op&7 == 1 && !in.mem:
		in.op = opAluRR32
		in.reg = uint8(op>>3)<<3 | in.reg
	case op < 0x40 && op&7 == 3 && !in.mem:
		in.op = opAluRR32
		in.reg, in.rm = uint8(op>>3)<<3|in.rm, in.reg
	case op < 0x40 && op&7 == 3 && in.mem:
		in.op = opAluLoad32
		in.imm2 = uint32(op >> 3)
	case (op == 0x81 || op == 0x83) && !in.mem:
		switch in.reg {
		case 0:
			in.op = opAddRI32
		case 5, 7:
			in.op = opSubRI32
		case 4:
			in.op = opAndRI32
		case 6:
			in.op = opXorRI32
		default:
			in.op = opAluRI32
		}
	case op == 0x85 && !in.mem:
		in.op = opTestRR32
	case (op == 0xC1 || op == 0xD1) && !in.mem && in.reg < 2:
		if op == 0xD1 {
			in.imm = 1
		}
		in.imm &= 31
		if in.imm != 0 {
			in.op = opRolRI32 + uint16(in.reg)
		}
	case (op == 0xC1 || op == 0xD1) && !in.mem && in.reg >= 4:
		if op == 0xD1 {
			in.imm = 1
		}
		in.imm &= 31
		if in.imm != 0 {
			switch in.reg {
			case 4, 6:
				in.op = opShlRI32
			case 5:
				in.op = opShrRI32
			case 7:
				in.op = opSarRI32
			}
		}
	case op >= 0xB8 && op <= 0xBF:
		in.op, in.reg = opMovRI32, uint8(op&7)
	case op == 0x8D && !in.a16:
		in.op = opLeaFast
	case op >= 0x40 && op <= 0x47:
		in.op, in.reg = opIncR32, uint8(op&7)
	case op >= 0x48 && op <= 0x4F:
		in.op, in.reg = opDecR32, uint8(op&7)
	case op >= 0x50 && op <= 0x57:
		in.op, in.reg = opPushR32, uint8(op&7)
	case op >= 0x58 && op <= 0x5F:
		in.op, in.reg = opPopR32, uint8(op&7)
	case op == 0x74 || op == 0x75 || op == 0x184 || op == 0x185:
		// The fast Jcc forms do not end a block: runLoop leaves the block
		// when the branch is taken and falls through when it is not, so
		// a run of bounds checks is one block, not one per check.
		in.op, in.reg, in.term = opJzFast, uint8(op&0xF), false // JE/JNE: the commonest
	case op >= 0x70 && op <= 0x7F, op >= 0x180 && op <= 0x18F:
		in.op, in.reg, in.term = opJccFast, uint8(op&0xF), false
	}
}

// tooLong distinguishes running out of available bytes (decMore) from the
// 15-byte architectural limit (#GP(0)).
func tooLong(b []byte, n int, in *insn) decStatus {
	if n >= 15 {
		*in = insn{op: opGP0, len: 15, term: true, base: regNone, index: regNone}
		return decOK
	}
	return decMore
}

func readImm(next func() (byte, bool), size int, dst *uint32) bool {
	var v uint32
	for i := 0; i < size; i++ {
		b, ok := next()
		if !ok {
			return false
		}
		v |= uint32(b) << (8 * i)
	}
	if size == 1 {
		v = uint32(int32(int8(v)))
	} else if size == 2 {
		v = uint32(int32(int16(v)))
	}
	*dst = v
	return true
}

// lockable reports whether LOCK is allowed on this instruction (SDM "LOCK"):
// the memory-destination forms of the read-modify-write instructions.
func lockable(in *insn) bool {
	if !in.mem {
		return false
	}
	op := in.op
	switch {
	case op < 0x40 && op&7 < 2 && op&0x7 != 7 && (op>>3) != 7:
		return true // ADD..XOR r/m, r (not CMP)
	case op == 0x80 || op == 0x81 || op == 0x82 || op == 0x83:
		return in.reg != 7
	case op == 0x86 || op == 0x87:
		return true
	case op == 0xF6 || op == 0xF7:
		return in.reg == 2 || in.reg == 3
	case op == 0xFE || op == 0xFF:
		return in.reg < 2
	case op == 0x1AB || op == 0x1B3 || op == 0x1BB || op == 0x1B0 || op == 0x1B1 || op == 0x1C0 || op == 0x1C1:
		return true
	case op == 0x1BA:
		return in.reg >= 5
	case op == 0x1C7:
		return in.reg == 1
	}
	return false
}

// validate turns encodings that are invalid in 32-bit protected mode into
// #UD, and marks the block terminators that depend on ModRM.
func validate(in *insn) {
	if in.op == opGP0 {
		return
	}
	if in.lock && !lockable(in) {
		in.op = opUD
	}
	switch in.op {
	case 0x8D, 0x62, 0xC4, 0xC5, 0x1B2, 0x1B4, 0x1B5:
		if !in.mem {
			in.op = opUD
		}
	case 0x8F, 0xC6, 0xC7:
		if in.reg != 0 {
			in.op = opUD
		}
	case 0x8C:
		if in.reg > 5 {
			in.op = opUD
		}
		if in.mem {
			in.size = 2
		}
	case 0x8E:
		if in.reg > 5 || in.reg == uint8(CS) {
			in.op = opUD
		}
	case 0xFE:
		if in.reg > 1 {
			in.op = opUD
		}
	case 0xFF:
		switch in.reg {
		case 7:
			in.op = opUD
		case 3, 5:
			if !in.mem {
				in.op = opUD
			}
			in.term = true
		case 2, 4:
			in.term = true
		}
	case 0x1C7:
		if in.reg != 1 || !in.mem {
			in.op = opUD
		}
	case 0x1BA:
		if in.reg < 4 {
			in.op = opUD
		}
	case 0x1B8:
		in.op = opUD // POPCNT is not claimed by CPUID (JMPE without F3)
	case 0x100:
		if in.reg > 5 {
			in.op = opUD
		}
	case 0x101:
		if !in.mem && in.reg != 4 && in.reg != 6 {
			in.op = opUD
		}
	case 0x118, 0x119, 0x11A, 0x11B, 0x11C, 0x11D, 0x11E, 0x11F:
		// hint NOPs (0F 18 prefetch, 0F 1F long NOP, reserved hints)
	case 0x1AE:
		if !in.mem {
			if in.reg < 5 {
				in.op = opUD
			}
		} else if in.reg >= 4 {
			in.op = opUD // XSAVE family and CLFLUSH not claimed
		}
	case 0xD6:
		// SALC is valid on real silicon
	case 0xDB, 0xDD, 0xDF:
		if in.mem && in.reg == 1 {
			in.op = opUD // FISTTP is SSE3, not claimed by CPUID
		}
	case 0x171, 0x172, 0x173:
		// MMX/SSE2 shift-by-immediate groups: register form only; /2 /4 /6
		// (no PSRAQ), and /3 /7 (PSRLDQ/PSLLDQ) only with 66 (SDM opcode
		// map, group 12-14)
		ok := !in.mem && (in.reg == 2 || in.reg == 6 || (in.reg == 4 && in.op != 0x173) ||
			((in.reg == 3 || in.reg == 7) && in.op == 0x173 && in.osz16))
		if !ok {
			in.op = opUD
		}
	case 0x1D7:
		if in.mem {
			in.op = opUD // PMOVMSKB: register source only
		}
	case 0x1E7:
		if !in.mem {
			in.op = opUD // MOVNTQ/MOVNTDQ: memory destination only
		}
	}
	if sse3(in) {
		in.op = opUD // CPUID.1:ECX.SSE3 = 0: #UD as on a CPU without it
	}
	if in.op == opUD || in.op == opUnimpl || in.op == opGP0 {
		in.term = true
	}
}

// sse3 reports the SSE3 instructions of the two-byte map (the last F2/F3
// prefix, else 66, selects them): MOVSLDUP MOVSHDUP MOVDDUP HADDPx HSUBPx
// ADDSUBPx LDDQU.
func sse3(in *insn) bool {
	switch in.op {
	case 0x112:
		return in.rep != 0
	case 0x116:
		return in.rep == 0xF3
	case 0x17C, 0x17D, 0x1D0:
		return in.rep == 0xF2 || (in.rep == 0 && in.osz16)
	case 0x1F0:
		return in.rep == 0xF2
	}
	return false
}
