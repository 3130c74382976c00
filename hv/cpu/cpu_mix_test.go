package cpu

// The instruction mix of a real lguest guest kernel, row by row: every
// mnemonic that a Linux 3.14 i386 lguest kernel and its decompressor contain
// (testdata/kernel-instruction-mix.md, a copy of the research note
// shared/research/kernel-instruction-mix.md) has at least one row here with
// a concrete encoding and what a real i386 with exactly our CPUID (cpuid.go)
// does with it at CPL 1 and at CPL 3:
//
//   - executes, with its effect on registers, flags and memory checked for a
//     representative input;
//   - #GP(0): the privileged instructions the Host emulates or reflects (spec
//     §5.3, §10.2 "Not replaced", §13 item 4) and the I/O instructions with
//     IOPL 0;
//   - #UD: instructions of features our CPUID does not claim (spec §10.3: the
//     kernel's alternatives and feature checks decide from CPUID what runs, so
//     a real CPU lacking the feature is the reference);
//   - the legacy meaning of a prefixed encoding (TZCNT = REP BSF, PAUSE = REP
//     NOP) on CPUs without the newer feature.
//
// Each encoding is verified with x86asm (Intel names) and, where binutils is
// installed, with objdump, whose AT&T names are the ones the research list
// counts: a wrong encoding cannot make a row pass.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// mixOut is the architectural outcome of a row.
type mixOut struct {
	kind   int // mixExec, mixFault, mixTrap
	vec    int
	hasErr bool
	err    uint32
}

const (
	mixExec  = iota // every instruction of the row retires (ExitStep)
	mixFault        // a fault: EIP stays on the instruction, registers unchanged
	mixTrap         // a trap exit (int n / int3): EIP after the instruction
)

var (
	outExec = mixOut{kind: mixExec}
	outGP0  = mixOut{kind: mixFault, vec: VecGP, hasErr: true}
	outUD   = mixOut{kind: mixFault, vec: VecUD}
)

func outGPSel(sel uint32) mixOut { return mixOut{kind: mixFault, vec: VecGP, hasErr: true, err: sel} }
func outTrap(vec int) mixOut     { return mixOut{kind: mixTrap, vec: vec} }

func (o mixOut) String() string {
	switch o.kind {
	case mixExec:
		return "executes"
	case mixTrap:
		return fmt.Sprintf("trap %d", o.vec)
	}
	if o.hasErr {
		return fmt.Sprintf("fault %d(%#x)", o.vec, o.err)
	}
	return fmt.Sprintf("fault %d", o.vec)
}

type (
	mixSetup func(mc *machine, cpl int)
	// mixCheck returns what is wrong ("" when the effect is right).
	mixCheck func(mc *machine, cpl int) string
)

// mixRow is one instruction of the mix.
type mixRow struct {
	att   string   // mnemonic as the research list names it (objdump AT&T)
	code  []byte   // the instruction(s) under test, at mixCode
	intel string   // x86asm's decoding: prefixes and ops, space separated; "" where x86asm's tables lack it (objdump checks it)
	pre   []byte   // optional code run (and required to retire) before, at mixPre
	set   mixSetup // optional state on top of mixBase
	out   mixOut   // at CPL 1
	out3  *mixOut  // at CPL 3 when it differs
	eip   uint32   // EIP after an executing row, when not the next instruction
	chk   mixCheck // effect of an executing row
	why   string   // what decides the outcome (SDM, spec, CPUID)
	extra bool     // not in the list (the brief names it): TestMixCoverage requires that
}

const (
	mixPre  = 0x1000
	mixCode = 0x2000
	mixData = 0x6000 // EBX points here
)

// mixBase is the register file every row starts from.
var mixBase = regs{0x80, 0x3, 0, mixData, 0x8000, 0x7000, 0x6100, 0x6200}

// ---- setup and check builders ----

func setAll(fs ...mixSetup) mixSetup {
	return func(mc *machine, cpl int) {
		for _, f := range fs {
			f(mc, cpl)
		}
	}
}

// setR sets registers: pairs of (Reg, value).
func setR(kv ...uint32) mixSetup {
	return func(mc *machine, _ int) {
		for i := 0; i+1 < len(kv); i += 2 {
			mc.c.SetReg(Reg(kv[i]), kv[i+1])
		}
	}
}

// setF sets the status/control flags (IF stays set).
func setF(f uint32) mixSetup {
	return func(mc *machine, _ int) { mc.c.SetEFLAGS(f | FlagIF | 2) }
}

func setM(addr uint32, b ...byte) mixSetup {
	return func(mc *machine, _ int) { mc.load(addr, b) }
}

func setM32(addr uint32, vs ...uint32) mixSetup {
	return func(mc *machine, _ int) {
		for i, v := range vs {
			mc.w32(addr+4*uint32(i), v)
		}
	}
}

func setF64(addr uint32, x float64) mixSetup {
	return func(mc *machine, _ int) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		mc.load(addr, b[:])
	}
}

func setF32(addr uint32, x float32) mixSetup {
	return setM32(addr, math.Float32bits(x))
}

// setStack pushes values (the first ends up on top).
func setStack(vs ...uint32) mixSetup {
	return func(mc *machine, _ int) {
		for i := len(vs) - 1; i >= 0; i-- {
			mc.push32(vs[i])
		}
	}
}

// setStackSel pushes a frame whose words may depend on the CPL.
func setStackSel(f func(cpl int) []uint32) mixSetup {
	return func(mc *machine, cpl int) { setStack(f(cpl)...)(mc, cpl) }
}

func chkAll(fs ...mixCheck) mixCheck {
	return func(mc *machine, cpl int) string {
		var errs []string
		for _, f := range fs {
			if s := f(mc, cpl); s != "" {
				errs = append(errs, s)
			}
		}
		return strings.Join(errs, "; ")
	}
}

// wantR checks registers: pairs of (Reg, value).
func wantR(kv ...uint32) mixCheck {
	return func(mc *machine, _ int) string {
		var errs []string
		for i := 0; i+1 < len(kv); i += 2 {
			if got := mc.c.Reg(Reg(kv[i])); got != kv[i+1] {
				errs = append(errs, fmt.Sprintf("%s = %#x, want %#x", regNames[kv[i]], got, kv[i+1]))
			}
		}
		return strings.Join(errs, "; ")
	}
}

// wantF checks the EFLAGS bits in mask.
func wantF(mask, v uint32) mixCheck {
	return func(mc *machine, _ int) string {
		if got := mc.c.EFLAGS() & mask; got != v&mask {
			return fmt.Sprintf("flags&%#x = %#x (%s), want %#x (%s)", mask, got, flagString(got), v&mask, flagString(v&mask))
		}
		return ""
	}
}

func wantM(addr uint32, b ...byte) mixCheck {
	return func(mc *machine, _ int) string {
		got := mc.ram[addr : addr+uint32(len(b))]
		if !bytes.Equal(got, b) {
			return fmt.Sprintf("mem[%#x] = % x, want % x", addr, got, b)
		}
		return ""
	}
}

func wantM32(addr uint32, vs ...uint32) mixCheck {
	return func(mc *machine, _ int) string {
		for i, v := range vs {
			a := addr + 4*uint32(i)
			if got := mc.r32(a); got != v {
				return fmt.Sprintf("mem32[%#x] = %#x, want %#x", a, got, v)
			}
		}
		return ""
	}
}

func wantSel(s SReg, sel func(cpl int) uint16) mixCheck {
	return func(mc *machine, cpl int) string {
		if got := mc.c.Seg(s); got.Sel != sel(cpl) || !got.Valid {
			return fmt.Sprintf("segment %d = %#x (valid %v), want %#x", s, got.Sel, got.Valid, sel(cpl))
		}
		return ""
	}
}

func wantCPL(want int) mixCheck {
	return func(mc *machine, _ int) string {
		if got := mc.c.CPL(); got != want {
			return fmt.Sprintf("CPL = %d, want %d", got, want)
		}
		return ""
	}
}

// wantST checks x87 register ST(i) holds x exactly (and is not empty).
func wantST(i int, x float64) mixCheck {
	return func(mc *machine, _ int) string {
		f := &mc.c.fpu
		p := (f.top() + i) & 7
		if f.tag(p) == 3 {
			return fmt.Sprintf("ST(%d) is empty", i)
		}
		v, ok := ext80ToBig(f.st[p])
		if !ok {
			return fmt.Sprintf("ST(%d) = % x is not a normal number", i, f.st[p])
		}
		if got, _ := v.Float64(); got != x {
			return fmt.Sprintf("ST(%d) = %v, want %v", i, got, x)
		}
		return ""
	}
}

// wantFPU checks the x87 control, status (with TOP) and full tag words.
func wantFPU(fcw, fsw, ftw uint16) mixCheck {
	return func(mc *machine, _ int) string {
		f := &mc.c.fpu
		if f.fcw != fcw || f.fsw != fsw || f.ftw != ftw {
			return fmt.Sprintf("fcw/fsw/ftw = %#x/%#x/%#x, want %#x/%#x/%#x", f.fcw, f.fsw, f.ftw, fcw, fsw, ftw)
		}
		return ""
	}
}

// ---- encodings used by several rows ----

var (
	x87Init = []byte{0xDB, 0xE3} // fninit
	x87One  = []byte{0xD9, 0xE8} // fld1
	// ext80(1.0) and ext80(2.0), as FNSAVE/FXSAVE store them
	ext80One = []byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F}
	ext80Two = []byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0x40}
)

// rel8 assembles a short branch at mixCode to target.
func rel8(op byte, target uint32) []byte { return []byte{op, byte(target - (mixCode + 2))} }

func dsSel(cpl int) uint16 {
	if cpl == 3 {
		return selUDS
	}
	return selKDS
}

func csSel(cpl int) uint16 {
	if cpl == 3 {
		return selUCS
	}
	return selKCS
}

const (
	arith = statusFlags
	fC    = FlagCF
	fZ    = FlagZF
	fS    = FlagSF
	fO    = FlagOF
	fP    = FlagPF
	fA    = FlagAF
)

// rJcc is a taken conditional branch: flags that make cc true, to +5.
func rJcc(att string, op byte, intel string, flags uint32) mixRow {
	return mixRow{att: att, code: rel8(op, mixCode+7), intel: intel, set: setF(flags), out: outExec,
		eip: mixCode + 7, why: "Jcc rel8, condition true"}
}

// rSetcc is SETcc AL with flags that make the condition true.
func rSetcc(att string, op byte, intel string, flags uint32) mixRow {
	return mixRow{att: att, code: []byte{0x0F, op, 0xC0}, intel: intel, set: setAll(setR(uint32(EAX), 0xFFFFFF00), setF(flags)),
		out: outExec, chk: wantR(uint32(EAX), 0xFFFFFF01)}
}

