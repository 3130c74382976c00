package cpu

// Stack instructions from the Intel SDM's definitions: PUSHA/POPA (16/32),
// ENTER/LEAVE with nesting levels, PUSHF/POPF with the IF/IOPL rules of CPL
// 1 and 3 (IOPL 0, spec §9.4), and fault atomicity of pushes.

import (
	"fmt"
	"testing"
)

func TestUnitPushaPopa(t *testing.T) {
	for _, o16 := range []bool{false, true} {
		mc := newMachine(t)
		c := mc.c
		init := regs{0x11111101, 0x22222202, 0x33333303, 0x44444404, 0x8000, 0x66666606, 0x77777707, 0x88888808}
		mc.setRegs(init)
		code := []byte{0x60}
		w := uint32(4)
		if o16 {
			code = []byte{0x66, 0x60}
			w = 2
		}
		mc.at(0x2000, code...)
		what := fmt.Sprintf("pusha o16=%v", o16)
		if !mc.wantStep(what, c.Step(), 0x2000+uint32(len(code))) {
			continue
		}
		esp := c.Reg(ESP)
		if esp != 0x8000-8*w {
			t.Errorf("%s: ESP %#x, want %#x", what, esp, 0x8000-8*w)
		}
		// memory, from the lowest address: EDI ESI EBP ESP(original) EBX EDX ECX EAX
		order := []Reg{EDI, ESI, EBP, ESP, EBX, EDX, ECX, EAX}
		for i, r := range order {
			var got uint32
			if o16 {
				v, _ := mc.m.Read16(esp + uint32(i)*w)
				got = uint32(v)
			} else {
				got = mc.r32(esp + uint32(i)*w)
			}
			want := init[r]
			if o16 {
				want &= 0xFFFF
			}
			if got != want {
				t.Errorf("%s: slot %d (%s) = %#x, want %#x", what, i, regNames[r], got, want)
			}
		}
		// scramble and POPA: ESP slot skipped, registers restored
		mc.setRegs(regs{0xA, 0xB, 0xC, 0xD, esp, 0xE, 0xF, 0x10})
		code = []byte{0x61}
		if o16 {
			code = []byte{0x66, 0x61}
		}
		mc.at(0x2100, code...)
		if !mc.wantStep("popa", c.Step(), 0x2100+uint32(len(code))) {
			continue
		}
		want := init
		if o16 {
			scr := regs{0xA, 0xB, 0xC, 0xD, 0, 0xE, 0xF, 0x10}
			for i := range want {
				want[i] = scr[i]&0xFFFF0000 | init[i]&0xFFFF
			}
		}
		want[ESP] = 0x8000
		if d := want.diff(mc.regs()); d != "" {
			t.Errorf("popa o16=%v:%s", o16, d)
		}
	}
}

// TestPushaFaultAtomic: PUSHA whose last pushes fault (#PF on the page
// below) changes neither ESP nor memory it could not complete (faults
// restart, spec §5.6; cpu.md "a #PF in the middle of PUSH must not have
// changed ESP").
func TestUnitPushaFaultAtomic(t *testing.T) {
	mc := newMachine(t)
	pt := mc.newPageTables(false)
	pt.identity(0x100000)
	pt.mapPage(0x7000, 0x7000, ptP|ptRW|ptUS, 0) // page below the stack: not present
	pt.install()
	mc.setRegs(regs{1, 2, 3, 4, 0x8010, 6, 7, 8})
	mc.at(0x2000, 0x60)
	ex := mc.c.Step()
	mc.wantTrap("pusha crossing into a missing page", ex, VecPF, true, 2, 0x2000)
	if ex.CR2>>12 != 0x7 {
		t.Errorf("CR2 %#x, want in page 0x7000", ex.CR2)
	}
	if esp := mc.c.Reg(ESP); esp != 0x8010 {
		t.Errorf("ESP %#x after a faulting PUSHA, want 0x8010", esp)
	}
	// single push across into the missing page
	mc.setRegs(regs{1, 2, 3, 4, 0x8002, 6, 7, 8})
	mc.at(0x2000, 0x50) // push eax: bytes 0x7FFE..0x8001
	mc.wantTrap("push straddling into a missing page", mc.c.Step(), VecPF, true, 2, 0x2000)
	if esp := mc.c.Reg(ESP); esp != 0x8002 {
		t.Errorf("ESP %#x after a faulting PUSH, want 0x8002", esp)
	}
	// call whose return-address push faults: EIP and ESP unchanged
	mc.setRegs(regs{1, 2, 3, 4, 0x8000, 6, 7, 8})
	mc.at(0x2000, 0xE8, 0x10, 0, 0, 0)
	mc.wantTrap("call with a faulting push", mc.c.Step(), VecPF, true, 2, 0x2000)
	if esp := mc.c.Reg(ESP); esp != 0x8000 {
		t.Errorf("ESP %#x after a faulting CALL, want 0x8000", esp)
	}
}

// enterRef is the SDM's ENTER pseudo-code (32-bit stack, 32-bit operand).
func enterRef(mc *machine, r regs, size uint16, level byte) (regs, map[uint32]uint32) {
	memw := map[uint32]uint32{}
	read := func(a uint32) uint32 {
		if v, ok := memw[a]; ok {
			return v
		}
		return mc.r32(a)
	}
	level %= 32
	esp, ebp := r[ESP], r[EBP]
	esp -= 4
	memw[esp] = ebp
	frameTemp := esp
	if level > 0 {
		for i := byte(1); i < level; i++ {
			ebp -= 4
			esp -= 4
			memw[esp] = read(ebp)
		}
		esp -= 4
		memw[esp] = frameTemp
	}
	ebp = frameTemp
	esp -= uint32(size)
	r[ESP], r[EBP] = esp, ebp
	return r, memw
}

