//go:build amd64 && unix

#include "textflag.h"

// func jitCall(code, cpu, rt, wt, ram uintptr) uint64
//
// Calls translated code (jit.go) with the CPU's address in DI, its read
// and write TLBs in R8 and R9 and guest RAM in BX (jitasm.go). The code
// uses AX, BX, CX, DX, SI, DI, R8 and R9 only (none Go needs kept),
// pushes nothing but the return address, and returns its result in AX.
TEXT ·jitCall(SB), NOSPLIT, $0-48
	MOVQ code+0(FP), AX
	MOVQ cpu+8(FP), DI
	MOVQ rt+16(FP), R8
	MOVQ wt+24(FP), R9
	MOVQ ram+32(FP), BX
	CALL AX
	MOVQ AX, ret+40(FP)
	RET