// rCmov is CMOVcc EAX, ECX with flags that make the condition true.
func rCmov(att string, op byte, intel string, flags uint32) mixRow {
	return mixRow{att: att, code: []byte{0x0F, op, 0xC1}, intel: intel, set: setAll(setR(uint32(EAX), 1, uint32(ECX), 0xCAFE), setF(flags)),
		out: outExec, chk: wantR(uint32(EAX), 0xCAFE)}
}

// rPriv is a privileged instruction: #GP(0) at CPL 1 and 3.
func rPriv(att string, code []byte, intel, why string) mixRow {
	return mixRow{att: att, code: code, intel: intel, out: outGP0, why: why}
}

// rUD is an instruction of a feature our CPUID does not claim.
func rUD(att string, code []byte, intel, why string) mixRow {
	return mixRow{att: att, code: code, intel: intel, out: outUD, why: why}
}

const (
	rEAX = uint32(EAX)
	rECX = uint32(ECX)
	rEDX = uint32(EDX)
	rEBX = uint32(EBX)
	rESP = uint32(ESP)
	rEBP = uint32(EBP)
	rESI = uint32(ESI)
	rEDI = uint32(EDI)
)

// mixRows is the table. Memory operands use [EBX] = mixData.
func mixRows() []mixRow {
	return []mixRow{
		// ---- data movement ----
		{att: "mov", code: []byte{0x89, 0xC8}, intel: "MOV", out: outExec, chk: wantR(rEAX, 3)},
		{att: "mov", code: []byte{0x8B, 0x43, 0x04}, intel: "MOV", set: setM32(mixData+4, 0xA5A5), out: outExec,
			chk: wantR(rEAX, 0xA5A5)},
		{att: "mov", code: []byte{0x8E, 0xD8}, intel: "MOV", set: func(mc *machine, cpl int) { mc.c.SetReg(EAX, uint32(dsSel(cpl))) },
			out: outExec, chk: wantSel(DS, dsSel), why: "mov Sreg with a DPL = CPL data selector"},
		rPriv("mov", []byte{0x0F, 0x22, 0xD8}, "MOV", "mov %eax,%cr3: CPL > 0 (spec §10.2 write_cr3 is a hypercall)"),
		rPriv("mov", []byte{0x0F, 0x20, 0xC0}, "MOV", "mov %cr0,%eax: CPL > 0 (read_cr0 is cached by the guest)"),
		rPriv("mov", []byte{0x0F, 0x20, 0xD0}, "MOV", "mov %cr2,%eax: CPL > 0 (the guest reads lguest_data.cr2)"),
		rPriv("mov", []byte{0x0F, 0x22, 0xE0}, "MOV", "mov %eax,%cr4: CPL > 0"),
		rPriv("mov", []byte{0x0F, 0x23, 0xF8}, "MOV", "mov %eax,%db7: CPL > 0 (set_debugreg is a no-op pv-op)"),
		rPriv("mov", []byte{0x0F, 0x21, 0xC0}, "MOV", "mov %db0,%eax: CPL > 0"),
		{att: "movl", code: []byte{0xC7, 0x03, 0x78, 0x56, 0x34, 0x12}, intel: "MOV", out: outExec, chk: wantM32(mixData, 0x12345678)},
		{att: "movw", code: []byte{0x66, 0xC7, 0x03, 0x34, 0x12}, intel: "MOV", set: setM32(mixData, 0xFFFFFFFF), out: outExec,
			chk: wantM32(mixData, 0xFFFF1234)},
		{att: "movb", code: []byte{0xC6, 0x03, 0x7F}, intel: "MOV", set: setM32(mixData, 0xFFFFFFFF), out: outExec,
			chk: wantM32(mixData, 0xFFFFFF7F)},
		{att: "movzbl", code: []byte{0x0F, 0xB6, 0x03}, intel: "MOVZX", set: setM32(mixData, 0x1234F0), out: outExec, chk: wantR(rEAX, 0xF0)},
		{att: "movzwl", code: []byte{0x0F, 0xB7, 0x03}, intel: "MOVZX", set: setM32(mixData, 0x12F00F), out: outExec, chk: wantR(rEAX, 0xF00F)},
		{att: "movsbl", code: []byte{0x0F, 0xBE, 0x03}, intel: "MOVSX", set: setM32(mixData, 0x80), out: outExec, chk: wantR(rEAX, 0xFFFFFF80)},
		{att: "movswl", code: []byte{0x0F, 0xBF, 0x03}, intel: "MOVSX", set: setM32(mixData, 0x8001), out: outExec, chk: wantR(rEAX, 0xFFFF8001)},
		{att: "movsbw", code: []byte{0x66, 0x0F, 0xBE, 0x03}, intel: "MOVSX", set: setAll(setM32(mixData, 0xFE), setR(rEAX, 0x12345678)),
			out: outExec, chk: wantR(rEAX, 0x1234FFFE)},
		{att: "lea", code: []byte{0x8D, 0x44, 0x8B, 0x08}, intel: "LEA", out: outExec, chk: wantR(rEAX, mixData+3*4+8)},
		{att: "xchg", code: []byte{0x87, 0x03}, intel: "XCHG", set: setM32(mixData, 0x55), out: outExec,
			chk: chkAll(wantR(rEAX, 0x55), wantM32(mixData, 0x80))},
		{att: "push", code: []byte{0x53}, intel: "PUSH", out: outExec, chk: chkAll(wantR(rESP, 0x7FFC), wantM32(0x7FFC, mixData))},
		{att: "pop", code: []byte{0x5B}, intel: "POP", set: setStack(0xBEEF), out: outExec, chk: wantR(rEBX, 0xBEEF, rESP, 0x8000)},
		{att: "pushf", code: []byte{0x9C}, intel: "PUSHFD", set: setF(fC | fZ), out: outExec,
			chk: wantM32(0x7FFC, FlagIF|fC|fZ|2), why: "IF set, IOPL 0 (spec §13 item 4)"},
		{att: "popf", code: []byte{0x9D}, intel: "POPFD", set: setStack(fC | FlagDF | 2), out: outExec,
			chk: wantF(FlagIF|FlagIOPL|FlagDF|fC|fZ, FlagIF|FlagDF|fC),
			why: "SDM POPF: CPL > IOPL = 0, so IF (and IOPL) keep their values; only lg_restore_fl changes the virtual IF"},
		{att: "cltd", code: []byte{0x99}, intel: "CDQ", set: setR(rEAX, 0x80000000, rEDX, 5), out: outExec, chk: wantR(rEDX, 0xFFFFFFFF)},
		{att: "cwtl", code: []byte{0x98}, intel: "CWDE", set: setR(rEAX, 0x1234FFFE), out: outExec, chk: wantR(rEAX, 0xFFFFFFFE)},
		{att: "bswap", code: []byte{0x0F, 0xC8}, intel: "BSWAP", set: setR(rEAX, 0x11223344), out: outExec, chk: wantR(rEAX, 0x44332211)},
		{att: "lss", code: []byte{0x0F, 0xB2, 0x23}, intel: "LSS",
			set: func(mc *machine, cpl int) { mc.w32(mixData, 0x5000); mc.w32(mixData+4, uint32(dsSel(cpl))) },
			out: outExec, chk: chkAll(wantR(rESP, 0x5000), wantSel(SS, dsSel)), why: "lss stack_start,%esp (head_32.S)"},

		// ---- arithmetic and logic ----
		{att: "add", code: []byte{0x01, 0xC8}, intel: "ADD", set: setR(rEAX, 0x7FFFFFFF, rECX, 1), out: outExec,
			chk: chkAll(wantR(rEAX, 0x80000000), wantF(arith, fO|fS|fA|fP))},
		{att: "addl", code: []byte{0x83, 0x03, 0x01}, intel: "ADD", set: setM32(mixData, 0xFFFFFFFF), out: outExec,
			chk: chkAll(wantM32(mixData, 0), wantF(fC|fZ, fC|fZ))},
		{att: "addw", code: []byte{0x66, 0x83, 0x03, 0x01}, intel: "ADD", set: setM32(mixData, 0x1FFFF), out: outExec,
			chk: chkAll(wantM32(mixData, 0x10000), wantF(fC|fZ, fC|fZ))},
		{att: "addb", code: []byte{0x80, 0x03, 0x01}, intel: "ADD", set: setM32(mixData, 0x1FF), out: outExec,
			chk: chkAll(wantM32(mixData, 0x100), wantF(fC|fZ, fC|fZ))},
		{att: "lockaddl", code: []byte{0xF0, 0x83, 0x04, 0x24, 0x00}, intel: "LOCK ADD", set: setStack(0), out: outExec,
			chk: chkAll(wantM32(0x7FFC, 0), wantF(fZ, fZ)), why: "lock addl $0,(%esp): the barrier of mb() without SSE2 alternatives"},
		{att: "adc", code: []byte{0x11, 0xC8}, intel: "ADC", set: setAll(setR(rEAX, 5, rECX, 6), setF(fC)), out: outExec,
			chk: wantR(rEAX, 12)},
		{att: "adcl", code: []byte{0x83, 0x13, 0x00}, intel: "ADC", set: setAll(setM32(mixData, 9), setF(fC)), out: outExec,
			chk: wantM32(mixData, 10)},
		{att: "sub", code: []byte{0x29, 0xC8}, intel: "SUB", set: setR(rEAX, 3, rECX, 5), out: outExec,
			chk: chkAll(wantR(rEAX, 0xFFFFFFFE), wantF(fC|fS|fZ, fC|fS))},
		{att: "subl", code: []byte{0x83, 0x2B, 0x01}, intel: "SUB", set: setM32(mixData, 1), out: outExec,
			chk: chkAll(wantM32(mixData, 0), wantF(fZ, fZ))},
		{att: "subw", code: []byte{0x66, 0x83, 0x2B, 0x01}, intel: "SUB", set: setM32(mixData, 0x10000), out: outExec,
			chk: chkAll(wantM32(mixData, 0x1FFFF), wantF(fC, fC))},
		{att: "sbb", code: []byte{0x19, 0xC8}, intel: "SBB", set: setAll(setR(rEAX, 5, rECX, 5), setF(fC)), out: outExec,
			chk: chkAll(wantR(rEAX, 0xFFFFFFFF), wantF(fC, fC))},
		{att: "sbbl", code: []byte{0x83, 0x1B, 0x00}, intel: "SBB", set: setAll(setM32(mixData, 0), setF(fC)), out: outExec,
			chk: wantM32(mixData, 0xFFFFFFFF)},
		{att: "cmp", code: []byte{0x39, 0xC8}, intel: "CMP", set: setR(rEAX, 1, rECX, 2), out: outExec,
			chk: chkAll(wantR(rEAX, 1), wantF(fC|fZ|fS, fC|fS))},
		{att: "cmpl", code: []byte{0x83, 0x3B, 0x05}, intel: "CMP", set: setM32(mixData, 5), out: outExec, chk: wantF(fZ|fC, fZ)},
		{att: "cmpw", code: []byte{0x66, 0x83, 0x3B, 0x05}, intel: "CMP", set: setM32(mixData, 0xFFFF0004), out: outExec,
			chk: wantF(fZ|fC, fC)},
		{att: "cmpb", code: []byte{0x80, 0x3B, 0x05}, intel: "CMP", set: setM32(mixData, 0x105), out: outExec, chk: wantF(fZ|fC, fZ)},
		{att: "test", code: []byte{0x85, 0xC8}, intel: "TEST", set: setAll(setR(rEAX, 0xF0, rECX, 0x0F), setF(fC|fO)), out: outExec,
			chk: wantF(fZ|fC|fO, fZ)},
		{att: "testl", code: []byte{0xF7, 0x03, 0x00, 0x00, 0x00, 0x80}, intel: "TEST", set: setM32(mixData, 0x80000000), out: outExec,
			chk: wantF(fZ|fS, fS)},
		{att: "testw", code: []byte{0x66, 0xF7, 0x03, 0x00, 0x80}, intel: "TEST", set: setM32(mixData, 0x8000), out: outExec,
			chk: wantF(fZ|fS, fS)},
		{att: "testb", code: []byte{0xF6, 0x03, 0x01}, intel: "TEST", set: setM32(mixData, 0x100), out: outExec, chk: wantF(fZ, fZ)},
		{att: "and", code: []byte{0x21, 0xC8}, intel: "AND", set: setR(rEAX, 0xFF, rECX, 0x0F), out: outExec, chk: wantR(rEAX, 0x0F)},
		{att: "andl", code: []byte{0x83, 0x23, 0x0F}, intel: "AND", set: setM32(mixData, 0xFF), out: outExec, chk: wantM32(mixData, 0x0F)},
		{att: "andb", code: []byte{0x80, 0x23, 0x0F}, intel: "AND", set: setM32(mixData, 0x1F0), out: outExec,
			chk: chkAll(wantM32(mixData, 0x100), wantF(fZ, fZ))},
		{att: "or", code: []byte{0x09, 0xC8}, intel: "OR", set: setR(rEAX, 0xF0, rECX, 0x0F), out: outExec, chk: wantR(rEAX, 0xFF)},
		{att: "orl", code: []byte{0x83, 0x0B, 0x01}, intel: "OR", set: setM32(mixData, 0x10), out: outExec, chk: wantM32(mixData, 0x11)},
		{att: "orb", code: []byte{0x80, 0x0B, 0x80}, intel: "OR", set: setM32(mixData, 0x01), out: outExec,
			chk: chkAll(wantM32(mixData, 0x81), wantF(fS, fS))},
		{att: "xor", code: []byte{0x31, 0xC0}, intel: "XOR", set: setF(fC | fO), out: outExec,
			chk: chkAll(wantR(rEAX, 0), wantF(fZ|fC|fO|fP, fZ|fP))},
		{att: "xorb", code: []byte{0x80, 0x33, 0xFF}, intel: "XOR", set: setM32(mixData, 0x0F0F), out: outExec, chk: wantM32(mixData, 0x0FF0)},
		{att: "not", code: []byte{0xF7, 0xD0}, intel: "NOT", set: setR(rEAX, 0x0F0F0F0F), out: outExec, chk: wantR(rEAX, 0xF0F0F0F0)},
		{att: "notl", code: []byte{0xF7, 0x13}, intel: "NOT", set: setM32(mixData, 0), out: outExec, chk: wantM32(mixData, 0xFFFFFFFF)},
		{att: "neg", code: []byte{0xF7, 0xD8}, intel: "NEG", set: setR(rEAX, 1), out: outExec,
			chk: chkAll(wantR(rEAX, 0xFFFFFFFF), wantF(fC, fC))},
		{att: "negl", code: []byte{0xF7, 0x1B}, intel: "NEG", set: setM32(mixData, 0), out: outExec,
			chk: chkAll(wantM32(mixData, 0), wantF(fC|fZ, fZ))},
		{att: "inc", code: []byte{0x40}, intel: "INC", set: setAll(setR(rEAX, 0xFFFFFFFF), setF(fC)), out: outExec,
			chk: chkAll(wantR(rEAX, 0), wantF(fC|fZ, fC|fZ)), why: "INC keeps CF"},
		{att: "incl", code: []byte{0xFF, 0x03}, intel: "INC", set: setM32(mixData, 0x7FFFFFFF), out: outExec,
			chk: chkAll(wantM32(mixData, 0x80000000), wantF(fO, fO))},
		{att: "incw", code: []byte{0x66, 0xFF, 0x03}, intel: "INC", set: setM32(mixData, 0x1FFFF), out: outExec,
			chk: chkAll(wantM32(mixData, 0x10000), wantF(fZ, fZ))},
		{att: "incb", code: []byte{0xFE, 0x03}, intel: "INC", set: setM32(mixData, 0x1FF), out: outExec, chk: wantM32(mixData, 0x100)},
		{att: "dec", code: []byte{0x48}, intel: "DEC", set: setAll(setR(rEAX, 1), setF(fC)), out: outExec,
			chk: chkAll(wantR(rEAX, 0), wantF(fC|fZ, fC|fZ))},
		{att: "decl", code: []byte{0xFF, 0x0B}, intel: "DEC", set: setM32(mixData, 0), out: outExec,
			chk: chkAll(wantM32(mixData, 0xFFFFFFFF), wantF(fS, fS))},
		{att: "decw", code: []byte{0x66, 0xFF, 0x0B}, intel: "DEC", set: setM32(mixData, 0x10000), out: outExec, chk: wantM32(mixData, 0x1FFFF)},
		{att: "decb", code: []byte{0xFE, 0x0B}, intel: "DEC", set: setM32(mixData, 0x100), out: outExec, chk: wantM32(mixData, 0x1FF)},
		{att: "mul", code: []byte{0xF7, 0xE1}, intel: "MUL", set: setR(rEAX, 0x80000000, rECX, 4), out: outExec,
			chk: chkAll(wantR(rEAX, 0, rEDX, 2), wantF(fC|fO, fC|fO))},
		{att: "mull", code: []byte{0xF7, 0x23}, intel: "MUL", set: setAll(setM32(mixData, 3), setR(rEAX, 5)), out: outExec,
			chk: chkAll(wantR(rEAX, 15, rEDX, 0), wantF(fC|fO, 0))},
		{att: "imul", code: []byte{0x0F, 0xAF, 0xC1}, intel: "IMUL", set: setR(rEAX, 0xFFFFFFFE, rECX, 7), out: outExec,
			chk: chkAll(wantR(rEAX, 0xFFFFFFF2), wantF(fC|fO, 0))},
		{att: "imull", code: []byte{0xF7, 0x2B}, intel: "IMUL", set: setAll(setM32(mixData, 0xFFFFFFFF), setR(rEAX, 0x80000000)), out: outExec,
			chk: chkAll(wantR(rEAX, 0x80000000, rEDX, 0), wantF(fC|fO, fC|fO))},
		{att: "div", code: []byte{0xF7, 0xF1}, intel: "DIV", set: setR(rEAX, 100, rEDX, 1, rECX, 7), out: outExec,
			chk: wantR(rEAX, uint32((1<<32+100)/7), rEDX, uint32((1<<32+100)%7))},
		{att: "div", code: []byte{0xF7, 0xF1}, intel: "DIV", set: setR(rEAX, 0, rEDX, 7, rECX, 7),
			out: mixOut{kind: mixFault, vec: VecDE}, why: "quotient overflow: #DE"},
		{att: "divl", code: []byte{0xF7, 0x33}, intel: "DIV", set: setAll(setM32(mixData, 10), setR(rEAX, 105, rEDX, 0)), out: outExec,
			chk: wantR(rEAX, 10, rEDX, 5)},
		{att: "idiv", code: []byte{0xF7, 0xF9}, intel: "IDIV", set: setR(rEAX, 0xFFFFFFF9, rEDX, 0xFFFFFFFF, rECX, 2), out: outExec,
			chk: wantR(rEAX, 0xFFFFFFFD, rEDX, 0xFFFFFFFF)},
		{att: "idivl", code: []byte{0xF7, 0x3B}, intel: "IDIV", set: setAll(setM32(mixData, 0xFFFFFFFD), setR(rEAX, 10, rEDX, 0)), out: outExec,
			chk: wantR(rEAX, 0xFFFFFFFD, rEDX, 1)},

		// ---- shifts, rotates, bit operations ----
		{att: "shl", code: []byte{0xD3, 0xE0}, intel: "SHL", set: setR(rEAX, 0x80000001, rECX, 1), out: outExec,
			chk: chkAll(wantR(rEAX, 2), wantF(fC, fC))},
		{att: "shll", code: []byte{0xC1, 0x23, 0x04}, intel: "SHL", set: setM32(mixData, 0x0F000001), out: outExec,
			chk: wantM32(mixData, 0xF0000010)},
		{att: "shr", code: []byte{0xD1, 0xE8}, intel: "SHR", set: setR(rEAX, 3), out: outExec, chk: chkAll(wantR(rEAX, 1), wantF(fC, fC))},
		{att: "shrl", code: []byte{0xC1, 0x2B, 0x04}, intel: "SHR", set: setM32(mixData, 0x80000000), out: outExec,
			chk: wantM32(mixData, 0x08000000)},
		{att: "sar", code: []byte{0xD1, 0xF8}, intel: "SAR", set: setR(rEAX, 0x80000000), out: outExec, chk: wantR(rEAX, 0xC0000000)},
		{att: "sarl", code: []byte{0xC1, 0x3B, 0x04}, intel: "SAR", set: setM32(mixData, 0xF0000000), out: outExec,
			chk: wantM32(mixData, 0xFF000000)},
		{att: "rol", code: []byte{0xC1, 0xC0, 0x08}, intel: "ROL", set: setR(rEAX, 0x12345678), out: outExec, chk: wantR(rEAX, 0x34567812)},
		{att: "ror", code: []byte{0xC1, 0xC8, 0x08}, intel: "ROR", set: setR(rEAX, 0x12345678), out: outExec, chk: wantR(rEAX, 0x78123456)},
		{att: "shld", code: []byte{0x0F, 0xA4, 0xC8, 0x08}, intel: "SHLD", set: setR(rEAX, 0x12345678, rECX, 0xABCDEF01), out: outExec,
			chk: wantR(rEAX, 0x345678AB)},
		{att: "shrd", code: []byte{0x0F, 0xAD, 0xC8}, intel: "SHRD", set: setR(rEAX, 0x12345678, rECX, 4), out: outExec,
			chk: wantR(rEAX, 0x41234567), why: "shrd %cl,%ecx,%eax with ECX = 4 (count and source are the same register)"},
		{att: "bt", code: []byte{0x0F, 0xA3, 0xC8}, intel: "BT", set: setR(rEAX, 0x8, rECX, 3), out: outExec, chk: wantF(fC, fC)},
		{att: "btl", code: []byte{0x0F, 0xBA, 0x23, 0x05}, intel: "BT", set: setM32(mixData, 0x20), out: outExec, chk: wantF(fC, fC)},
		{att: "bts", code: []byte{0x0F, 0xAB, 0x0B}, intel: "BTS", set: setR(rECX, 33), out: outExec,
			chk: chkAll(wantM32(mixData, 0, 2), wantF(fC, 0)), why: "bit offset 33 in a register addresses the next dword"},
		{att: "btsl", code: []byte{0x0F, 0xBA, 0x2B, 0x05}, intel: "BTS", set: setM32(mixData, 1), out: outExec,
			chk: chkAll(wantM32(mixData, 0x21), wantF(fC, 0))},
		{att: "btr", code: []byte{0x0F, 0xB3, 0xC8}, intel: "BTR", set: setR(rEAX, 0xF, rECX, 0), out: outExec,
			chk: chkAll(wantR(rEAX, 0xE), wantF(fC, fC))},
		{att: "btrl", code: []byte{0x0F, 0xBA, 0x33, 0x05}, intel: "BTR", set: setM32(mixData, 0x21), out: outExec,
			chk: chkAll(wantM32(mixData, 1), wantF(fC, fC))},
		{att: "btc", code: []byte{0x0F, 0xBB, 0xC8}, intel: "BTC", set: setR(rEAX, 0, rECX, 31), out: outExec,
			chk: chkAll(wantR(rEAX, 0x80000000), wantF(fC, 0))},
		{att: "bsr", code: []byte{0x0F, 0xBD, 0xC1}, intel: "BSR", set: setR(rECX, 0x00F00000), out: outExec,
			chk: chkAll(wantR(rEAX, 23), wantF(fZ, 0))},
		{att: "bsf", code: []byte{0x0F, 0xBC, 0xC1}, intel: "BSF", set: setR(rECX, 0x00F00000), out: outExec,
			chk: chkAll(wantR(rEAX, 20), wantF(fZ, 0))},
		{att: "tzcnt", code: []byte{0xF3, 0x0F, 0xBC, 0xC1}, intel: "TZCNT", set: setR(rECX, 0x00F00000), out: outExec,
			chk: chkAll(wantR(rEAX, 20), wantF(fZ, 0)), why: "no BMI1: REP BSF"},
		{att: "tzcnt", code: []byte{0xF3, 0x0F, 0xBC, 0xC1}, intel: "TZCNT", set: setR(rEAX, 0x1234, rECX, 0), out: outExec,
			chk: chkAll(wantR(rEAX, 0x1234), wantF(fZ, fZ)),
			why: "no BMI1: REP BSF, so a zero source sets ZF and keeps the destination (TZCNT would give 32 and CF)"},
		rUD("popcnt", []byte{0xF3, 0x0F, 0xB8, 0xC1}, "POPCNT", "CPUID.1:ECX.POPCNT[23] = 0"),
		rUD("crc32", []byte{0xF2, 0x0F, 0x38, 0xF1, 0xC1}, "CRC32", "CPUID.1:ECX.SSE4_2[20] = 0"),

		// ---- conditions ----
		rSetcc("sete", 0x94, "SETE", fZ),
		rSetcc("setne", 0x95, "SETNE", 0),
		rSetcc("seta", 0x97, "SETA", 0),
		rSetcc("setae", 0x93, "SETAE", 0),
		rSetcc("setb", 0x92, "SETB", fC),
		rSetcc("setbe", 0x96, "SETBE", fZ),
		rSetcc("setg", 0x9F, "SETG", fS|fO),
		rSetcc("setge", 0x9D, "SETGE", 0),
		rSetcc("setl", 0x9C, "SETL", fS),
		rSetcc("setle", 0x9E, "SETLE", fZ),
		{att: "sete", code: []byte{0x0F, 0x94, 0x03}, intel: "SETE", set: setAll(setM32(mixData, 0xFFFF), setF(0)), out: outExec,
			chk: wantM32(mixData, 0xFF00), why: "memory form, condition false"},
		rCmov("cmove", 0x44, "CMOVE", fZ),
		rCmov("cmovne", 0x45, "CMOVNE", 0),
		rCmov("cmova", 0x47, "CMOVA", 0),
		rCmov("cmovae", 0x43, "CMOVAE", 0),
		rCmov("cmovb", 0x42, "CMOVB", fC),
		rCmov("cmovbe", 0x46, "CMOVBE", fC),
		rCmov("cmovg", 0x4F, "CMOVG", 0),
		rCmov("cmovge", 0x4D, "CMOVGE", fS|fO),
		rCmov("cmovl", 0x4C, "CMOVL", fO),
		rCmov("cmovle", 0x4E, "CMOVLE", fZ),
		rCmov("cmovs", 0x48, "CMOVS", fS),
		rCmov("cmovns", 0x49, "CMOVNS", 0),
		{att: "cmove", code: []byte{0x0F, 0x44, 0x03}, intel: "CMOVE", set: setAll(setR(rEAX, 1), setF(0)), out: outExec,
			chk: wantR(rEAX, 1), why: "condition false: EAX unchanged (the source is still read)"},

		// ---- control transfer ----
		{att: "jmp", code: rel8(0xEB, mixCode+0x20), intel: "JMP", out: outExec, eip: mixCode + 0x20},
		{att: "jmp", code: []byte{0xFF, 0xE0}, intel: "JMP", set: setR(rEAX, 0x3000), out: outExec, eip: 0x3000},
		rJcc("je", 0x74, "JE", fZ),
		rJcc("jne", 0x75, "JNE", 0),
		rJcc("jae", 0x73, "JAE", 0),
		rJcc("jbe", 0x76, "JBE", fC),
		rJcc("jb", 0x72, "JB", fC),
		rJcc("ja", 0x77, "JA", 0),
		rJcc("jle", 0x7E, "JLE", fS),
		rJcc("js", 0x78, "JS", fS),
		rJcc("jns", 0x79, "JNS", 0),
		rJcc("jg", 0x7F, "JG", 0),
		rJcc("jl", 0x7C, "JL", fO),
		rJcc("jge", 0x7D, "JGE", fS|fO),
		rJcc("jo", 0x70, "JO", fO),
		{att: "je", code: []byte{0x0F, 0x84, 0x00, 0x01, 0x00, 0x00}, intel: "JE", set: setF(0), out: outExec,
			why: "jcc rel32, condition false: falls through"},
		{att: "call", code: cat([]byte{0xE8}, le32(0x1000-5)), intel: "CALL", out: outExec, eip: mixCode + 0x1000,
			chk: chkAll(wantR(rESP, 0x7FFC), wantM32(0x7FFC, mixCode+5))},
		{att: "call", code: []byte{0xFF, 0xD0}, intel: "CALL", set: setR(rEAX, 0x4000), out: outExec, eip: 0x4000,
			chk: wantM32(0x7FFC, mixCode+2)},
		{att: "ret", code: []byte{0xC3}, intel: "RET", set: setStack(0x3456), out: outExec, eip: 0x3456, chk: wantR(rESP, 0x8000)},
		{att: "leave", code: []byte{0xC9}, intel: "LEAVE", set: setAll(setR(rEBP, 0x7000), setM32(0x7000, 0x7777)), out: outExec,
			chk: wantR(rEBP, 0x7777, rESP, 0x7004)},
		{att: "loop", code: rel8(0xE2, mixCode+0x10), intel: "LOOP", set: setR(rECX, 2), out: outExec, eip: mixCode + 0x10,
			chk: wantR(rECX, 1)},
		{att: "loop", code: rel8(0xE2, mixCode+0x10), intel: "LOOP", set: setR(rECX, 1), out: outExec, chk: wantR(rECX, 0),
			why: "ECX reaches 0: falls through"},
		{att: "ljmp", code: []byte{0xEA, 0x00, 0x30, 0x00, 0x00, 0x61, 0x00}, intel: "LJMP", out: outExec, eip: 0x3000,
			chk: wantCPL(1), out3: &mixOut{kind: mixFault, vec: VecGP, hasErr: true, err: selKCS &^ 3},
			why: "ljmp $__KERNEL_CS: at CPL 3 a DPL 1 non-conforming code segment is #GP(sel)"},
		{att: "iret", code: []byte{0xCF}, intel: "IRETD",
			set: setStackSel(func(cpl int) []uint32 { return []uint32{0x3000, uint32(csSel(cpl)), FlagIF | fC | 2} }),
			out: outExec,
			eip: 0x3000,
			chk: chkAll(wantR(rESP, 0x8000), wantF(fC|FlagIF, fC|FlagIF)),
			why: "same-privilege return, as lguest_iret ends (spec §5.5)"},
		{att: "int", code: []byte{0xCD, 0x1F}, intel: "INT", set: func(mc *machine, _ int) { mc.c.SetGate(0x1f, Gate{DPL: 1, Type: 0xE}) },
			out: outTrap(0x1f), out3: ptrOut(outGPSel(0x1f<<3 | 2)),
			why: "LGUEST_TRAP_ENTRY: the hypercall gate has DPL 1 (spec §3.1, §5.6)"},
		{att: "int3", code: []byte{0xCC}, intel: "INT", set: func(mc *machine, _ int) { mc.c.SetGate(VecBP, Gate{DPL: 3, Type: 0xE}) },
			out: outTrap(VecBP), why: "a Host stub gate with DPL 3, as set_system_intr_gate(X86_TRAP_BP)"},
		rUD("ud2", []byte{0x0F, 0x0B}, "UD2", "BUG()"),

		// ---- string instructions ----
		{att: "movsb", code: []byte{0xA4}, intel: "MOVSB", set: setM(0x6100, 0x5A), out: outExec,
			chk: chkAll(wantM(0x6200, 0x5A), wantR(rESI, 0x6101, rEDI, 0x6201))},
		{att: "movsb", code: []byte{0xA4}, intel: "MOVSB", set: setAll(setM(0x6100, 0x5A), setF(FlagDF)), out: outExec,
			chk: chkAll(wantM(0x6200, 0x5A), wantR(rESI, 0x60FF, rEDI, 0x61FF)), why: "DF = 1 counts down"},
		{att: "repmovsb", code: []byte{0xF3, 0xA4}, intel: "REP MOVSB", set: setAll(setM(0x6100, 1, 2, 3, 4, 5), setR(rECX, 5)), out: outExec,
			chk: chkAll(wantM(0x6200, 1, 2, 3, 4, 5, 0), wantR(rECX, 0, rESI, 0x6105, rEDI, 0x6205))},
		{att: "repmovsl", code: []byte{0xF3, 0xA5}, intel: "REP MOVSD", set: setAll(setM32(0x6100, 7, 8, 9), setR(rECX, 2)), out: outExec,
			chk: chkAll(wantM32(0x6200, 7, 8, 0), wantR(rECX, 0, rESI, 0x6108, rEDI, 0x6208))},
		{att: "repstos", code: []byte{0xF3, 0xAB}, intel: "REP STOSD", set: setR(rEAX, 0xDEADBEEF, rECX, 2), out: outExec,
			chk: chkAll(wantM32(0x6200, 0xDEADBEEF, 0xDEADBEEF, 0), wantR(rECX, 0, rEDI, 0x6208))},
		{att: "repstos", code: []byte{0xF3, 0xAA}, intel: "REP STOSB", set: setR(rEAX, 0x11, rECX, 3), out: outExec,
			chk: chkAll(wantM(0x6200, 0x11, 0x11, 0x11, 0), wantR(rECX, 0, rEDI, 0x6203))},
		{att: "stos", code: []byte{0xAB}, intel: "STOSD", set: setR(rEAX, 0xCAFEF00D), out: outExec,
			chk: chkAll(wantM32(0x6200, 0xCAFEF00D), wantR(rEDI, 0x6204))},
		{att: "lods", code: []byte{0xAD}, intel: "LODSD", set: setM32(0x6100, 0x600DF00D), out: outExec,
			chk: wantR(rEAX, 0x600DF00D, rESI, 0x6104)},
		{att: "scas", code: []byte{0xAE}, intel: "SCASB", set: setAll(setR(rEAX, 0x41), setM(0x6200, 0x41)), out: outExec,
			chk: chkAll(wantF(fZ, fZ), wantR(rEDI, 0x6201))},
		{att: "repnzscas", code: []byte{0xF2, 0xAE}, intel: "REPN SCASB", set: setAll(setR(rEAX, 0, rECX, 0xFFFFFFFF), setM(0x6200, 'a', 'b', 0)),
			out: outExec, chk: chkAll(wantR(rECX, 0xFFFFFFFC, rEDI, 0x6203), wantF(fZ, fZ)), why: "strlen: stops after the NUL"},
		{att: "repzcmpsb", code: []byte{0xF3, 0xA6}, intel: "REP CMPSB",
			set: setAll(setR(rECX, 4), setM(0x6100, 'a', 'b', 'c', 'd'), setM(0x6200, 'a', 'b', 'x', 'd')),
			out: outExec, chk: chkAll(wantR(rECX, 1, rESI, 0x6103, rEDI, 0x6203), wantF(fZ|fC, fC)), why: "memcmp: stops at the first difference"},
		{att: "cld", code: []byte{0xFC}, intel: "CLD", set: setF(FlagDF), out: outExec, chk: wantF(FlagDF, 0)},
		{att: "std", code: []byte{0xFD}, intel: "STD", out: outExec, chk: wantF(FlagDF, FlagDF)},

		// ---- atomics ----
		{att: "cmpxchg", code: []byte{0x0F, 0xB1, 0x0B}, intel: "CMPXCHG", set: setAll(setM32(mixData, 0x80), setR(rECX, 0x99)),
			out: outExec, chk: chkAll(wantM32(mixData, 0x99), wantF(fZ, fZ))},
		{att: "cmpxchg", code: []byte{0x0F, 0xB1, 0x0B}, intel: "CMPXCHG", set: setAll(setM32(mixData, 0x77), setR(rECX, 0x99)),
			out: outExec, chk: chkAll(wantM32(mixData, 0x77), wantR(rEAX, 0x77), wantF(fZ, 0)), why: "mismatch loads EAX"},
		{att: "cmpxchg8b", code: []byte{0x0F, 0xC7, 0x0B}, intel: "CMPXCHG8B",
			set: setAll(setM32(mixData, 1, 2), setR(rEAX, 1, rEDX, 2, rEBX, mixData, rECX, 4)),
			out: outExec, chk: chkAll(wantM32(mixData, mixData, 4), wantF(fZ, fZ))},
		{att: "cmpxchg8b", code: []byte{0x0F, 0xC7, 0x0B}, intel: "CMPXCHG8B",
			set: setAll(setM32(mixData, 5, 6), setR(rEAX, 1, rEDX, 2, rECX, 4)),
			out: outExec, chk: chkAll(wantM32(mixData, 5, 6), wantR(rEAX, 5, rEDX, 6), wantF(fZ, 0))},
		{att: "xadd", code: []byte{0x0F, 0xC1, 0x03}, intel: "XADD", set: setAll(setM32(mixData, 10), setR(rEAX, 5)),
			out: outExec, chk: chkAll(wantM32(mixData, 15), wantR(rEAX, 10))},

		// ---- no-ops, hints, fences ----
		{att: "nop", code: []byte{0x90}, intel: "NOP", out: outExec, chk: wantR(rEAX, 0x80)},
		{att: "xchg", code: []byte{0x66, 0x90}, intel: "NOP", out: outExec, chk: wantR(rEAX, 0x80), why: "xchg %ax,%ax: the 2-byte NOP"},
		{att: "pause", code: []byte{0xF3, 0x90}, intel: "PAUSE", out: outExec, chk: wantR(rEAX, 0x80), why: "REP NOP"},
		{att: "prefetchnta", code: []byte{0x0F, 0x18, 0x03}, intel: "PREFETCHNTA", out: outExec, why: "SSE is claimed"},
		{att: "prefetchw", code: []byte{0x0F, 0x0D, 0x0B}, intel: "PREFETCHW", out: outExec,
			why: "no PRFCHW claimed: Intel CPUs without it execute 0F 0D /1 as a NOP; the kernel only uses it under X86_FEATURE_3DNOWPREFETCH"},
		{att: "mfence", code: []byte{0x0F, 0xAE, 0xF0}, intel: "MFENCE", out: outExec, why: "SSE2 is claimed"},
		{att: "lfence", code: []byte{0x0F, 0xAE, 0xE8}, intel: "LFENCE", out: outExec, why: "SSE2 is claimed"},
		{att: "sfence", code: []byte{0x0F, 0xAE, 0xF8}, intel: "SFENCE", out: outExec, why: "SSE is claimed"},
		rUD("clflush", []byte{0x0F, 0xAE, 0x3B}, "CLFLUSH", "CPUID.1:EDX.CLFSH[19] = 0"),

		// ---- unprivileged system instructions ----
		{att: "cpuid", code: []byte{0x0F, 0xA2}, intel: "CPUID", set: setR(rEAX, 1, rECX, 0x55), out: outExec,
			chk: wantR(rEAX, cpuidSignature, rEBX, 0, rECX, 0, rEDX, cpuidEDX1), why: "spec §10.3: executed natively, masked by the guest"},
		{att: "cpuid", code: []byte{0x0F, 0xA2}, intel: "CPUID", set: setR(rEAX, 0), out: outExec,
			chk: wantR(rEAX, 1, rEBX, ascii4("lgdb"), rEDX, ascii4("gVir"), rECX, ascii4("tCPU")), why: `vendor "lgdbgVirtCPU", max basic leaf 1`},
		{att: "rdtsc", code: []byte{0x0F, 0x31}, intel: "RDTSC", set: setR(rEAX, 0xFFFFFFFF, rEDX, 0xFFFFFFFF), out: outExec,
			chk: func(mc *machine, _ int) string {
				if mc.c.Reg(EDX) != 0 || mc.c.Reg(EAX) > 16 {
					return fmt.Sprintf("tsc = %#x:%#x, want the retired count of a new CPU", mc.c.Reg(EDX), mc.c.Reg(EAX))
				}
				return ""
			}, why: "CR4.TSD = 0: unprivileged (spec §10.2 read_tsc)"},
		{att: "str", code: []byte{0x0F, 0x00, 0xC8}, intel: "STR", out: outExec, chk: wantR(rEAX, 0x80), why: "no UMIP; the TSS is GDT entry 16"},
		{att: "sgdtl", code: []byte{0x0F, 0x01, 0x03}, intel: "SGDT",
			set: func(mc *machine, _ int) { mc.c.SetTableBases(0xC1234000, 0xC5678000) }, out: outExec,
			chk: wantM(mixData, 0xFF, 0x00, 0x00, 0x40, 0x23, 0xC1), why: "no UMIP: the Host's GDT (limit 0xFF, spec §6)"},
		{att: "sidtl", code: []byte{0x0F, 0x01, 0x0B}, intel: "SIDT",
			set: func(mc *machine, _ int) { mc.c.SetTableBases(0xC1234000, 0xC5678000) }, out: outExec,
			chk: wantM(mixData, 0xFF, 0x07, 0x00, 0x80, 0x67, 0xC5)},
		{att: "lar", code: []byte{0x0F, 0x02, 0xC1}, intel: "LAR", set: setAll(setR(rECX, selKDS, rEAX, 0x1234)), out: outExec,
			chk: func(mc *machine, cpl int) string {
				if cpl == 3 { // DPL 1 < CPL 3: not visible
					return chkAll(wantR(rEAX, 0x1234), wantF(fZ, 0))(mc, cpl)
				}
				return chkAll(wantR(rEAX, 0x00C0B300), wantF(fZ, fZ))(mc, cpl)
			}},

		// ---- privileged: #GP(0) at CPL 1 and 3 for the Host (spec §5.3, §13 item 4) ----
		rPriv("lgdtl", []byte{0x0F, 0x01, 0x13}, "LGDT", "load_gdt is LOAD_GDT_ENTRY hypercalls (spec §10.2)"),
		rPriv("lidtl", []byte{0x0F, 0x01, 0x1B}, "LIDT", "load_idt is LOAD_IDT_ENTRY hypercalls"),
		rPriv("ltr", []byte{0x0F, 0x00, 0xD8}, "LTR", "load_tr_desc is a no-op pv-op"),
		rPriv("lldt", []byte{0x0F, 0x00, 0xD0}, "LLDT", "set_ldt is a no-op pv-op"),
		rPriv("invlpg", []byte{0x0F, 0x01, 0x3B}, "INVLPG", "flush_tlb_single is SET_PTE"),
		rPriv("wbinvd", []byte{0x0F, 0x09}, "WBINVD", "wbinvd is a no-op pv-op"),
		rPriv("clts", []byte{0x0F, 0x06}, "CLTS", "clts is the TS hypercall"),
		rPriv("hlt", []byte{0xF4}, "HLT", "halt is not paravirtualised: reflected (spec §10.2)"),
		rPriv("cli", []byte{0xFA}, "CLI", "IOPL 0: the Host skips it (spec §5.3)"),
		rPriv("sti", []byte{0xFB}, "STI", "IOPL 0"),
		rPriv("wrmsr", []byte{0x0F, 0x30}, "WRMSR", "wrmsr_safe fixups (spec §5.3)"),
		rPriv("rdmsr", []byte{0x0F, 0x32}, "RDMSR", "rdmsr_safe fixups"),
		rPriv("rdpmc", []byte{0x0F, 0x33}, "RDPMC", "CR4.PCE = 0 at CPL > 0"),
		rPriv("sysexit", []byte{0x0F, 0x35}, "SYSEXIT", "SDM SYSEXIT: CPL != 0 (and IA32_SYSENTER_CS = 0) is #GP(0)"),
		rPriv("in", []byte{0xE4, 0x60}, "IN", "IOPL 0, no I/O bitmap: the Host emulates it (spec §5.3)"),
		rPriv("in", []byte{0xEC}, "IN", "in (%dx),%al"),
		rPriv("out", []byte{0xE6, 0x80}, "OUT", "io_delay: out to port 0x80 (spec §10.2)"),
		rPriv("out", []byte{0x66, 0xEF}, "OUT", "out %ax,(%dx)"),
		rPriv("repinsb", []byte{0xF3, 0x6C}, "REP INSB", "IOPL 0"),
		rPriv("repinsw", []byte{0x66, 0xF3, 0x6D}, "REP INSW", "IOPL 0"),
		rPriv("repinsl", []byte{0xF3, 0x6D}, "REP INSD", "IOPL 0"),
		rPriv("repoutsb", []byte{0xF3, 0x6E}, "REP OUTSB", "IOPL 0"),
		rPriv("repoutsw", []byte{0x66, 0xF3, 0x6F}, "REP OUTSW", "IOPL 0"),
		rPriv("repoutsl", []byte{0xF3, 0x6F}, "REP OUTSD", "IOPL 0"),

		// ---- features our CPUID does not claim: #UD ----
		rUD("clac", []byte{0x0F, 0x01, 0xCA}, "", "CPUID.7:EBX.SMAP = 0 (no leaf 7)"),
		rUD("stac", []byte{0x0F, 0x01, 0xCB}, "", "CPUID.7:EBX.SMAP = 0"),
		rUD("rdrand", []byte{0x0F, 0xC7, 0xF0}, "RDRAND", "CPUID.1:ECX.RDRAND[30] = 0"),
		rUD("rdtscp", []byte{0x0F, 0x01, 0xF9}, "RDTSCP", "CPUID.80000001:EDX.RDTSCP[27] = 0"),
		rUD("xsave", []byte{0x0F, 0xAE, 0x23}, "XSAVE", "CPUID.1:ECX.XSAVE[26] = 0"),
		rUD("xrstor", []byte{0x0F, 0xAE, 0x2B}, "XRSTOR", "CPUID.1:ECX.XSAVE[26] = 0"),
		rUD("xsaveopt", []byte{0x0F, 0xAE, 0x33}, "XSAVEOPT", "CPUID.1:ECX.XSAVE[26] = 0"),
		rUD("xsetbv", []byte{0x0F, 0x01, 0xD1}, "XSETBV", "CPUID.1:ECX.XSAVE[26] = 0 (#UD before the CPL check)"),
		rUD("vmxoff", []byte{0x0F, 0x01, 0xC4}, "", "not in VMX operation (no VMX claimed)"),

		// ---- x87 / MMX / FXSR (FPU, MMX, FXSR claimed; TS clear) ----
		{att: "fninit", code: []byte{0xDB, 0xE3}, intel: "FNINIT", pre: x87One, out: outExec, chk: wantFPU(0x037F, 0, 0xFFFF)},
		{att: "finit", code: []byte{0x9B, 0xDB, 0xE3}, intel: "FWAIT FNINIT", pre: x87One, out: outExec, chk: wantFPU(0x037F, 0, 0xFFFF)},
		{att: "fwait", code: []byte{0x9B}, intel: "FWAIT", out: outExec},
		{att: "fnclex", code: []byte{0xDB, 0xE2}, intel: "FNCLEX", set: func(mc *machine, _ int) { mc.c.fpu.fsw = 0x38A1 }, out: outExec,
			chk: wantFPU(0x037F, 0x3800, 0xFFFF)},
		{att: "fnstsw", code: []byte{0xDF, 0xE0}, intel: "FNSTSW", pre: cat(x87Init, x87One), set: setR(rEAX, 0xFFFFFFFF), out: outExec,
			chk: wantR(rEAX, 0xFFFF3800)},
		{att: "fnstsw", code: []byte{0xDD, 0x3B}, intel: "FNSTSW", pre: x87Init, set: setM32(mixData, 0xFFFFFFFF), out: outExec,
			chk: wantM32(mixData, 0xFFFF0000), why: "fpu_detect: fninit; fnstsw m16 must read 0 for the FPU to be detected"},
		{att: "fnstcw", code: []byte{0xD9, 0x3B}, intel: "FNSTCW", set: setM32(mixData, 0xFFFFFFFF), out: outExec,
			chk: wantM32(mixData, 0xFFFF037F)},
		{att: "fldl", code: []byte{0xDD, 0x03}, intel: "FLD", pre: x87Init, set: setF64(mixData, 1.5), out: outExec,
			chk: chkAll(wantST(0, 1.5), wantFPU(0x037F, 0x3800, 0x3FFF))},
		{att: "fildl", code: []byte{0xDB, 0x03}, intel: "FILD", pre: x87Init, set: setM32(mixData, 0xFFFFFFF9), out: outExec,
			chk: wantST(0, -7)},
		{att: "fmull", code: []byte{0xDC, 0x4B, 0x08}, intel: "FMUL", pre: cat(x87Init, []byte{0xDD, 0x03}),
			set: setAll(setF64(mixData, 3), setF64(mixData+8, 0.5)), out: outExec, chk: wantST(0, 1.5)},
		{att: "fdivl", code: []byte{0xDC, 0x73, 0x08}, intel: "FDIV", pre: cat(x87Init, []byte{0xDD, 0x03}),
			set: setAll(setF64(mixData, 3), setF64(mixData+8, 0.5)), out: outExec, chk: wantST(0, 6)},
		{att: "fsubs", code: []byte{0xD8, 0x63, 0x10}, intel: "FSUB", pre: cat(x87Init, []byte{0xDD, 0x03}),
			set: setAll(setF64(mixData, 3), setF32(mixData+16, 0.5)), out: outExec, chk: wantST(0, 2.5)},
		{att: "fsubp", code: []byte{0xDE, 0xE1}, intel: "FSUBRP", pre: cat(x87Init, []byte{0xDD, 0x03}, []byte{0xDD, 0x43, 0x08}),
			set: setAll(setF64(mixData, 3), setF64(mixData+8, 0.5)), out: outExec, chk: chkAll(wantST(0, -2.5), wantFPU(0x037F, 0x3800, 0x3FFF)),
			why: "AT&T fsubp %st,%st(1) is DE E1, Intel FSUBRP: ST(1) = ST(0) - ST(1), pop"},
		{att: "fistpl", code: []byte{0xDB, 0x5B, 0x20}, intel: "FISTP",
			// check_fpu (arch/x86/kernel/cpu/bugs.c): the FDIV-bug test every
			// FPU-claiming CPU runs at boot; the result must be 0
			pre: cat(x87Init, []byte{0xDD, 0x03, 0xDC, 0x73, 0x08, 0xDC, 0x4B, 0x08, 0xDD, 0x03, 0xDE, 0xE1}),
			set: setAll(setF64(mixData, 4195835.0), setF64(mixData+8, 3145727.0), setM32(mixData+0x20, 0xDEADBEEF)),
			out: outExec, chk: wantM32(mixData+0x20, 0),
			why: "the kernel's check_fpu sequence: fninit fldl fdivl fmull fldl fsubp fistpl"},
		{att: "fnsave", code: []byte{0xDD, 0x33}, intel: "FNSAVE", pre: cat(x87Init, x87One), out: outExec,
			chk: chkAll(wantM32(mixData, 0xFFFF037F, 0xFFFF3800, 0xFFFF3FFF), wantM(mixData+28, ext80One...), wantFPU(0x037F, 0, 0xFFFF)),
			why: "FNSAVE stores the 108-byte image and reinitialises"},
		{att: "frstor", code: []byte{0xDD, 0x23}, intel: "FRSTOR",
			set: setAll(setM32(mixData, 0xFFFF027F, 0xFFFF3800, 0xFFFF3FFF), setM(mixData+28, ext80Two...)), out: outExec,
			chk: chkAll(wantFPU(0x027F, 0x3800, 0x3FFF), wantST(0, 2))},
		{att: "fxsave", code: []byte{0x0F, 0xAE, 0x03}, intel: "FXSAVE", pre: cat(x87Init, x87One), out: outExec,
			chk: chkAll(wantM(mixData, 0x7F, 0x03, 0x00, 0x38, 0x80), wantM32(mixData+24, 0x1F80), wantM(mixData+32, ext80One...))},
		{att: "fxrstor", code: []byte{0x0F, 0xAE, 0x0B}, intel: "FXRSTOR",
			set: setAll(setM(mixData, 0x7F, 0x02, 0x00, 0x38, 0x80), setM32(mixData+24, 0x1F80), setM(mixData+32, ext80Two...)), out: outExec,
			chk: chkAll(wantFPU(0x027F, 0x3800, 0x3FFF), wantST(0, 2))},
		{att: "emms", code: []byte{0x0F, 0x77}, intel: "EMMS", pre: cat(x87Init, x87One), out: outExec, chk: wantFPU(0x037F, 0x0000, 0xFFFF),
			why: "all tags empty and TOS = 0, as every MMX instruction sets it"},

		// ---- lazy FPU: with CR0.TS (LHCALL_TS, spec §5.9) every x87/MMX/
		// FXSR instruction is #NM; the hints and fences are not ----
		{att: "fwait", code: []byte{0x9B}, intel: "FWAIT", set: setTS, out: outNM, why: "WAIT with TS and MP"},
		{att: "fninit", code: []byte{0xDB, 0xE3}, intel: "FNINIT", set: setTS, out: outNM},
		{att: "fldl", code: []byte{0xDD, 0x03}, intel: "FLD", set: setTS, out: outNM},
		{att: "fnsave", code: []byte{0xDD, 0x33}, intel: "FNSAVE", set: setTS, out: outNM},
		{att: "fxrstor", code: []byte{0x0F, 0xAE, 0x0B}, intel: "FXRSTOR", set: setTS, out: outNM},
		{att: "emms", code: []byte{0x0F, 0x77}, intel: "EMMS", set: setTS, out: outNM},
		{att: "mfence", code: []byte{0x0F, 0xAE, 0xF0}, intel: "MFENCE", set: setTS, out: outExec, why: "fences ignore TS"},
		{att: "prefetchnta", code: []byte{0x0F, 0x18, 0x03}, intel: "PREFETCHNTA", set: setTS, out: outExec, why: "hints ignore TS"},
		{att: "fxsave", code: []byte{0x0F, 0xAE, 0x03}, intel: "FXSAVE", set: setR(rEBX, mixData+8), out: outGP0,
			why: "the FXSAVE area must be 16-byte aligned"},

		// ---- the kernel's segment and ring patterns ----
		{att: "mov", code: []byte{0x64, 0xA1, 0x10, 0x00, 0x00, 0x00}, intel: "MOV",
			set: func(mc *machine, cpl int) {
				acc := uint16(accKDS)
				if cpl == 3 {
					acc = accUDS
				}
				mc.c.SetSegRaw(FS, Segment{Sel: 27<<3 | uint16(cpl), Base: 0x5000, Limit: 0xFFFFFFFF, Access: acc, Valid: true})
				mc.w32(0x5010, 0x1234ABCD)
			}, out: outExec, chk: wantR(rEAX, 0x1234ABCD), why: "per-cpu access through %fs (spec §10.1 step 7a)"},
		{att: "mov", code: []byte{0x65, 0xA1, 0x14, 0x00, 0x00, 0x00}, intel: "MOV", set: setCanary, out: outExec,
			chk: wantR(rEAX, 0xC0DEC0DE), why: "stack protector: %gs:0x14 through the byte-granular canary segment (limit 0x18)"},
		{att: "mov", code: []byte{0x65, 0xA1, 0x16, 0x00, 0x00, 0x00}, intel: "MOV", set: setCanary, out: outGP0,
			why: "%gs:0x16..0x19 ends beyond the canary segment's limit 0x18"},
		{att: "int", code: []byte{0xCD, 0x80}, intel: "INT",
			set: func(mc *machine, _ int) {
				mc.c.SetGate(0x80, Gate{Direct: true, Sel: selKCS, Offset: 0x4000, DPL: 3, Type: 0xF})
				mc.c.SetRing1Stack(selKDS, 0x9000)
			}, out: outExec, eip: 0x4000,
			chk: func(mc *machine, cpl int) string {
				if cpl == 3 { // ring 3 -> 1 on the TSS ring-1 stack
					return chkAll(wantCPL(1), wantR(rESP, 0x9000-20), wantM32(0x9000-20, mixCode+2, selUCS, FlagIF|2, 0x8000, selUDS))(mc, cpl)
				}
				return chkAll(wantCPL(1), wantR(rESP, 0x8000-12), wantM32(0x8000-12, mixCode+2, selKCS, FlagIF|2))(mc, cpl)
			}, why: "the system-call trap gate the Host copies directly (spec §5.8)"},
		{att: "iret", code: []byte{0xCF}, intel: "IRETD", set: setStack(0x3000, selUCS, FlagIF|2, 0x9000, selUDS), out: outExec, eip: 0x3000,
			chk: func(mc *machine, cpl int) string {
				if cpl == 3 { // same privilege: the last two words stay on the stack
					return chkAll(wantCPL(3), wantR(rESP, 0x8000-20+12))(mc, cpl)
				}
				if mc.c.Seg(DS).Valid {
					return "DS (DPL 1) still valid after the return to ring 3"
				}
				return chkAll(wantCPL(3), wantR(rESP, 0x9000), wantSel(SS, func(int) uint16 { return selUDS }))(mc, cpl)
			}, why: "lguest_iret back to user mode: ring 1 -> 3 pops SS:ESP and nulls the DPL 1 data segments"},
		{att: "ljmp", code: []byte{0xFF, 0x2B}, intel: "LJMP",
			set: func(mc *machine, cpl int) { mc.w32(mixData, 0x3000); mc.w32(mixData+4, uint32(csSel(cpl))) },
			out: outExec, eip: 0x3000, why: "ljmp *m16:32 to the current ring's code segment"},
		{att: "repmovsl", code: []byte{0xF3, 0xA5}, intel: "REP MOVSD",
			set: setAll(setM32(0x6100, 1, 2, 3), setR(rECX, 3, rESI, 0x6108, rEDI, 0x610C), setF(FlagDF)), out: outExec,
			chk: chkAll(wantM32(0x6100, 1, 1, 2, 3), wantR(rECX, 0, rESI, 0x60FC, rEDI, 0x6100)),
			why: "memmove's backward copy: std; rep movsl over an overlapping range"},
		{att: "repmovsb", code: []byte{0xF3, 0xA4}, intel: "REP MOVSB",
			set: setAll(setM(0x6100, 7, 8, 9, 10), setR(rECX, 3, rEDI, 0x6101)), out: outExec,
			chk: wantM(0x6100, 7, 7, 7, 7), why: "an overlapping forward copy replicates, byte by byte"},
		{att: "popf", code: []byte{0x9D}, intel: "POPFD", set: setStack(FlagID | FlagAC | 2), out: outExec,
			chk: wantF(FlagID|FlagAC, FlagID|FlagAC), why: "flag_is_changeable_p(X86_EFLAGS_ID/AC): CPUID and 486+ detection"},
		{att: "popf", code: []byte{0x9D}, intel: "POPFD", set: setAll(setF(FlagID|FlagAC), setStack(2)), out: outExec,
			chk: wantF(FlagID|FlagAC, 0)},
		{att: "lar", code: []byte{0x0F, 0x02, 0x44, 0x24, 0x08}, intel: "LAR",
			set: func(mc *machine, cpl int) { mc.w32(0x8008, uint32(dsSel(cpl))) }, out: outExec,
			chk: func(mc *machine, cpl int) string {
				acc := uint32(0x00C0B300)
				if cpl == 3 {
					acc = 0x00C0F300
				}
				return chkAll(wantR(rEAX, acc), wantF(fZ, fZ))(mc, cpl)
			}, why: "larl PT_OLDSS(%esp),%eax (entry_32.S ldt_ss): selector from memory"},
		{att: "push", code: []byte{0x0F, 0xA0}, intel: "PUSH", out: outExec,
			chk: func(mc *machine, cpl int) string {
				// a 32-bit push of a segment register writes at least the
				// selector (SDM PUSH: zero-extended or a 16-bit move)
				if got := mc.r32(0x7FFC) & 0xFFFF; got != uint32(dsSel(cpl)) {
					return fmt.Sprintf("pushed %#x, want %#x", got, dsSel(cpl))
				}
				return wantR(rESP, 0x7FFC)(mc, cpl)
			}, why: "pushl %fs (SAVE_ALL)"},
		{att: "pop", code: []byte{0x0F, 0xA9}, intel: "POP", set: setStackSel(func(cpl int) []uint32 { return []uint32{uint32(dsSel(cpl))} }),
			out: outExec, chk: chkAll(wantSel(GS, dsSel), wantR(rESP, 0x8000)), why: "popl %gs (RESTORE_REGS)"},
		{att: "pop", code: []byte{0x1F}, intel: "POP", set: setStack(selKDS), out: outExec, out3: ptrOut(outGPSel(selKDS &^ 3)),
			chk: chkAll(wantSel(DS, func(int) uint16 { return selKDS }), wantR(rESP, 0x8000)),
			why: "popl %ds of a DPL 1 selector: #GP(sel) at CPL 3, which the kernel's exception fixup catches"},
		{att: "mov", code: []byte{0x8E, 0xE8}, intel: "MOV", set: setR(rEAX, 0), out: outExec,
			chk: func(mc *machine, _ int) string {
				if mc.c.Seg(GS).Valid {
					return "GS still usable after loading the null selector"
				}
				return ""
			}, why: "lazy %gs: a null selector loads, and marks GS unusable"},
		{att: "mov", code: []byte{0x65, 0xA1, 0x14, 0x00, 0x00, 0x00}, intel: "MOV",
			set: func(mc *machine, _ int) { mc.c.SetSegRaw(GS, Segment{}) }, out: outGP0, why: "an access through a null GS is #GP(0)"},
		{att: "repstos", code: []byte{0xF3, 0xAB}, intel: "REP STOSD", set: setAll(setR(rECX, 0), setM32(0x6200, 5)), out: outExec,
			chk: chkAll(wantM32(0x6200, 5), wantR(rEDI, 0x6200)), why: "ECX = 0: nothing stored"},
		{att: "getsec", code: []byte{0x0F, 0x37}, out: outUD, extra: true, why: "CPUID.1:ECX.SMX[6] = 0, CR4.SMXE = 0"},
		{att: "fisttpl", code: []byte{0xDB, 0x0B}, intel: "FISTTP", out: outUD, extra: true, why: "CPUID.1:ECX.SSE3[0] = 0"},
		{att: "movsldup", code: []byte{0xF3, 0x0F, 0x12, 0xC1}, intel: "MOVSLDUP", out: outUD, extra: true, why: "CPUID.1:ECX.SSE3[0] = 0"},
		{att: "haddpd", code: []byte{0x66, 0x0F, 0x7C, 0xC1}, intel: "HADDPD", set: setTS, out: outUD, extra: true,
			why: "CPUID.1:ECX.SSE3[0] = 0: #UD even with CR0.TS set"},
		{att: "lddqu", code: []byte{0xF2, 0x0F, 0xF0, 0x03}, intel: "LDDQU", out: outUD, extra: true, why: "CPUID.1:ECX.SSE3[0] = 0"},
		{att: "pshufb", code: []byte{0x66, 0x0F, 0x38, 0x00, 0xC1}, intel: "PSHUFB", out: outUD, extra: true, why: "CPUID.1:ECX.SSSE3[9] = 0"},
		{att: "lzcnt", code: []byte{0xF3, 0x0F, 0xBD, 0xC1}, intel: "LZCNT", set: setR(rECX, 0x00F00000), out: outExec,
			chk: wantR(rEAX, 23), extra: true, why: "no ABM/LZCNT claimed: REP BSR gives the bit index (LZCNT would give 8)"},
	}
}

