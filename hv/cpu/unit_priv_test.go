package cpu

// Privileged and system instructions at CPL 1 and 3 (Intel SDM per
// instruction; cpu.md "Privileged instructions at CPL > 0 raise #GP(0)
// exactly as hardware does"), invalid encodings, LOCK rules, and the other
// instructions 64-bit mode cannot check natively (BOUND, XLAT, CMPXCHG8B,
// CPUID, RDTSC, SGDT/SIDT/SMSW/STR/SLDT, x87/SSE state and #NM, the
// "unimplemented instruction" exit).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

func TestUnitPrivilegedInstructions(t *testing.T) {
	cases := []struct {
		name string
		code []byte
	}{
		{"hlt", []byte{0xF4}},
		{"cli", []byte{0xFA}},
		{"sti", []byte{0xFB}},
		{"in al, 0x60", []byte{0xE4, 0x60}},
		{"in eax, dx", []byte{0xED}},
		{"out 0x80, al", []byte{0xE6, 0x80}},
		{"out dx, al", []byte{0xEE}},
		{"insb", []byte{0x6C}},
		{"outsd", []byte{0x6F}},
		{"rep insb", []byte{0xF3, 0x6C}},
		{"lgdt [eax]", []byte{0x0F, 0x01, 0x10}},
		{"lidt [eax]", []byte{0x0F, 0x01, 0x18}},
		{"lldt ax", []byte{0x0F, 0x00, 0xD0}},
		{"ltr ax", []byte{0x0F, 0x00, 0xD8}},
		{"lmsw ax", []byte{0x0F, 0x01, 0xF0}},
		{"mov cr0, eax", []byte{0x0F, 0x22, 0xC0}},
		{"mov eax, cr0", []byte{0x0F, 0x20, 0xC0}},
		{"mov eax, cr3", []byte{0x0F, 0x20, 0xD8}},
		{"mov cr3, eax", []byte{0x0F, 0x22, 0xD8}},
		{"mov eax, cr2", []byte{0x0F, 0x20, 0xD0}},
		{"mov cr4, eax", []byte{0x0F, 0x22, 0xE0}},
		{"mov eax, dr7", []byte{0x0F, 0x21, 0xF8}},
		{"mov dr0, eax", []byte{0x0F, 0x23, 0xC0}},
		{"invlpg [eax]", []byte{0x0F, 0x01, 0x38}},
		{"invd", []byte{0x0F, 0x08}},
		{"wbinvd", []byte{0x0F, 0x09}},
		{"rdmsr", []byte{0x0F, 0x32}},
		{"wrmsr", []byte{0x0F, 0x30}},
		{"clts", []byte{0x0F, 0x06}},
		{"rdpmc", []byte{0x0F, 0x33}},
		{"sysenter (SYSENTER_CS = 0)", []byte{0x0F, 0x34}},
	}
	for _, cpl := range []int{1, 3} {
		for _, k := range cases {
			mc := newMachine(t)
			mc.flat(cpl)
			mc.setRegs(regs{0x5000, 0, 0x60, 0, 0x8000, 0, 0x6000, 0x7000})
			mc.at(0x2000, k.code...)
			before := mc.regs()
			ic := mc.c.ICount()
			ex := mc.c.Step()
			mc.wantTrap(fmt.Sprintf("cpl%d %s", cpl, k.name), ex, VecGP, true, 0, 0x2000)
			if d := before.diff(mc.regs()); d != "" {
				t.Errorf("cpl%d %s: registers changed:%s", cpl, k.name, d)
			}
			if mc.c.ICount() != ic {
				t.Errorf("cpl%d %s: a faulting instruction retired", cpl, k.name)
			}
			if mc.c.EFLAGS()&FlagIF == 0 {
				t.Errorf("cpl%d %s: IF changed", cpl, k.name)
			}
		}
	}
}

