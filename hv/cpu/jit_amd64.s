//go:build amd64 && unix

#include "textflag.h"

// func jitCall(code, cpu uintptr) uint64
//
// Calls translated code (jit.go) with the CPU's address in DI. The code
// uses AX, CX, DX, SI and DI only, pushes nothing but the return address,
// and returns its result in AX.
TEXT ·jitCall(SB), NOSPLIT, $0-24
	MOVQ code+0(FP), AX
	MOVQ cpu+8(FP), DI
	CALL AX
	MOVQ AX, ret+16(FP)
	RET
