package cpu

import "encoding/binary"

// A tiny x86-64 assembler for the block translator (jit.go): only the
// forms the translator emits, over the low eight host registers, so no
// REX prefix is needed except for 64-bit pointer loads. The CPU's address
// is in RDI for the whole translated block; every guest register, the
// lazy flags and the TLB are reached as [rdi+disp32].

// host registers (x86-64 encoding numbers)
const (
	hRAX = 0
	hRCX = 1
	hRDX = 2
	hRSI = 6
	hRDI = 7
)

type jasm struct{ b []byte }

func (a *jasm) byte1(v ...byte) { a.b = append(a.b, v...) }
func (a *jasm) u32(v uint32)    { a.b = binary.LittleEndian.AppendUint32(a.b, v) }

// modrmCPU encodes the [rdi+disp32] operand with reg as ModRM.reg.
func (a *jasm) modrmCPU(reg uint8, disp uint32) {
	a.byte1(0x80 | reg<<3 | hRDI)
	a.u32(disp)
}

// ld: mov r32, [rdi+off]
func (a *jasm) ld(r uint8, off uintptr) { a.byte1(0x8B); a.modrmCPU(r, uint32(off)) }

// st: mov [rdi+off], r32
func (a *jasm) st(off uintptr, r uint8) { a.byte1(0x89); a.modrmCPU(r, uint32(off)) }

// ldq: mov r64, [rdi+off]
func (a *jasm) ldq(r uint8, off uintptr) { a.byte1(0x48, 0x8B); a.modrmCPU(r, uint32(off)) }

// stImm: mov dword [rdi+off], imm32
func (a *jasm) stImm(off uintptr, v uint32) { a.byte1(0xC7); a.modrmCPU(0, uint32(off)); a.u32(v) }

// stImm16: mov word [rdi+off], imm16
func (a *jasm) stImm16(off uintptr, v uint16) {
	a.byte1(0x66, 0xC7)
	a.modrmCPU(0, uint32(off))
	a.byte1(byte(v), byte(v>>8))
}

// cmpByteZero: cmp byte [rdi+off], 0
func (a *jasm) cmpByteZero(off uintptr) { a.byte1(0x80); a.modrmCPU(7, uint32(off)); a.byte1(0) }

// cmpByte: cmp byte [rdi+off], v
func (a *jasm) cmpByte(off uintptr, v uint8) { a.byte1(0x80); a.modrmCPU(7, uint32(off)); a.byte1(v) }

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
func (a *jasm) aluM(op uint8, r uint8, off uintptr) { a.byte1(op); a.modrmCPU(r, uint32(off)) }

// aluMR: op [rdi+off], r32 (the memory-destination form)
func (a *jasm) aluMR(op uint8, off uintptr, r uint8) { a.byte1(op - 2); a.modrmCPU(r, uint32(off)) }

// aluRR: op dst, src (32-bit registers)
func (a *jasm) aluRR(op uint8, dst, src uint8) { a.byte1(op-2, 0xC0|src<<3|dst) }

// aluRI: op r32, imm32 (group 1: /0 add, /1 or, /4 and, /5 sub, /6 xor, /7 cmp)
func (a *jasm) aluRI(n uint8, r uint8, v uint32) { a.byte1(0x81, 0xC0|n<<3|r); a.u32(v) }

// testRR: test a, b
func (a *jasm) testRR(x, y uint8) { a.byte1(0x85, 0xC0|y<<3|x) }

// movRR: mov dst, src (32-bit)
func (a *jasm) movRR(dst, src uint8) { a.byte1(0x89, 0xC0|src<<3|dst) }

// movRI: mov r32, imm32
func (a *jasm) movRI(r uint8, v uint32) { a.byte1(0xB8 + r); a.u32(v) }

// movRI64: mov r64, imm64
func (a *jasm) movRI64(r uint8, v uint64) {
	a.byte1(0x48, 0xB8+r)
	a.b = binary.LittleEndian.AppendUint64(a.b, v)
}

// Shift group 2: /0 rol, /1 ror, /4 shl, /5 shr, /7 sar.
func (a *jasm) shRI(n uint8, r uint8, cnt uint8) { a.byte1(0xC1, 0xC0|n<<3|r, cnt) }
func (a *jasm) shRCL(n uint8, r uint8)           { a.byte1(0xD3, 0xC0|n<<3|r) }

// incR / decR: inc/dec r32
func (a *jasm) incR(r uint8) { a.byte1(0xFF, 0xC0|r) }
func (a *jasm) decR(r uint8) { a.byte1(0xFF, 0xC8|r) }

// scaleBits is a SIB byte's scale field for a multiplier.
var scaleBits = [16]byte{1: 0, 2: 1, 4: 2, 8: 3}

// leaIdx: lea eax, [rax + rcx*mul] (mul 1, 2, 4 or 8)
func (a *jasm) leaIdx(mul uint8) {
	a.byte1(0x8D, 0x04, scaleBits[mul&15]<<6|hRCX<<3|hRAX)
}

// leaDisp8: lea dst32, [src + d8]
func (a *jasm) leaDisp8(dst, src uint8, d int8) { a.byte1(0x8D, 0x40|dst<<3|src, byte(d)) }

// setcc r8 (al, cl, dl only) and movzx r32, r8
func (a *jasm) setcc(cc uint8, r uint8) { a.byte1(0x0F, 0x90|cc, 0xC0|r) }
func (a *jasm) movzxB(dst, src uint8)   { a.byte1(0x0F, 0xB6, 0xC0|dst<<3|src) }

// movzxW: movzx r32, r16
func (a *jasm) movzxW(dst, src uint8) { a.byte1(0x0F, 0xB7, 0xC0|dst<<3|src) }

// ldB: movzx r32, byte [rdi+off]
func (a *jasm) ldB(r uint8, off uintptr) { a.byte1(0x0F, 0xB6); a.modrmCPU(r, uint32(off)) }

// andImm: and dword [rdi+off], imm32; orM: or [rdi+off], r32
func (a *jasm) andImm(off uintptr, v uint32) { a.byte1(0x81); a.modrmCPU(4, uint32(off)); a.u32(v) }

// RAM accesses at [rsi+rcx]
func (a *jasm) ldRAM32(r uint8)  { a.byte1(0x8B, r<<3|4, 0x0E) }
func (a *jasm) ldRAM8(r uint8)   { a.byte1(0x0F, 0xB6, r<<3|4, 0x0E) }
func (a *jasm) ldRAM16(r uint8)  { a.byte1(0x0F, 0xB7, r<<3|4, 0x0E) }
func (a *jasm) stRAM32(r uint8)  { a.byte1(0x89, r<<3|4, 0x0E) }
func (a *jasm) stRAM8(r uint8)   { a.byte1(0x88, r<<3|4, 0x0E) }
func (a *jasm) ret()             { a.byte1(0xC3) }
func (a *jasm) pos() int         { return len(a.b) }
func (a *jasm) patch(at, to int) { binary.LittleEndian.PutUint32(a.b[at:], uint32(to-(at+4))) }

// jcc emits a jcc rel32 and returns where its displacement is, for patch.
func (a *jasm) jcc(cc uint8) int {
	a.byte1(0x0F, 0x80|cc)
	a.u32(0)
	return a.pos() - 4
}

// jmp emits a jmp rel32 and returns where its displacement is.
func (a *jasm) jmp() int {
	a.byte1(0xE9)
	a.u32(0)
	return a.pos() - 4
}