func TestUnitInvalidOpcodes(t *testing.T) {
	cases := []struct {
		name string
		code []byte
	}{
		{"ud2", []byte{0x0F, 0x0B}},
		{"lock add eax, ecx (register form)", []byte{0xF0, 0x01, 0xC8}},
		{"lock mov eax, [ebx] (not lockable)", []byte{0xF0, 0x8B, 0x03}},
		{"lock nop", []byte{0xF0, 0x90}},
		{"lock inc eax", []byte{0xF0, 0x40}},
		{"lock cmpxchg ecx, edx (register)", []byte{0xF0, 0x0F, 0xB1, 0xD1}},
		{"syscall (not claimed by CPUID)", []byte{0x0F, 0x05}},
		{"lea eax, ecx (register operand)", []byte{0x8D, 0xC1}},
		{"mov es, ... with reg 6 (no sreg 6)", []byte{0x8E, 0xF0}},
		{"pop cs (0F is a prefix: 0F FF is invalid)", []byte{0x0F, 0xFF}},
		{"cmpxchg8b with a register operand", []byte{0x0F, 0xC7, 0xC8}},
		{"bound with a register operand", []byte{0x62, 0xC1}},
		{"les with a register operand", []byte{0xC4, 0xC1}},
		{"jmp far with a register operand", []byte{0xFF, 0xE8}},
		{"call far with a register operand", []byte{0xFF, 0xD8}},
		{"FF /7", []byte{0xFF, 0xF8}},
		{"FE /2", []byte{0xFE, 0xD0}},
	}
	for _, cpl := range []int{1, 3} {
		for _, k := range cases {
			mc := newMachine(t)
			mc.flat(cpl)
			mc.setRegs(regs{0x5000, 0x11, 0x22, 0x6000, 0x8000, 0, 0, 0})
			mc.at(0x2000, k.code...)
			before := mc.regs()
			ex := mc.c.Step()
			mc.wantTrap(fmt.Sprintf("cpl%d %s", cpl, k.name), ex, VecUD, false, 0, 0x2000)
			if d := before.diff(mc.regs()); d != "" {
				t.Errorf("cpl%d %s: registers changed:%s", cpl, k.name, d)
			}
		}
	}
	// LOCK on lockable memory forms is accepted
	for _, code := range [][]byte{
		{0xF0, 0x01, 0x0B},             // lock add [ebx], ecx
		{0xF0, 0x0F, 0xB1, 0x13},       // lock cmpxchg [ebx], edx
		{0xF0, 0x87, 0x0B},             // lock xchg [ebx], ecx
		{0xF0, 0xFF, 0x03},             // lock inc dword [ebx]
		{0xF0, 0x0F, 0xAB, 0x0B},       // lock bts [ebx], ecx
		{0xF0, 0x0F, 0xC7, 0x0B},       // lock cmpxchg8b [ebx]
		{0xF0, 0xF7, 0x13},             // lock not dword [ebx]
		{0xF0, 0x80, 0x33, 0x01},       // lock xor byte [ebx], 1
		{0xF0, 0x0F, 0xC1, 0x0B},       // lock xadd [ebx], ecx
		{0xF0, 0x0F, 0xBA, 0x3B, 0x05}, // lock btc dword [ebx], 5
	} {
		mc := newMachine(t)
		mc.setRegs(regs{0x5000, 0x11, 0x22, 0x6000, 0x8000, 0, 0, 0})
		mc.at(0x2000, code...)
		mc.wantStep(fmt.Sprintf("%x", code), mc.c.Step(), 0x2000+uint32(len(code)))
	}
}