func TestUnitEnterLeave(t *testing.T) {
	for _, level := range []byte{0, 1, 2, 3, 5, 31, 33} {
		for _, size := range []uint16{0, 16, 0x104} {
			mc := newMachine(t)
			what := fmt.Sprintf("enter %#x,%d", size, level)
			// an outer frame chain to copy from: [ebp-4k] = marker k
			ebp := uint32(0x9000)
			for k := uint32(1); k <= 40; k++ {
				mc.w32(ebp-4*k, 0xF0000000|k)
			}
			init := regs{1, 2, 3, 4, 0x8000, ebp, 7, 8}
			mc.setRegs(init)
			want, memw := enterRef(mc, init, size, level)
			mc.at(0x2000, 0xC8, byte(size), byte(size>>8), level)
			if !mc.wantStep(what, mc.c.Step(), 0x2004) {
				continue
			}
			if d := want.diff(mc.regs()); d != "" {
				t.Errorf("%s:%s", what, d)
			}
			for a, v := range memw {
				if got := mc.r32(a); got != v {
					t.Errorf("%s: [%#x] = %#x, want %#x", what, a, got, v)
				}
			}
			// LEAVE undoes it: ESP = EBP + 4, EBP = the pushed old EBP
			mc.at(0x2100, 0xC9)
			if mc.wantStep("leave", mc.c.Step(), 0x2101) {
				if mc.c.Reg(ESP) != 0x8000 || mc.c.Reg(EBP) != ebp {
					t.Errorf("%s; leave: ESP %#x EBP %#x, want 0x8000 %#x", what, mc.c.Reg(ESP), mc.c.Reg(EBP), ebp)
				}
			}
		}
	}
	// 16-bit LEAVE (66 C9) on a 32-bit stack: ESP = EBP (the stack-address
	// size decides, SDM LEAVE), then BP = 16-bit pop, upper EBP kept
	mc := newMachine(t)
	mc.w32(0x8100, 0xAAAA1234)
	mc.setRegs(regs{0, 0, 0, 0, 0x7000, 0x00008100, 0, 0})
	mc.at(0x2000, 0x66, 0xC9)
	if mc.wantStep("leave o16", mc.c.Step(), 0x2002) {
		if mc.c.Reg(EBP) != 0x00001234 || mc.c.Reg(ESP) != 0x8102 {
			t.Errorf("leave o16: EBP %#x ESP %#x, want 0x1234 0x8102", mc.c.Reg(EBP), mc.c.Reg(ESP))
		}
	}
}

// TestPushfPopf: at CPL 1 and 3 with IOPL 0, POPF changes neither IF nor
// IOPL (silently, no fault); VM stays 0; PUSHF stores VM and RF as 0 (SDM
// PUSHF/POPF, protected mode, CPL > IOPL).
func TestUnitPushfPopf(t *testing.T) {
	for _, cpl := range []int{1, 3} {
		for _, startIF := range []bool{true, false} {
			for _, o16 := range []bool{false, true} {
				mc := newMachine(t)
				mc.flat(cpl)
				start := uint32(2 | FlagCF)
				if startIF {
					start |= FlagIF
				}
				mc.c.SetEFLAGS(start)
				mc.setRegs(regs{0, 0, 0, 0, 0x8000, 0, 0, 0})
				what := fmt.Sprintf("cpl%d IF=%v o16=%v", cpl, startIF, o16)
				// image: every bit except TF (would trap) and VM/RF
				image := uint32(0xFFFFFFFF) &^ (FlagTF | FlagVM | FlagRF)
				if startIF {
					image &^= FlagIF // try to clear IF
				}
				if o16 {
					mc.push32(0) // keep the stack layout simple
					mc.c.SetReg(ESP, mc.c.Reg(ESP)+2)
					mc.m.Write16(mc.c.Reg(ESP), uint16(image))
					mc.at(0x2000, 0x66, 0x9D)
				} else {
					mc.push32(image)
					mc.at(0x2000, 0x9D)
				}
				espBefore := mc.c.Reg(ESP)
				next := mc.c.EIP() + map[bool]uint32{false: 1, true: 2}[o16]
				if !mc.wantStep("popf "+what, mc.c.Step(), next) {
					continue
				}
				settable := uint32(statusFlags | FlagDF | FlagNT)
				if !o16 {
					settable |= FlagAC | FlagID
				}
				want := start&^settable | image&settable | 2
				if got := mc.c.EFLAGS(); got != want {
					t.Errorf("popf %s: EFLAGS %#x, want %#x (IF and IOPL unchanged)", what, got, want)
				}
				if got := mc.c.Reg(ESP); got != espBefore+map[bool]uint32{false: 4, true: 2}[o16] {
					t.Errorf("popf %s: ESP %#x", what, got)
				}
				// PUSHF stores the current flags (VM, RF clear)
				mc.at(0x2100, 0x9C)
				if mc.wantStep("pushf "+what, mc.c.Step(), 0x2101) {
					if got := mc.r32(mc.c.Reg(ESP)); got != want {
						t.Errorf("pushf %s: pushed %#x, want %#x", what, got, want)
					}
				}
			}
		}
	}
}