var (
	outNM = mixOut{kind: mixFault, vec: VecNM}
	setTS = func(mc *machine, _ int) { mc.c.SetTS(true) }
)

// setCanary loads %gs like the 3.x kernel's stack-canary segment
// (GDT_ENTRY_STACK_CANARY: base = canary - 20, byte-granular limit 0x18,
// read-only data) at the current ring, the canary at 0x5114.
func setCanary(mc *machine, cpl int) {
	access := byte(0xB1) // P, DPL 1, S, read-only accessed
	if cpl == 3 {
		access = 0xF1
	}
	mc.c.SetGDTEntry(28, desc(0x5100, 0x18, access, 0x4))
	if v, e, ok := mc.c.LoadSeg(GS, 28<<3|uint16(cpl)); !ok {
		mc.t.Fatalf("load the canary segment: vector %d error %#x", v, e)
	}
	mc.w32(0x5114, 0xC0DEC0DE)
}

func ptrOut(o mixOut) *mixOut { return &o }

// ascii4 packs four characters as CPUID returns them in a register.
func ascii4(s string) uint32 { return binary.LittleEndian.Uint32([]byte(s)) }

// notInsn lists entries of the research list that are not instructions.
var notInsn = map[string]string{
	".byte": "objdump's rendering of a byte it could not decode (data or a dangling prefix), not an instruction",
}