// TestUnprivilegedSystemInstructions: SGDT/SIDT/SMSW/STR/SLDT work at any
// CPL (no UMIP) and report what the Host set (cpu.md: GDT limit 0xFF, IDT
// limit 0x7FF).
func TestUnitUnprivilegedSystemInstructions(t *testing.T) {
	for _, cpl := range []int{1, 3} {
		mc := newMachine(t)
		mc.c.SetTableBases(0xFFC01000, 0xFFC02000)
		mc.flat(cpl)
		mc.setRegs(regs{0, 0, 0, 0x6000, 0x8000, 0, 0, 0})
		mc.at(0x2000, 0x0F, 0x01, 0x03) // sgdt [ebx]
		if mc.wantStep("sgdt", mc.c.Step(), 0x2003) {
			lim, _ := mc.m.Read16(0x6000)
			if base := mc.r32(0x6002); lim != 0xFF || base != 0xFFC01000 {
				t.Errorf("cpl%d sgdt: limit %#x base %#x, want 0xff 0xffc01000", cpl, lim, base)
			}
		}
		mc.at(0x2000, 0x0F, 0x01, 0x0B) // sidt [ebx]
		if mc.wantStep("sidt", mc.c.Step(), 0x2003) {
			lim, _ := mc.m.Read16(0x6000)
			if base := mc.r32(0x6002); lim != 0x7FF || base != 0xFFC02000 {
				t.Errorf("cpl%d sidt: limit %#x base %#x, want 0x7ff 0xffc02000", cpl, lim, base)
			}
		}
		for _, k := range []struct {
			name string
			code []byte
		}{{"smsw eax", []byte{0x0F, 0x01, 0xE0}}, {"str eax", []byte{0x0F, 0x00, 0xC8}}, {"sldt eax", []byte{0x0F, 0x00, 0xC0}}} {
			mc.at(0x2000, k.code...)
			mc.wantStep(fmt.Sprintf("cpl%d %s", cpl, k.name), mc.c.Step(), 0x2003)
		}
		// SMSW: PE (bit 0) must be set in protected mode
		mc.at(0x2000, 0x0F, 0x01, 0xE0)
		mc.c.Step()
		if mc.c.Reg(EAX)&1 == 0 {
			t.Errorf("cpl%d smsw: PE clear (%#x)", cpl, mc.c.Reg(EAX))
		}
	}
}

// TestCPUID: the documented model (api.go, cpu.md): leaf 1 EDX claims
// exactly FPU TSC CX8 CMOV MMX FXSR SSE SSE2 PAE, ECX = 0, no hypervisor
// bit, max extended leaf 0x80000008 and the brand string.
func TestUnitCPUID(t *testing.T) {
	mc := newMachine(t)
	cpuid := func(leaf uint32) (a, b, c, d uint32) {
		mc.setRegs(regs{leaf, 0, 0, 0, 0x8000, 0, 0, 0})
		mc.at(0x2000, 0x0F, 0xA2)
		mc.wantStep(fmt.Sprintf("cpuid %#x", leaf), mc.c.Step(), 0x2002)
		return mc.c.Reg(EAX), mc.c.Reg(EBX), mc.c.Reg(ECX), mc.c.Reg(EDX)
	}
	max, _, _, _ := cpuid(0)
	if max < 1 {
		t.Errorf("max basic leaf %d", max)
	}
	_, _, ecx, edx := cpuid(1)
	const (
		fpu, tsc, pae, cx8, cmov, mmx, fxsr, sse, sse2 = 1 << 0, 1 << 4, 1 << 6, 1 << 8, 1 << 15, 1 << 23, 1 << 24, 1 << 25, 1 << 26
	)
	if want := uint32(fpu | tsc | pae | cx8 | cmov | mmx | fxsr | sse | sse2); edx != want {
		t.Errorf("leaf 1 EDX = %#x, want %#x (FPU TSC CX8 CMOV MMX FXSR SSE SSE2 PAE only)", edx, want)
	}
	if ecx != 0 {
		t.Errorf("leaf 1 ECX = %#x, want 0 (no hypervisor bit, nothing unimplemented)", ecx)
	}
	emax, _, _, _ := cpuid(0x80000000)
	if emax != 0x80000008 {
		t.Errorf("max extended leaf %#x, want 0x80000008", emax)
	}
	var brand []byte
	for l := uint32(0x80000002); l <= 0x80000004; l++ {
		a, b, c, d := cpuid(l)
		for _, v := range []uint32{a, b, c, d} {
			brand = binary.LittleEndian.AppendUint32(brand, v)
		}
	}
	if !bytes.HasPrefix(bytes.TrimLeft(brand, " "), []byte("lgdbg virtual i386")) {
		t.Errorf("brand string %q", brand)
	}
}

