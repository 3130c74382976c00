package cpu

import "encoding/binary"

// A tiny x86-64 assembler for the block translator (jit.go): only the
// forms the translator emits, over the low eight host registers, so no
// REX prefix is needed except for 64-bit pointer loads and the TLB
// probes. For the whole translated run (jitCall sets them) the CPU's
// address is in RDI, where every guest register and the lazy flags are
// reached as [rdi+disp32]; the read and write TLBs are in R8 and R9 and
// guest RAM is at RBX, so an access loads no pointer.

// host registers (x86-64 encoding numbers)
const (
	hRAX = 0
	hRCX = 1
	hRDX = 2
	hRBX = 3
	hRSI = 6
	hRDI = 7
)

// jasm also remembers which host registers hold a copy of a guest
// register or lazy-flags field (held), so that a load of one the code has
// just loaded or stored becomes a register move, or nothing: the
// translation of one guest instruction reloads what the one before stored,
// and each such round trip through memory was a store-to-load forwarding
// delay on the guest's dependency chain. Every store still goes to
// memory, so a side exit or a fault finds the CPU up to date.
type jasm struct {
	b []byte
	// held[r]: the fields (heldBit) whose 32-bit values host register r
	// holds, as bits
	held [8]uint16
	// flatChecked: the code since the last label has checked that DS, ES
	// and SS are plain (jcomp.access)
	flatChecked bool
}

// heldBit: the held bit of a 32-bit CPU field the cache may track, or 0.
// Only fields the translated code alone writes while it runs: the guest
// registers and the lazy record's values (not stopReq, which another
// goroutine writes).
func heldBit(off uintptr) uint16 {
	switch {
	case off >= joR && off < joR+32 && (off-joR)%4 == 0:
		return 1 << ((off - joR) / 4)
	case off == joLRes:
		return 1 << 8
	case off == joLA:
		return 1 << 9
	case off == joLB:
		return 1 << 10
	case off == joLRres:
		return 1 << 11
	}
	return 0
}

// heldOverlap: the held bits of the fields that n bytes at off overlap.
func heldOverlap(off, n uintptr) uint16 {
	var m uint16
	for _, f := range [...]uintptr{jr(0), jr(1), jr(2), jr(3), jr(4), jr(5), jr(6), jr(7), joLRes, joLA, joLB, joLRres} {
		if f < off+n && off < f+4 {
			m |= heldBit(f)
		}
	}
	return m
}

// forget drops what the cache knows: at a label (a join of paths that
// may hold different values) and before raw code it cannot read.
func (a *jasm) forget() { a.held, a.flatChecked = [8]uint16{}, false }

// clobber: host register r was written with something else.
func (a *jasm) clobber(r uint8) { a.held[r] = 0 }

// wrote: n bytes of the CPU at off were written; no register mirrors them.
func (a *jasm) wrote(off uintptr, n uintptr) {
	m := heldOverlap(off, n)
	for r := range a.held {
		a.held[r] &^= m
	}
}

func (a *jasm) emit(v ...byte) { a.b = append(a.b, v...) }
func (a *jasm) u32(v uint32)   { a.b = binary.LittleEndian.AppendUint32(a.b, v) }

// byte1 emits raw code from the translator; the cache cannot tell what
// it reads or writes, so it forgets everything.
func (a *jasm) byte1(v ...byte) { a.forget(); a.emit(v...) }

// modrmCPU encodes the [rdi+disp32] operand with reg as ModRM.reg.
func (a *jasm) modrmCPU(reg uint8, disp uint32) {
	a.emit(0x80 | reg<<3 | hRDI)
	a.u32(disp)
}

// ld: mov r32, [rdi+off]
// (from a register that holds the field, or not at all, when one does)
func (a *jasm) ld(r uint8, off uintptr) {
	bit := heldBit(off)
	if bit != 0 {
		if a.held[r]&bit != 0 {
			return
		}
		for h, m := range a.held {
			if m&bit != 0 {
				a.movRR(r, uint8(h))
				return
			}
		}
	}
	a.emit(0x8B)
	a.modrmCPU(r, uint32(off))
	a.held[r] = bit
}

// st: mov [rdi+off], r32
// (nothing, when r holds what the field holds already)
func (a *jasm) st(off uintptr, r uint8) {
	bit := heldBit(off)
	if bit != 0 && a.held[r]&bit != 0 {
		return
	}
	a.emit(0x89)
	a.modrmCPU(r, uint32(off))
	a.wrote(off, 4)
	a.held[r] |= bit
}

// loadOp: a load of [rdi+off] into r by opcode op (bytes), untracked
func (a *jasm) loadOp(r uint8, off uintptr, op ...byte) {
	a.emit(op...)
	a.modrmCPU(r, uint32(off))
	a.clobber(r)
}

// ldq: mov r64, [rdi+off]
func (a *jasm) ldq(r uint8, off uintptr) { a.loadOp(r, off, 0x48, 0x8B) }

