package cpu

// Names for the opcodes the interpreter's switch handles one by one
// (exec.go). An insn's op is the one-byte opcode, or 0x100 + the second
// byte for the 0F map (see insn.op); the groups of opcodes that share one
// handler (the ALU rows 00..3F, inc/dec/push/pop r32, Jcc) stay as the
// number lists their section comments describe. Mnemonics as in the SDM's
// opcode map (vol. 2, appendix A).
const (
	opcPusha    = 0x60
	opcPopa     = 0x61
	opcBound    = 0x62
	opcArpl     = 0x63
	opcMovEwSw  = 0x8C // mov r/m16, Sreg
	opcLea      = 0x8D
	opcMovSwEw  = 0x8E // mov Sreg, r/m16
	opcPopEv    = 0x8F // pop r/m
	opcNop      = 0x90 // also pause (F3 90)
	opcCbw      = 0x98 // cbw / cwde
	opcCwd      = 0x99 // cwd / cdq
	opcCallFar  = 0x9A // call ptr16:32
	opcFwait    = 0x9B
	opcPushf    = 0x9C
	opcPopf     = 0x9D
	opcSahf     = 0x9E
	opcLahf     = 0x9F
	opcEnter    = 0xC8
	opcLeave    = 0xC9
	opcInt3     = 0xCC
	opcIntIb    = 0xCD // int imm8
	opcInto     = 0xCE
	opcIret     = 0xCF
	opcSalc     = 0xD6
	opcXlat     = 0xD7
	opcLoopne   = 0xE0
	opcLoope    = 0xE1
	opcCallRel  = 0xE8
	opcJmpFar   = 0xEA // jmp ptr16:32
	opcInt1     = 0xF1 // icebp
	opcHlt      = 0xF4
	opcCmc      = 0xF5
	opcClc      = 0xF8
	opcStc      = 0xF9
	opcCld      = 0xFC
	opcStd      = 0xFD
	opcGroup4   = 0xFE  // inc/dec r/m8
	opcGroup5   = 0xFF  // inc/dec/call/jmp/push r/m
	opcGroup6   = 0x100 // 0F 00: sldt/str/lldt/ltr/verr/verw
	opcGroup7   = 0x101 // 0F 01: sgdt/sidt/lgdt/lidt/smsw/lmsw/invlpg
	opcRdtsc    = 0x131
	opcRdpmc    = 0x133
	opcSysenter = 0x134
	opcSysexit  = 0x135
	opcEmms     = 0x177
	opcCpuid    = 0x1A2
	opcGroup15  = 0x1AE // 0F AE: fxsave/fxrstor/ldmxcsr/stmxcsr/fences
	opcMovnti   = 0x1C3
	opcGroup9   = 0x1C7 // 0F C7: cmpxchg8b
)