// TestRDTSC: virtual TSC = ICount + offset (cpu.md).
func TestUnitRDTSC(t *testing.T) {
	for _, cpl := range []int{1, 3} {
		mc := newMachine(t)
		mc.flat(cpl)
		mc.c.SetTSCOffset(0x100000000)
		mc.at(0x2000, 0x90, 0x90, 0x0F, 0x31)
		mc.c.Step()
		mc.c.Step()
		ic := mc.c.ICount()
		mc.wantStep("rdtsc", mc.c.Step(), 0x2004)
		got := uint64(mc.c.Reg(EDX))<<32 | uint64(mc.c.Reg(EAX))
		// the count before or after RDTSC retires are both defensible
		if got != ic+0x100000000 && got != ic+1+0x100000000 {
			t.Errorf("cpl%d rdtsc = %#x, want ICount(%d)+offset", cpl, got, ic)
		}
	}
}

// TestBound: BOUND r32, m32&32 raises #BR (fault: EIP at BOUND) when the
// index is outside [lower, upper] (signed, inclusive).
func TestUnitBound(t *testing.T) {
	cases := []struct {
		idx, lo, hi uint32
		fault       bool
		o16         bool
	}{
		{5, 0, 10, false, false}, {0, 0, 10, false, false}, {10, 0, 10, false, false},
		{11, 0, 10, true, false}, {0xFFFFFFFF, 0, 10, true, false}, {0xFFFFFFFE, 0xFFFFFFF0, 2, false, false},
		{3, 5, 4, true, false}, {0x7FFF, 0, 0x7FFF, false, true}, {0x8000, 0, 0x7FFF, true, true},
	}
	for _, k := range cases {
		mc := newMachine(t)
		code := []byte{0x62, 0x03} // bound eax, [ebx]
		if k.o16 {
			code = []byte{0x66, 0x62, 0x03}
			mc.m.Write16(0x6000, uint16(k.lo))
			mc.m.Write16(0x6002, uint16(k.hi))
		} else {
			mc.w32(0x6000, k.lo)
			mc.w32(0x6004, k.hi)
		}
		mc.setRegs(regs{k.idx, 0, 0, 0x6000, 0x8000, 0, 0, 0})
		mc.at(0x2000, code...)
		ex := mc.c.Step()
		what := fmt.Sprintf("bound idx=%#x [%#x,%#x] o16=%v", k.idx, k.lo, k.hi, k.o16)
		if k.fault {
			mc.wantTrap(what, ex, VecBR, false, 0, 0x2000)
		} else {
			mc.wantStep(what, ex, 0x2000+uint32(len(code)))
		}
	}
}

