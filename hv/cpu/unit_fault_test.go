package cpu

// Fault atomicity (spec §5.6: faults restart with the registers of the
// faulting instruction; cpu.md: "all register side effects undone"), faults
// of far returns, code-segment limit faults and the TF single-step trap.

import (
	"fmt"
	"testing"
)

// TestUnitFaultAtomicity: instructions with several side effects whose
// memory access faults part-way leave every register (EIP, ESP, ESI/EDI,
// flags) and all memory as before the instruction.
func TestUnitFaultAtomicity(t *testing.T) {
	const (
		ro   = 0x50000 // read-only page
		np   = 0x51000 // not-present page
		ok   = 0x52000 // normal page
		code = 0x2000
	)
	type tc struct {
		name string
		code []byte
		r    regs
		ec   uint32 // #PF error code (CPL 1)
		cr2  uint32
	}
	cases := []tc{
		{"pop [ro]", []byte{0x8F, 0x03}, regs{0, 0, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"push [np]", []byte{0xFF, 0x33}, regs{0, 0, 0, np, ok + 0x100, 0, 0, 0}, 0, np},
		{"push eax onto ro stack", []byte{0x50}, regs{0, 0, 0, 0, ro + 0x100, 0, 0, 0}, 3, ro + 0xFC},
		{"call [np]", []byte{0xFF, 0x13}, regs{0, 0, 0, np, ok + 0x100, 0, 0, 0}, 0, np},
		{"call rel onto ro stack", []byte{0xE8, 0, 0, 0, 0}, regs{0, 0, 0, 0, ro + 0x100, 0, 0, 0}, 3, ro + 0xFC},
		{"ret from np stack", []byte{0xC3}, regs{0, 0, 0, 0, np + 0x100, 0, 0, 0}, 0, np + 0x100},
		{"xchg [ro], ecx", []byte{0x87, 0x0B}, regs{0, 7, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"xadd [ro], ecx", []byte{0x0F, 0xC1, 0x0B}, regs{0, 7, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"add [ro], ecx", []byte{0x01, 0x0B}, regs{0, 7, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"movsd to ro", []byte{0xA5}, regs{0, 0, 0, 0, ok + 0x100, 0, ok, ro}, 3, ro},
		{"movsd from np", []byte{0xA5}, regs{0, 0, 0, 0, ok + 0x100, 0, np, ok}, 0, np},
		{"stosd to np (DF=0)", []byte{0xAB}, regs{0, 0, 0, 0, ok + 0x100, 0, 0, np}, 2, np},
		{"lodsd from np", []byte{0xAD}, regs{0, 0, 0, 0, ok + 0x100, 0, np, 0}, 0, np},
		{"cmpxchg8b [ro]", []byte{0x0F, 0xC7, 0x0B}, regs{0, 0, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"enter 8,2 onto ro", []byte{0xC8, 8, 0, 2}, regs{0, 0, 0, 0, ro + 0x100, ok + 0x80, 0, 0}, 3, ro + 0xFC},
		{"leave with ebp in np", []byte{0xC9}, regs{0, 0, 0, 0, ok + 0x100, np + 0x10, 0, 0}, 0, np + 0x10},
		{"popa from straddling np", []byte{0x61}, regs{0, 0, 0, 0, np - 0x10, 0, 0, 0}, 0, np},
		{"inc dword [ro]", []byte{0xFF, 0x03}, regs{0, 0, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"shl dword [ro], 1", []byte{0xD1, 0x23}, regs{0, 0, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"bts [ro], ecx", []byte{0x0F, 0xAB, 0x0B}, regs{0, 5, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"setc [ro]", []byte{0x0F, 0x92, 0x03}, regs{0, 0, 0, ro, ok + 0x100, 0, 0, 0}, 3, ro},
		{"mov [ro], eax straddling from ok", []byte{0x89, 0x03}, regs{0, 0, 0, ro - 2, ok + 0x100, 0, 0, 0}, 3, ro},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			mc := newMachine(t)
			pt := mc.newPageTables(false)
			pt.identity(0x100000)
			pt.mapPage(ro, ro, ptP|ptRW|ptUS, ptP|ptUS)
			pt.mapPage(np, np, ptP|ptRW|ptUS, 0)
			pt.install()
			// recognisable memory everywhere the instruction could touch
			for a := uint32(ok - 0x1000); a < ok+0x1000; a += 4 {
				mc.w32(a, a*2654435761)
			}
			snapshot := make([]byte, 0x3000)
			mc.m.ReadBytes(ok-0x2000, snapshot)
			mc.setRegs(k.r)
			mc.c.SetEFLAGS(0x202 | FlagCF | FlagZF)
			mc.at(code, k.code...)
			before := mc.regs()
			ex := mc.c.Step()
			mc.wantTrap(k.name, ex, VecPF, true, k.ec, code)
			if ex.CR2 != k.cr2 {
				t.Errorf("CR2 %#x, want %#x", ex.CR2, k.cr2)
			}
			if d := before.diff(mc.regs()); d != "" {
				t.Errorf("registers changed by the faulting instruction:%s", d)
			}
			if f := mc.c.EFLAGS(); f != 0x202|FlagCF|FlagZF {
				t.Errorf("EFLAGS changed: %#x", f)
			}
			after := make([]byte, len(snapshot))
			mc.m.ReadBytes(ok-0x2000, after)
			for i := range after {
				if after[i] != snapshot[i] {
					t.Errorf("memory at %#x changed by the faulting instruction", ok-0x2000+uint32(i))
					break
				}
			}
		})
	}
}

// TestUnitFarReturnFaults: IRET/RETF with bad selectors fault with the
// SDM's error codes and leave the state of the faulting instruction.
func TestUnitFarReturnFaults(t *testing.T) {
	type tc struct {
		name   string
		iret   bool
		frame  []uint32 // pushed in this order (last = top of stack)
		vec    int
		err    uint32
		fixGDT func(c *CPU)
	}
	cases := []tc{
		{"retf to null CS", false, []uint32{0, 0x3000}, VecGP, 0, nil},
		{"retf to CS RPL0 (< CPL)", false, []uint32{selKCS &^ 3, 0x3000}, VecGP, selKCS &^ 3, nil},
		{"retf to data segment", false, []uint32{selKDS, 0x3000}, VecGP, selKDS &^ 3, nil},
		{"retf to ring 3 with SS RPL1", false, []uint32{selKDS, 0x48000, selUCS, 0x40000}, VecGP, selKDS &^ 3, nil},
		{"retf to ring 3 with null SS", false, []uint32{0, 0x48000, selUCS, 0x40000}, VecGP, 0, nil},
		{"iret to not-present code", true, []uint32{0x202, uint32(sel(23, 1)), 0x3000}, VecNP, uint32(sel(23, 0)),
			func(c *CPU) { c.SetGDTEntry(23, 0x00CF3B000000FFFF) }},
		{"iret to ring 3 with SS of DPL1", true, []uint32{selKDS | 2, 0x48000, 0x202, selUCS, 0x40000}, VecGP, selKDS &^ 3, nil},
		{"iret to ring 3 with not-present SS", true, []uint32{uint32(sel(24, 3)), 0x48000, 0x202, selUCS, 0x40000}, VecSS, uint32(sel(24, 0)),
			func(c *CPU) { c.SetGDTEntry(24, 0x00CF73000000FFFF) }},
		{"iret beyond the CS limit", true, []uint32{0x202, uint32(sel(21, 1)), 0x2000}, VecGP, 0,
			func(c *CPU) { c.SetGDTEntry(21, desc(0, 0xFFF, 0xBB, 0x4)) }},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			mc := segMachine(t)
			if k.fixGDT != nil {
				k.fixGDT(mc.c)
			}
			mc.setRegs(regs{1, 2, 3, 4, 0x8000, 6, 7, 8})
			for _, v := range k.frame {
				mc.push32(v)
			}
			op := byte(0xCB)
			if k.iret {
				op = 0xCF
			}
			mc.at(0x2000, op)
			before := mc.regs()
			ex := mc.c.Step()
			mc.wantTrap(k.name, ex, k.vec, true, k.err, 0x2000)
			if d := before.diff(mc.regs()); d != "" {
				t.Errorf("registers changed:%s", d)
			}
			if mc.c.CPL() != 1 || mc.c.Seg(CS).Sel != selKCS || mc.c.Seg(SS).Sel != selKDS {
				t.Errorf("CPL %d CS %#x SS %#x after the fault", mc.c.CPL(), mc.c.Seg(CS).Sel, mc.c.Seg(SS).Sel)
			}
		})
	}
}

// TestUnitCodeLimit: near jumps and straight-line execution beyond a code
// segment's limit raise #GP(0) with EIP at the offending instruction (SDM
// JMP: "IF tempEIP is beyond code segment limit THEN #GP(0)").
func TestUnitCodeLimit(t *testing.T) {
	mc := segMachine(t)
	mc.c.SetGDTEntry(21, desc(0, 0x2FFF, 0xBB, 0x4))
	if _, _, ok := mc.c.LoadSeg(CS, sel(21, 1)); !ok {
		t.Fatal("LoadSeg CS")
	}
	mc.at(0x2000, 0xE9, 0x00, 0x10, 0, 0) // jmp +0x1000 -> 0x3005 > limit
	mc.wantTrap("jmp beyond CS limit", mc.c.Step(), VecGP, true, 0, 0x2000)
	mc.at(0x2FFE, 0x90, 0x90, 0x90) // nop at the limit runs, the next one is beyond
	mc.wantStep("nop below limit", mc.c.Step(), 0x2FFF)
	mc.wantStep("nop at limit", mc.c.Step(), 0x3000)
	mc.wantTrap("fetch beyond limit", mc.c.Step(), VecGP, true, 0, 0x3000)
	mc.at(0x2FFE, 0xB8, 1, 2, 3, 4) // mov eax, imm32 straddling the limit
	mc.wantTrap("instruction straddling the limit", mc.c.Step(), VecGP, true, 0, 0x2FFE)
}

// TestUnitSingleStepTrap: with TF set, every instruction ends with a #DB
// trap (vector 1, EIP after the instruction, no error code); POPF that sets
// TF traps only after the following instruction (SDM vol. 3 §17.3.1.4).
func TestUnitSingleStepTrap(t *testing.T) {
	mc := newMachine(t)
	mc.setRegs(regs{0, 0, 0, 0, 0x8000, 0, 0, 0})
	mc.c.SetEFLAGS(0x202 | FlagTF)
	mc.at(0x2000, 0x40, 0x40, 0x40)
	ex := mc.c.Run(100)
	mc.wantTrap("inc with TF", ex, VecDB, false, 0, 0x2001)
	if mc.c.Reg(EAX) != 1 {
		t.Errorf("eax %d after one single-stepped instruction, want 1", mc.c.Reg(EAX))
	}
	// popf setting TF
	mc2 := newMachine(t)
	mc2.setRegs(regs{0, 0, 0, 0, 0x8000, 0, 0, 0})
	mc2.push32(0x202 | FlagTF)
	mc2.at(0x2000, 0x9D, 0x40, 0x40, 0x40)
	ex = mc2.c.Run(100)
	mc2.wantTrap(fmt.Sprintf("popf setting TF (eax=%d)", mc2.c.Reg(EAX)), ex, VecDB, false, 0, 0x2002)
}