// memImm: op dword [rdi+off], imm32 (opcode op, ModRM.reg ext)
func (a *jasm) memImm(op, ext uint8, off uintptr, v uint32) {
	a.emit(op)
	a.modrmCPU(ext, uint32(off))
	a.u32(v)
	a.wrote(off, 4)
}

// stImm: mov dword [rdi+off], imm32
func (a *jasm) stImm(off uintptr, v uint32) { a.memImm(0xC7, 0, off, v) }

// stImm16: mov word [rdi+off], imm16
func (a *jasm) stImm16(off uintptr, v uint16) {
	a.emit(0x66, 0xC7)
	a.modrmCPU(0, uint32(off))
	a.emit(byte(v), byte(v>>8))
	a.wrote(off, 2)
}

// cmpByteZero: cmp byte [rdi+off], 0
func (a *jasm) cmpByteZero(off uintptr) { a.emit(0x80); a.modrmCPU(7, uint32(off)); a.emit(0) }

// cmpByte: cmp byte [rdi+off], v
func (a *jasm) cmpByte(off uintptr, v uint8) { a.emit(0x80); a.modrmCPU(7, uint32(off)); a.emit(v) }

// The "op r32, r/m32" ALU opcodes (add 03, or 0B, and 23, sub 2B, xor 33,
// cmp 3B) and their "op r/m32, r32" twins (one less).
const (
	jAdd = 0x03
	jOr  = 0x0B
	jAnd = 0x23
	jSub = 0x2B
	jXor = 0x33
	jCmp = 0x3B
)

// aluM: op r32, [rdi+off]
func (a *jasm) aluM(op uint8, r uint8, off uintptr) {
	a.emit(op)
	a.modrmCPU(r, uint32(off))
	if op != jCmp {
		a.clobber(r)
	}
}

// aluMR: op [rdi+off], r32 (the memory-destination form)
func (a *jasm) aluMR(op uint8, off uintptr, r uint8) {
	a.emit(op - 2)
	a.modrmCPU(r, uint32(off))
	if op != jCmp {
		a.wrote(off, 4)
	}
}

// aluRR8: op dst8, src8, where 0-3 are AL, CL, DL, BL and 4-7 AH, CH,
// DH, BH (no REX); the "op r/m8, r8" opcodes are three below the r32,
// r/m32 ones. It writes the whole of dst's host register.
func (a *jasm) aluRR8(op uint8, dst, src uint8) {
	a.emit(op-3, 0xC0|src<<3|dst)
	if op != jCmp {
		a.clobber(dst & 3)
	}
}

// aluRR: op dst, src (32-bit registers)
func (a *jasm) aluRR(op uint8, dst, src uint8) {
	a.emit(op-2, 0xC0|src<<3|dst)
	if op != jCmp {
		a.clobber(dst)
	}
}

// aluRI: op r32, imm32 (group 1: /0 add, /1 or, /4 and, /5 sub, /6 xor, /7 cmp)
func (a *jasm) aluRI(n uint8, r uint8, v uint32) {
	a.emit(0x81, 0xC0|n<<3|r)
	a.u32(v)
	if n != 7 {
		a.clobber(r)
	}
}

// testRR: test a, b
func (a *jasm) testRR(x, y uint8) { a.emit(0x85, 0xC0|y<<3|x) }

// movRR: mov dst, src (32-bit)
func (a *jasm) movRR(dst, src uint8) {
	a.emit(0x89, 0xC0|src<<3|dst)
	a.held[dst] = a.held[src]
}

// movRI: mov r32, imm32
func (a *jasm) movRI(r uint8, v uint32) { a.emit(0xB8 + r); a.u32(v); a.clobber(r) }

// movRI64: mov r64, imm64
func (a *jasm) movRI64(r uint8, v uint64) {
	a.emit(0x48, 0xB8+r)
	a.b = binary.LittleEndian.AppendUint64(a.b, v)
	a.clobber(r)
}

// Shift group 2: /0 rol, /1 ror, /4 shl, /5 shr, /7 sar.
func (a *jasm) shRI(n uint8, r uint8, cnt uint8) { a.emit(0xC1, 0xC0|n<<3|r, cnt); a.clobber(r) }
func (a *jasm) shRCL(n uint8, r uint8)           { a.emit(0xD3, 0xC0|n<<3|r); a.clobber(r) }

// incR / decR: inc/dec r32
func (a *jasm) incR(r uint8) { a.emit(0xFF, 0xC0|r); a.clobber(r) }
func (a *jasm) decR(r uint8) { a.emit(0xFF, 0xC8|r); a.clobber(r) }
func (a *jasm) notR(r uint8) { a.emit(0xF7, 0xD0|r); a.clobber(r) }

// scaleBits is a SIB byte's scale field for a multiplier.
var scaleBits = [16]byte{1: 0, 2: 1, 4: 2, 8: 3}