// TestXlatCmpxchg8bMovx: XLAT (DS:[EBX+AL], segment override honoured),
// CMPXCHG8B both outcomes, MOVSX/MOVZX.
func TestUnitXlatCmpxchg8bMovx(t *testing.T) {
	mc := newMachine(t)
	for i := 0; i < 256; i++ {
		mc.m.Write8(0x6000+uint32(i), byte(255-i))
	}
	mc.setRegs(regs{0xAABBCC10, 0, 0, 0x6000, 0x8000, 0, 0, 0})
	mc.at(0x2000, 0xD7)
	if mc.wantStep("xlat", mc.c.Step(), 0x2001) && mc.c.Reg(EAX) != 0xAABBCCEF {
		t.Errorf("xlat: eax %#x, want 0xaabbccef", mc.c.Reg(EAX))
	}
	// cmpxchg8b [esi]: equal -> store ECX:EBX, ZF=1
	mc.w32(0x7000, 0x11111111)
	mc.w32(0x7004, 0x22222222)
	mc.setRegs(regs{0x11111111, 0x44444444, 0x22222222, 0x33333333, 0x8000, 0, 0x7000, 0})
	mc.at(0x2000, 0x0F, 0xC7, 0x0E)
	if mc.wantStep("cmpxchg8b equal", mc.c.Step(), 0x2003) {
		if mc.r32(0x7000) != 0x33333333 || mc.r32(0x7004) != 0x44444444 || mc.c.EFLAGS()&FlagZF == 0 {
			t.Errorf("cmpxchg8b equal: mem %#x:%#x ZF %v", mc.r32(0x7004), mc.r32(0x7000), mc.c.EFLAGS()&FlagZF != 0)
		}
	}
	// not equal -> EDX:EAX = memory, ZF=0
	mc.setRegs(regs{0, 0x44444444, 0, 0x33333333, 0x8000, 0, 0x7000, 0})
	mc.at(0x2000, 0x0F, 0xC7, 0x0E)
	if mc.wantStep("cmpxchg8b not equal", mc.c.Step(), 0x2003) {
		if mc.c.Reg(EAX) != 0x33333333 || mc.c.Reg(EDX) != 0x44444444 || mc.c.EFLAGS()&FlagZF != 0 {
			t.Errorf("cmpxchg8b not equal: edx:eax %#x:%#x ZF %v", mc.c.Reg(EDX), mc.c.Reg(EAX), mc.c.EFLAGS()&FlagZF != 0)
		}
	}
	movx := []struct {
		code []byte
		src  uint32
		want uint32
	}{
		{[]byte{0x0F, 0xBE, 0xC1}, 0x80, 0xFFFFFF80},         // movsx eax, cl
		{[]byte{0x0F, 0xB6, 0xC1}, 0x80, 0x00000080},         // movzx eax, cl
		{[]byte{0x0F, 0xBF, 0xC1}, 0x8001, 0xFFFF8001},       // movsx eax, cx
		{[]byte{0x0F, 0xB7, 0xC1}, 0x18001, 0x00008001},      // movzx eax, cx
		{[]byte{0x66, 0x0F, 0xBE, 0xC1}, 0xFF, 0x1234FFFF},   // movsx ax, cl
		{[]byte{0x0F, 0xBE, 0xC5}, 0x7F00, 0x0000007F},       // movsx eax, ch
		{[]byte{0x66, 0x0F, 0xB6, 0xC5}, 0x8000, 0x12340080}, // movzx ax, ch
	}
	for _, k := range movx {
		mc.setRegs(regs{0x12345678, k.src, 0, 0, 0x8000, 0, 0, 0})
		mc.at(0x2000, k.code...)
		if mc.wantStep(fmt.Sprintf("%x", k.code), mc.c.Step(), 0x2000+uint32(len(k.code))) && mc.c.Reg(EAX) != k.want {
			t.Errorf("%x: eax %#x, want %#x", k.code, mc.c.Reg(EAX), k.want)
		}
	}
}