// mixList parses the research list: section name -> mnemonics.
func mixList(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "kernel-instruction-mix.md"))
	if err != nil {
		t.Fatalf("instruction mix list: %v", err)
	}
	defer f.Close()
	item := regexp.MustCompile(`([.a-z0-9]+)\((\d+)\)`)
	secs := map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## The decompressor"):
			sec = "decompressor"
			continue
		case strings.HasPrefix(line, "## The kernel proper"):
			sec = "kernel"
			continue
		case strings.HasPrefix(line, "#"):
			sec = ""
		}
		if sec == "" {
			continue
		}
		for _, m := range item.FindAllStringSubmatch(line, -1) {
			secs[sec] = append(secs[sec], m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("instruction mix list: %v", err)
	}
	return secs
}

// TestMixCoverage: every mnemonic of both sections has a row, and every row
// names a mnemonic of the list.
func TestMixCoverage(t *testing.T) {
	secs := mixList(t)
	// the research note says the kernel has 212 distinct mnemonics; a
	// parser that silently lost some would make this test vacuous
	if n := len(secs["kernel"]); n != 212 {
		t.Fatalf("parsed %d kernel mnemonics, the list says 212", n)
	}
	if n := len(secs["decompressor"]); n < 70 {
		t.Fatalf("parsed only %d decompressor mnemonics", n)
	}
	have := map[string]int{}
	extra := map[string]bool{}
	for _, r := range mixRows() {
		if r.extra {
			extra[r.att] = true
			continue
		}
		have[r.att]++
	}
	listed := map[string]bool{}
	for _, name := range []string{"decompressor", "kernel"} {
		for _, m := range secs[name] {
			listed[m] = true
			if have[m] == 0 && notInsn[m] == "" {
				t.Errorf("%s: %q has no row", name, m)
			}
		}
	}
	for m := range have {
		if !listed[m] {
			t.Errorf("row mnemonic %q is not in the list", m)
		}
	}
	for m := range extra {
		if listed[m] {
			t.Errorf("row mnemonic %q is in the list: not an extra", m)
		}
	}
	t.Logf("%d mnemonics (%d decompressor, %d kernel), %d rows", len(listed), len(secs["decompressor"]), len(secs["kernel"]), len(mixRows()))
}