// leaIdx: lea eax, [rax + rcx*mul] (mul 1, 2, 4 or 8)
func (a *jasm) leaIdx(mul uint8) {
	a.emit(0x8D, 0x04, scaleBits[mul&15]<<6|hRCX<<3|hRAX)
	a.clobber(hRAX)
}

// leaDisp8: lea dst32, [src + d8]
func (a *jasm) leaDisp8(dst, src uint8, d int8) {
	a.emit(0x8D, 0x40|dst<<3|src, byte(d))
	a.clobber(dst)
}

// setcc r8 (al, cl, dl only) and movzx r32, r8
func (a *jasm) setcc(cc uint8, r uint8) { a.emit(0x0F, 0x90|cc, 0xC0|r); a.clobber(r) }
func (a *jasm) movzxB(dst, src uint8)   { a.emit(0x0F, 0xB6, 0xC0|dst<<3|src); a.clobber(dst) }

// movzxW: movzx r32, r16
func (a *jasm) movzxW(dst, src uint8) { a.emit(0x0F, 0xB7, 0xC0|dst<<3|src); a.clobber(dst) }

// ldB: movzx r32, byte [rdi+off]
func (a *jasm) ldB(r uint8, off uintptr) { a.loadOp(r, off, 0x0F, 0xB6) }

// andImm: and dword [rdi+off], imm32
func (a *jasm) andImm(off uintptr, v uint32) { a.memImm(0x81, 4, off, v) }

// RAM accesses at [rbx+rcx]: ModRM r, SIB; sibRAM is base RBX, index RCX
const sibRAM = hRCX<<3 | hRBX

func (a *jasm) ldRAM32(r uint8) { a.emit(0x8B, r<<3|4, sibRAM); a.clobber(r) }
func (a *jasm) ldRAM8(r uint8)  { a.emit(0x0F, 0xB6, r<<3|4, sibRAM); a.clobber(r) }
func (a *jasm) ldRAM16(r uint8) { a.emit(0x0F, 0xB7, r<<3|4, sibRAM); a.clobber(r) }
func (a *jasm) stRAM32(r uint8) { a.emit(0x89, r<<3|4, sibRAM) }
func (a *jasm) stRAM16(r uint8) { a.emit(0x66, 0x89, r<<3|4, sibRAM) }
func (a *jasm) stRAM8(r uint8)  { a.emit(0x88, r<<3|4, sibRAM) }
func (a *jasm) ret()            { a.emit(0xC3) }
func (a *jasm) pos() int        { return len(a.b) }

// The TLB probe's indexed forms (jcomp.access): RDX = the entry's index
// times 3 (its size in dwords), in the read TLB (R8) or the write TLB
// (R9, write true): REX.B and SIB base 0 or 1.
func (a *jasm) leaRDX3() { a.emit(0x48, 0x8D, 0x14, 0x52); a.clobber(hRDX) } // lea rdx, [rdx+rdx*2]

// cmpTag: cmp ecx, [r8/r9+rdx*4]
func (a *jasm) cmpTag(write bool) { a.emit(0x41, 0x3B, 0x0C, 0x90|b2b(write)) }

// orFrame: or ecx, [r8/r9+rdx*4+4]
func (a *jasm) orFrame(write bool) { a.emit(0x41, 0x0B, 0x4C, 0x90|b2b(write), 0x04); a.clobber(hRCX) }

// cmpTLB: cmp dword [r8/r9+disp32], imm32 (a constant address's tag)
func (a *jasm) cmpTLB(write bool, disp, tag uint32) {
	a.emit(0x41, 0x81, 0xB8|b2b(write))
	a.u32(disp)
	a.u32(tag)
}

// ldFrame: mov ecx, [r8/r9+disp32] (a constant address's frame)
func (a *jasm) ldFrame(write bool, disp uint32) {
	a.emit(0x41, 0x8B, 0x88|b2b(write))
	a.u32(disp)
	a.clobber(hRCX)
}

func b2b(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// testFlagsImm: test dword [rdi+flags], v
func (a *jasm) testFlagsImm(v uint32) { a.emit(0xF7); a.modrmCPU(0, uint32(joFlags)); a.u32(v) }

// patch binds the jump at at to to, a label at the current position: the
// paths that meet there may hold different values, so the cache forgets.
func (a *jasm) patch(at, to int) {
	binary.LittleEndian.PutUint32(a.b[at:], uint32(to-(at+4)))
	a.forget()
}

// jcc emits a jcc rel32 and returns where its displacement is, for patch.
func (a *jasm) jcc(cc uint8) int {
	a.emit(0x0F, 0x80|cc)
	a.u32(0)
	return a.pos() - 4
}

// jmp emits a jmp rel32 and returns where its displacement is.
func (a *jasm) jmp() int {
	a.emit(0xE9)
	a.u32(0)
	return a.pos() - 4
}