// TestFPUState: the x87/SSE state instructions Linux boot uses, #NM while
// CR0.TS is set (spec §5.9), FXSAVE alignment #GP, and an explicit
// "unimplemented" exit (never a silent wrong result) for x87 arithmetic.
func TestUnitFPUState(t *testing.T) {
	mc := newMachine(t)
	// fninit; fnstcw [ebx]; fnstsw ax
	mc.setRegs(regs{0xFFFFFFFF, 0, 0, 0x6000, 0x8000, 0, 0, 0})
	mc.at(0x2000, 0xDB, 0xE3, 0xD9, 0x3B, 0xDF, 0xE0)
	mc.wantStep("fninit", mc.c.Step(), 0x2002)
	mc.wantStep("fnstcw", mc.c.Step(), 0x2004)
	if cw, _ := mc.m.Read16(0x6000); cw != 0x037F {
		t.Errorf("FCW after fninit = %#x, want 0x037f", cw)
	}
	mc.wantStep("fnstsw ax", mc.c.Step(), 0x2006)
	if ax := mc.c.Reg(EAX); ax != 0xFFFF0000 {
		t.Errorf("eax after fnstsw ax = %#x, want 0xffff0000 (FSW 0)", ax)
	}
	// fldcw [ebx] with 0x027F, fnstcw [ebx+4]
	mc.m.Write16(0x6000, 0x027F)
	mc.at(0x2000, 0xD9, 0x2B, 0xD9, 0x7B, 0x04)
	mc.wantStep("fldcw", mc.c.Step(), 0x2002)
	mc.wantStep("fnstcw", mc.c.Step(), 0x2005)
	if cw, _ := mc.m.Read16(0x6004); cw != 0x027F {
		t.Errorf("FCW after fldcw = %#x, want 0x027f", cw)
	}
	// fxsave [ebx] (16-byte aligned): FCW at offset 0, MXCSR 0x1F80 at 24
	mc.setRegs(regs{0, 0, 0, 0x6100, 0x8000, 0, 0, 0})
	mc.at(0x2000, 0x0F, 0xAE, 0x03)
	if mc.wantStep("fxsave", mc.c.Step(), 0x2003) {
		if cw, _ := mc.m.Read16(0x6100); cw != 0x027F {
			t.Errorf("fxsave FCW = %#x, want 0x027f", cw)
		}
		if mx := mc.r32(0x6100 + 24); mx != 0x1F80 {
			t.Errorf("fxsave MXCSR = %#x, want 0x1f80", mx)
		}
	}
	// fxrstor round trip: change FCW in the image, restore, read back
	mc.m.Write16(0x6100, 0x0360)
	mc.at(0x2000, 0x0F, 0xAE, 0x0B, 0xD9, 0x3D, 0x00, 0x62, 0, 0) // fxrstor [ebx]; fnstcw [0x6200]
	mc.wantStep("fxrstor", mc.c.Step(), 0x2003)
	mc.wantStep("fnstcw", mc.c.Step(), 0x2009)
	if cw, _ := mc.m.Read16(0x6200); cw != 0x0360 {
		t.Errorf("FCW after fxrstor = %#x, want 0x0360", cw)
	}
	// misaligned fxsave -> #GP(0)
	mc.setRegs(regs{0, 0, 0, 0x6108, 0x8000, 0, 0, 0})
	mc.at(0x2000, 0x0F, 0xAE, 0x03)
	mc.wantTrap("fxsave misaligned", mc.c.Step(), VecGP, true, 0, 0x2000)
	// fnsave [ebx]: 108 bytes, FCW first, then the FPU is reinitialised
	mc.setRegs(regs{0, 0, 0, 0x6300, 0x8000, 0, 0, 0})
	mc.at(0x2000, 0xDD, 0x33, 0xD9, 0x3D, 0x00, 0x64, 0, 0) // fnsave [ebx]; fnstcw [0x6400]
	if mc.wantStep("fnsave", mc.c.Step(), 0x2002) {
		if cw, _ := mc.m.Read16(0x6300); cw != 0x0360 {
			t.Errorf("fnsave FCW = %#x, want 0x0360", cw)
		}
	}
	mc.wantStep("fnstcw after fnsave", mc.c.Step(), 0x2008)
	if cw, _ := mc.m.Read16(0x6400); cw != 0x037F {
		t.Errorf("FCW after fnsave = %#x, want 0x037f (fnsave reinitialises)", cw)
	}
	// CR0.TS: every x87/SSE state instruction raises #NM (fault)
	mc.c.SetTS(true)
	for _, code := range [][]byte{{0xDB, 0xE3}, {0xD9, 0x3B}, {0xDF, 0xE0}, {0x0F, 0xAE, 0x03}, {0x9B}, {0x0F, 0x77}, {0xDD, 0x33}} {
		mc.setRegs(regs{0, 0, 0, 0x6100, 0x8000, 0, 0, 0})
		mc.at(0x2000, code...)
		mc.wantTrap(fmt.Sprintf("TS set: %x", code), mc.c.Step(), VecNM, false, 0, 0x2000)
	}
	mc.c.SetTS(false)
	// x87 arithmetic is not implemented: an explicit exit naming the bytes
	mc.at(0x2000, 0xD8, 0xC1) // fadd st0, st1
	ex := mc.c.Step()
	if ex.Reason != ExitUnimplemented || ex.InsnAddr != 0x2000 || !bytes.HasPrefix(ex.Insn, []byte{0xD8, 0xC1}) {
		t.Errorf("fadd: got %s, want Unimplemented at 0x2000 with bytes d8c1", exitString(ex))
	}
	if mc.c.EIP() != 0x2000 {
		t.Errorf("fadd: EIP moved to %#x (state must be as before it)", mc.c.EIP())
	}
}