// x86asmNames decodes code as a sequence of 32-bit instructions and names
// each with its explicit REP/REPNE/LOCK prefix, as "REP MOVSB".
func x86asmNames(code []byte) (string, error) {
	var names []string
	for off := 0; off < len(code); {
		inst, err := x86asm.Decode(code[off:], 32)
		if err != nil {
			return "", fmt.Errorf("at +%d: %v", off, err)
		}
		for _, p := range inst.Prefix {
			if p == 0 || p&x86asm.PrefixImplicit != 0 || p&x86asm.PrefixIgnored != 0 {
				continue
			}
			switch p &^ (x86asm.PrefixImplicit | x86asm.PrefixIgnored | x86asm.PrefixInvalid) {
			case x86asm.PrefixREP, x86asm.PrefixREPN, x86asm.PrefixLOCK:
				names = append(names, p.String())
			}
		}
		names = append(names, inst.Op.String())
		off += inst.Len
	}
	return strings.Join(names, " "), nil
}

// TestMixEncodings verifies each row's bytes with x86asm: they must decode
// exactly, as the instruction(s) the row says.
func TestMixEncodings(t *testing.T) {
	for i, r := range mixRows() {
		got, err := x86asmNames(r.code)
		if r.intel == "" {
			// x86asm v0.32 has no CLAC/STAC/VMXOFF: it must reject the
			// bytes, or (a newer x86asm) name them as the row does
			if err == nil && got != strings.ToUpper(r.att) {
				t.Errorf("row %d %s (% x): x86asm decodes %q", i, r.att, r.code, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("row %d %s (% x): x86asm: %v", i, r.att, r.code, err)
			continue
		}
		if got != r.intel {
			t.Errorf("row %d %s (% x): x86asm decodes %q, want %q", i, r.att, r.code, got, r.intel)
		}
	}
}

// TestMixObjdumpNames checks each row's first instruction against objdump's
// AT&T name, the naming the research list counts (skipped without binutils).
func TestMixObjdumpNames(t *testing.T) {
	od, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("binutils objdump not installed")
	}
	rows := mixRows()
	var blob []byte
	starts := map[int]int{} // offset -> row
	for i, r := range rows {
		starts[len(blob)] = i
		// a NOP between rows keeps objdump from fusing a row's FWAIT
		// with the next row's FNxxx
		blob = append(append(blob, r.code...), 0x90)
	}
	bin := filepath.Join(t.TempDir(), "mix.bin")
	if err := os.WriteFile(bin, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(od, "-D", "-b", "binary", "-m", "i386", "--no-show-raw-insn", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`^\s*([0-9a-f]+):\s+(.*)$`)
	names := map[int]string{}
	for _, l := range strings.Split(string(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var off int
		fmt.Sscanf(m[1], "%x", &off)
		// the mnemonic is every word before the first operand; prefixes
		// are words of their own ("rep stos" -> "repstos")
		var words []string
		for _, w := range strings.Fields(m[2]) {
			if strings.ContainsAny(w[:1], "%$*(-0123456789") || strings.HasPrefix(w, "0x") || strings.HasPrefix(w, "<") {
				break
			}
			words = append(words, w)
		}
		names[off] = strings.Join(words, "")
	}
	offs := make([]int, 0, len(starts))
	for o := range starts {
		offs = append(offs, o)
	}
	sort.Ints(offs)
	for _, o := range offs {
		r := rows[starts[o]]
		if got := names[o]; got != r.att {
			t.Errorf("row %d (% x): objdump names it %q, the row says %q", starts[o], r.code, got, r.att)
		}
	}
}

// TestMixOutcomes runs every row at CPL 1 and CPL 3.
func TestMixOutcomes(t *testing.T) {
	for i, r := range mixRows() {
		for _, cpl := range []int{1, 3} {
			want := r.out
			if cpl == 3 && r.out3 != nil {
				want = *r.out3
			}
			name := fmt.Sprintf("%03d_%s/cpl%d", i, r.att, cpl)
			t.Run(name, func(t *testing.T) {
				if msg := runMixRow(t, r, cpl, want); msg != "" {
					t.Errorf("% x (%s), want %v: %s [%s]", r.code, r.intel, want, msg, r.why)
				}
			})
		}
	}
}

func runMixRow(t *testing.T, r mixRow, cpl int, want mixOut) string {
	mc := newMachine(t)
	mc.flat(cpl)
	mc.setRegs(mixBase)
	mc.c.SetEFLAGS(FlagIF | 2)
	if r.set != nil {
		r.set(mc, cpl)
	}
	if len(r.pre) > 0 {
		mc.at(mixPre, r.pre...)
		for n := 0; mc.c.EIP() != mixPre+uint32(len(r.pre)); n++ {
			if ex := mc.c.Step(); ex.Reason != ExitStep || n > 20 {
				return fmt.Sprintf("set-up code stopped: %s at %#x", exitString(ex), mc.c.EIP())
			}
		}
	}
	mc.at(mixCode, r.code...)
	before, flagsBefore := mc.regs(), mc.c.EFLAGS()
	// one Step per instruction of the row (prefix words are not steps)
	steps := 0
	for _, w := range strings.Fields(r.intel) {
		if w != "REP" && w != "REPN" && w != "LOCK" {
			steps++
		}
	}
	if steps == 0 {
		steps = 1
	}
	var ex Exit
	for i := 0; i < steps; i++ {
		if ex = mc.c.Step(); ex.Reason != ExitStep {
			break
		}
	}
	switch want.kind {
	case mixExec:
		if ex.Reason != ExitStep {
			return "got " + exitString(ex)
		}
		eip := r.eip
		if eip == 0 {
			eip = mixCode + uint32(len(r.code))
		}
		if got := mc.c.EIP(); got != eip {
			return fmt.Sprintf("EIP = %#x, want %#x", got, eip)
		}
	case mixTrap:
		if ex.Reason != ExitTrap || ex.Vector != want.vec || ex.HasErr {
			return "got " + exitString(ex)
		}
		if got := mc.c.EIP(); got != mixCode+uint32(len(r.code)) {
			return fmt.Sprintf("EIP = %#x after the trap, want the next instruction", got)
		}
	case mixFault:
		if ex.Reason != ExitTrap || ex.Vector != want.vec || ex.HasErr != want.hasErr || ex.ErrCode != want.err {
			return "got " + exitString(ex)
		}
		if got := mc.c.EIP(); got != mixCode {
			return fmt.Sprintf("EIP = %#x after the fault, want the instruction", got)
		}
		if d := before.diff(mc.regs()); d != "" {
			return "a faulting instruction changed registers:" + d
		}
		if got := mc.c.EFLAGS(); got != flagsBefore {
			return fmt.Sprintf("a faulting instruction changed EFLAGS %#x -> %#x", flagsBefore, got)
		}
		return ""
	}
	if r.chk != nil {
		return r.chk(mc, cpl)
	}
	return ""
}