// TestFencesAndHints: the instructions the kernel's alternatives pick
// (MFENCE/LFENCE/SFENCE, PREFETCHh, PAUSE, long NOPs 0F 1F /0 and the
// 0F 18..1F hint space) execute as no-ops of the right length.
func TestUnitFencesAndHints(t *testing.T) {
	for _, code := range [][]byte{
		{0x0F, 0xAE, 0xF0}, {0x0F, 0xAE, 0xE8}, {0x0F, 0xAE, 0xF8}, // mfence lfence sfence
		{0x0F, 0x18, 0x03}, {0x0F, 0x18, 0x0B}, {0x0F, 0x18, 0x13}, {0x0F, 0x18, 0x1B}, // prefetch*
		{0xF3, 0x90},                               // pause
		{0x0F, 0x1F, 0x00},                         // nopl [eax]
		{0x0F, 0x1F, 0x40, 0x00},                   // nopl [eax+0]
		{0x0F, 0x1F, 0x44, 0x00, 0x00},             // nopl [eax+eax+0]
		{0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00},       // nopw
		{0x0F, 0x1F, 0x80, 0, 0, 0, 0},             // nopl [eax+disp32]
		{0x0F, 0x1F, 0x84, 0x00, 0, 0, 0, 0},       // nopl [eax+eax+disp32]
		{0x66, 0x0F, 0x1F, 0x84, 0x00, 0, 0, 0, 0}, // nopw ...
		{0x0F, 0x19, 0xC0}, {0x0F, 0x1E, 0xC8},     // hint space, register forms
	} {
		mc := newMachine(t)
		mc.setRegs(regs{0xFFFFF000, 0, 0, 0, 0x8000, 0, 0, 0}) // a NOP's address must not be accessed
		mc.at(0x2000, code...)
		before := mc.regs()
		mc.wantStep(fmt.Sprintf("%x", code), mc.c.Step(), 0x2000+uint32(len(code)))
		if d := before.diff(mc.regs()); d != "" {
			t.Errorf("%x changed registers:%s", code, d)
		}
	}
}

// TestBCDUnit: SDM examples and AAM 0 -> #DE (the exhaustive BCD vectors
// come from silicon in testdata/bcd.txt; these pin the documented cases).
func TestUnitBCD(t *testing.T) {
	cases := []struct {
		name   string
		code   []byte
		eax    uint32
		flags  uint32
		want   uint32
		wantF  uint32 // checked under fmask
		fmask  uint32
		divErr bool
	}{
		// SDM DAA example: ADD AL,BL with AL=79h BL=35h -> AEh; DAA -> 14h CF=1
		{"daa 0xae", []byte{0x27}, 0xAE, 0, 0x14, FlagCF | FlagAF, FlagCF | FlagAF, false},
		// SDM DAS example: SUB AL,BL with AL=35h BL=47h -> EEh CF=1 AF=1; DAS -> 88h CF=1
		{"das 0xee", []byte{0x2F}, 0xEE, FlagCF | FlagAF, 0x88, FlagCF | FlagAF, FlagCF | FlagAF, false},
		// AAA: AL=0x0F -> AX+0x106, AL&0F: AH 1, AL 5, AF=CF=1
		{"aaa", []byte{0x37}, 0x000F, 0, 0x0105, FlagCF | FlagAF, FlagCF | FlagAF, false},
		{"aas", []byte{0x3F}, 0x0200 | 0x0F, 0, 0x0109, FlagCF | FlagAF, FlagCF | FlagAF, false},
		{"aam", []byte{0xD4, 0x0A}, 0x0063, 0, 0x0909, 0, 0, false},
		{"aad", []byte{0xD5, 0x0A}, 0x0907, 0, 0x0061, 0, 0, false}, // 7 + 9*10 = 97
		{"aad base 16", []byte{0xD5, 0x10}, 0x0102, 0, 0x0012, 0, 0, false},
		{"aam 0 -> #DE", []byte{0xD4, 0x00}, 0x0063, 0, 0x0063, 0, 0, true},
	}
	for _, k := range cases {
		mc := newMachine(t)
		mc.setRegs(regs{0xABCD0000 | k.eax, 0, 0, 0, 0x8000, 0, 0, 0})
		mc.c.SetEFLAGS(0x202 | k.flags)
		mc.at(0x2000, k.code...)
		ex := mc.c.Step()
		if k.divErr {
			mc.wantTrap(k.name, ex, VecDE, false, 0, 0x2000)
		} else if !mc.wantStep(k.name, ex, 0x2000+uint32(len(k.code))) {
			continue
		}
		if got := mc.c.Reg(EAX); got != 0xABCD0000|k.want {
			t.Errorf("%s: eax %#x, want %#x", k.name, got, 0xABCD0000|k.want)
		}
		if got := mc.c.EFLAGS(); got&k.fmask != k.wantF {
			t.Errorf("%s: flags %s, want %s under %s", k.name, flagString(got&k.fmask), flagString(k.wantF), flagString(k.fmask))
		}
	}
}

// TestUnitNMForAllFPUClasses: with CR0.TS set, x87, MMX and SSE instructions
// of every kind raise #NM before anything else (spec §5.9; SDM vol. 3
// §2.5 CR0.TS), so the Host's lazy-FPU protocol works whatever the guest
// executes first.
func TestUnitNMForAllFPUClasses(t *testing.T) {
	for _, code := range [][]byte{
		{0xD9, 0xE8},             // fld1
		{0xD8, 0xC1},             // fadd st, st1
		{0xDD, 0x03},             // fld qword [ebx]
		{0x0F, 0xEF, 0xC0},       // pxor mm0, mm0
		{0x0F, 0x6F, 0x03},       // movq mm0, [ebx]
		{0x66, 0x0F, 0xEF, 0xC0}, // pxor xmm0, xmm0
		{0x0F, 0x28, 0x03},       // movaps xmm0, [ebx]
		{0x0F, 0x58, 0xC1},       // addps xmm0, xmm1
		{0xF2, 0x0F, 0x2A, 0xC0}, // cvtsi2sd xmm0, eax
		{0x0F, 0xAE, 0x0B},       // fxrstor [ebx]
		{0xDD, 0x23},             // frstor [ebx]
		{0x0F, 0xAE, 0x13},       // ldmxcsr [ebx]
	} {
		mc := newMachine(t)
		mc.c.SetTS(true)
		mc.setRegs(regs{0, 0, 0, 0x6000, 0x8000, 0, 0, 0})
		mc.at(0x2000, code...)
		mc.wantTrap(fmt.Sprintf("TS set: %x", code), mc.c.Step(), VecNM, false, 0, 0x2000)
	}
}
