package cpu

// Segment loads and their faults (Intel SDM vol. 2 "MOV—Move to segment
// register", "POP", "LDS/LES/LFS/LGS/LSS"; vol. 3 §5.4–5.6; spec §6: the
// live GDT has 32 entries, limit 0xFF, no LDT), segment limit checks and
// segment-override / default-segment rules.

import (
	"fmt"
	"testing"
)

// Extra GDT entries for these tests.
const (
	gNotPresent = 6  // data DPL1, P=0
	gExpDown    = 7  // expand-down data DPL1, limit 0xFFF, B=1
	gCodeDPL3   = 8  // code DPL3
	gCodeXO     = 9  // execute-only code DPL1 (not readable)
	gDataRO     = 18 // read-only data DPL1
	gSmallData  = 19 // data DPL1 base 0x20000 limit 0xFFF
	gCode2      = 20 // second ring-1 code segment, base 0x1000
	gTSS        = 16
	gDataDPL0   = 11 // LGUEST_DS (Host entry, DPL 0)
	gCodeDPL0   = 10 // LGUEST_CS
)

func segMachine(t *testing.T) *machine {
	mc := newMachine(t)
	c := mc.c
	c.SetGDTEntry(gCodeDPL0, 0x00CF9B000000FFFF)
	c.SetGDTEntry(gDataDPL0, 0x00CF93000000FFFF)
	c.SetGDTEntry(gNotPresent, 0x00CF33000000FFFF)
	c.SetGDTEntry(gExpDown, desc(0x10000, 0xFFF, 0xB7, 0x4)) // base 0x10000: offset 0xFFFFFFFC is linear 0xFFFC
	c.SetGDTEntry(gCodeDPL3, descUserCS)
	c.SetGDTEntry(gCodeXO, desc(0, 0xFFFFF, 0xB9, 0xC))
	c.SetGDTEntry(gTSS, desc(0x3000, 0x67, 0x89, 0))
	c.SetGDTEntry(gDataRO, desc(0, 0xFFFFF, 0xB1, 0xC))
	c.SetGDTEntry(gSmallData, desc(0x20000, 0xFFF, 0xB3, 0x4))
	c.SetGDTEntry(gCode2, desc(0x1000, 0xFFFFF, 0xBB, 0xC))
	return mc
}

func sel(index int, rpl int) uint16 { return uint16(index<<3 | rpl) }

// TestLoadSegAPI drives LoadSeg (what the Switcher's pops/iret do on guest
// entry, spec §9.4) through every check, at CPL 1.
func TestUnitLoadSegAPI(t *testing.T) {
	type tc struct {
		name   string
		s      SReg
		sel    uint16
		vec    int
		err    uint32
		ok     bool
		cpl    int // CPL before the load (1 or 3)
		valid  bool
		wantSe uint16
	}
	cases := []tc{
		{"DS flat", DS, selKDS, 0, 0, true, 1, true, selKDS},
		{"DS null", DS, 0, 0, 0, true, 1, false, 0},
		{"ES null rpl3", ES, 3, 0, 0, true, 1, false, 3},
		{"SS null", SS, 0, VecGP, 0, false, 1, false, 0},
		{"DS index 32 beyond the GDT limit", DS, sel(32, 1), VecGP, uint32(sel(32, 0)), false, 1, false, 0},
		{"DS TI=1 (no LDT)", DS, sel(13, 1) | 4, VecGP, uint32(sel(13, 0) | 4), false, 1, false, 0},
		{"DS not present", DS, sel(gNotPresent, 1), VecNP, uint32(sel(gNotPresent, 0)), false, 1, false, 0},
		{"SS not present", SS, sel(gNotPresent, 1), VecSS, uint32(sel(gNotPresent, 0)), false, 1, false, 0},
		{"DS DPL0 data at CPL1", DS, sel(gDataDPL0, 1), VecGP, uint32(sel(gDataDPL0, 0)), false, 1, false, 0},
		{"DS DPL0 data with RPL0 at CPL1", DS, sel(gDataDPL0, 0), VecGP, uint32(sel(gDataDPL0, 0)), false, 1, false, 0},
		{"DS RPL0 to DPL1 data (max(CPL,RPL)=1 <= DPL)", DS, sel(13, 0), 0, 0, true, 1, true, sel(13, 0)},
		{"DS execute-only code", DS, sel(gCodeXO, 1), VecGP, uint32(sel(gCodeXO, 0)), false, 1, false, 0},
		{"DS readable code", DS, selKCS, 0, 0, true, 1, true, selKCS},
		{"DS TSS (system)", DS, sel(gTSS, 1), VecGP, uint32(sel(gTSS, 0)), false, 1, false, 0},
		{"SS code", SS, selKCS, VecGP, uint32(selKCS &^ 3), false, 1, false, 0},
		{"SS read-only data", SS, sel(gDataRO, 1), VecGP, uint32(sel(gDataRO, 0)), false, 1, false, 0},
		{"SS RPL3 at CPL1", SS, sel(13, 3), VecGP, uint32(sel(13, 0)), false, 1, false, 0},
		{"SS DPL3 data at CPL1", SS, selUDS, VecGP, uint32(selUDS &^ 3), false, 1, false, 0},
		{"SS flat", SS, selKDS, 0, 0, true, 1, true, selKDS},
		{"DS DPL1 at CPL3", DS, selKDS, VecGP, uint32(selKDS &^ 3), false, 3, false, 0},
		{"DS DPL3 at CPL3", DS, selUDS, 0, 0, true, 3, true, selUDS},
		{"SS DPL3 at CPL3", SS, selUDS, 0, 0, true, 3, true, selUDS},
		{"CS null", CS, 0, VecGP, 0, false, 1, false, 0},
		{"CS data segment", CS, selKDS, VecGP, uint32(selKDS &^ 3), false, 1, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mc := segMachine(t)
			mc.flat(c.cpl)
			before := mc.c.Seg(c.s)
			vec, ec, ok := mc.c.LoadSeg(c.s, c.sel)
			if ok != c.ok || (!ok && (vec != c.vec || ec != c.err)) {
				t.Fatalf("LoadSeg(%v, %#x) = (%d, %#x, %v), want (%d, %#x, %v)", c.s, c.sel, vec, ec, ok, c.vec, c.err, c.ok)
			}
			got := mc.c.Seg(c.s)
			if !ok {
				if got != before {
					t.Errorf("failed load changed the register: %+v -> %+v", before, got)
				}
				return
			}
			if got.Sel != c.wantSe || got.Valid != c.valid {
				t.Errorf("after load: sel %#x valid %v, want %#x %v", got.Sel, got.Valid, c.wantSe, c.valid)
			}
		})
	}
}

// TestMovSegFaults: the same checks through guest instructions, which must
// fault with EIP at the instruction and the register unchanged.
func TestUnitMovSegFaults(t *testing.T) {
	type tc struct {
		name string
		code []byte
		ax   uint16
		vec  int
		err  uint32
	}
	cases := []tc{
		{"mov ds,ax beyond limit", []byte{0x8E, 0xD8}, sel(40, 1), VecGP, uint32(sel(40, 0))},
		{"mov ds,ax not present", []byte{0x8E, 0xD8}, sel(gNotPresent, 1), VecNP, uint32(sel(gNotPresent, 0))},
		{"mov ss,ax not present", []byte{0x8E, 0xD0}, sel(gNotPresent, 1), VecSS, uint32(sel(gNotPresent, 0))},
		{"mov ss,ax null", []byte{0x8E, 0xD0}, 0, VecGP, 0},
		{"mov es,ax DPL0", []byte{0x8E, 0xC0}, sel(gDataDPL0, 1), VecGP, uint32(sel(gDataDPL0, 0))},
		{"mov fs,ax TSS", []byte{0x8E, 0xE0}, sel(gTSS, 1), VecGP, uint32(sel(gTSS, 0))},
		{"mov gs,ax TI=1", []byte{0x8E, 0xE8}, sel(13, 1) | 4, VecGP, uint32(sel(13, 0) | 4)},
		{"mov cs,ax is #UD", []byte{0x8E, 0xC8}, selKCS, VecUD, 0},
		{"push ax; pop ds (not present)", []byte{0x66, 0x50, 0x1F}, sel(gNotPresent, 1), VecNP, uint32(sel(gNotPresent, 0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mc := segMachine(t)
			mc.setRegs(regs{uint32(c.ax), 0, 0, 0, 0x8000, 0, 0, 0})
			mc.at(0x2000, c.code...)
			eip := uint32(0x2000)
			if c.code[0] == 0x66 { // push ax first
				ex := mc.c.Step()
				mc.wantStep("push ax", ex, 0x2002)
				eip = 0x2002
			}
			espBefore := mc.c.Reg(ESP)
			segBefore := [6]Segment{}
			for s := ES; s <= GS; s++ {
				segBefore[s] = mc.c.Seg(s)
			}
			ex := mc.c.Step()
			mc.wantTrap(c.name, ex, c.vec, c.vec != VecUD, c.err, eip)
			if mc.c.Reg(ESP) != espBefore {
				t.Errorf("ESP changed by a faulting load: %#x -> %#x", espBefore, mc.c.Reg(ESP))
			}
			for s := ES; s <= GS; s++ {
				if mc.c.Seg(s) != segBefore[s] {
					t.Errorf("segment %d changed by a faulting load", s)
				}
			}
		})
	}
}

// TestNullSegmentAccess: a null selector loads into DS fine; using it for a
// memory access raises #GP(0) (SDM vol. 3 §5.4.1).
func TestUnitNullSegmentAccess(t *testing.T) {
	mc := segMachine(t)
	mc.setRegs(regs{0, 0, 0, 0x5000, 0x8000, 0, 0, 0})
	// mov ds, ax (ax = 0) ; mov eax, [ebx]
	mc.at(0x2000, 0x8E, 0xD8, 0x8B, 0x03)
	mc.wantStep("mov ds, null", mc.c.Step(), 0x2002)
	if ds := mc.c.Seg(DS); ds.Valid {
		t.Errorf("DS after loading null: %+v, want Valid=false", ds)
	}
	mc.wantTrap("access through null DS", mc.c.Step(), VecGP, true, 0, 0x2002)
	// through SS (override 36) it works
	mc.at(0x2010, 0x36, 0x8B, 0x03)
	mc.wantStep("ss: override", mc.c.Step(), 0x2013)
}

// TestSegmentLimits: expand-up and expand-down limit checks, #GP(0) for
// data segments and #SS(0) for stack-segment accesses (SDM vol. 3 §5.3).
func TestUnitSegmentLimits(t *testing.T) {
	type tc struct {
		name    string
		seg     uint16 // loaded into DS (and SS when ss is set)
		ss      bool
		off     uint32
		size    int
		fault   bool
		wantVec int
	}
	cases := []tc{
		{"expand-up last dword", sel(gSmallData, 1), false, 0xFFC, 4, false, 0},
		{"expand-up dword crossing limit", sel(gSmallData, 1), false, 0xFFE, 4, true, VecGP},
		{"expand-up byte at limit", sel(gSmallData, 1), false, 0xFFF, 1, false, 0},
		{"expand-up byte past limit", sel(gSmallData, 1), false, 0x1000, 1, true, VecGP},
		{"expand-down below limit", sel(gExpDown, 1), false, 0x800, 4, true, VecGP},
		{"expand-down at limit", sel(gExpDown, 1), false, 0xFFF, 1, true, VecGP},
		{"expand-down above limit", sel(gExpDown, 1), false, 0x1000, 4, false, 0},
		{"expand-down top (B=1: 4 GiB)", sel(gExpDown, 1), false, 0xFFFFFFFC, 4, false, 0},
		{"stack expand-up past limit", sel(gSmallData, 1), true, 0x1000, 4, true, VecSS},
		{"stack expand-down below limit", sel(gExpDown, 1), true, 0x10, 4, true, VecSS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mc := segMachine(t)
			s := DS
			if c.ss {
				s = SS
			}
			if _, _, ok := mc.c.LoadSeg(s, c.seg); !ok {
				t.Fatalf("LoadSeg(%v, %#x) failed", s, c.seg)
			}
			mc.setRegs(regs{0, 0, 0, c.off, 0x8000, c.off, 0, 0})
			var code []byte
			switch {
			case c.ss && c.size == 4: // mov eax, [ebp] (SS default)
				code = []byte{0x8B, 0x45, 0x00}
			case c.size == 4: // mov eax, [ebx]
				code = []byte{0x8B, 0x03}
			default: // mov al, [ebx]
				code = []byte{0x8A, 0x03}
			}
			mc.at(0x2000, code...)
			ex := mc.c.Step()
			if c.fault {
				mc.wantTrap(c.name, ex, c.wantVec, true, 0, 0x2000)
			} else {
				mc.wantStep(c.name, ex, 0x2000+uint32(len(code)))
			}
		})
	}
}

// TestSegmentOverrides: each prefix selects its segment's base; [ebp]/[esp]
// forms default to SS (SDM vol. 1 §3.7.4).
func TestUnitSegmentOverrides(t *testing.T) {
	mc := segMachine(t)
	bases := map[SReg]uint32{ES: 0x100000, CS: 0, SS: 0x200000, DS: 0x300000, FS: 0x140000, GS: 0x180000}
	for s, b := range bases {
		if s == CS {
			continue
		}
		mc.c.SetSegRaw(s, Segment{Sel: selKDS, Base: b, Limit: 0xFFFFF, Access: accKDS, Valid: true})
	}
	for s, b := range bases {
		mc.w32(b+0x1000, 0xA0000000|uint32(s))
	}
	type tc struct {
		name string
		code []byte
		want SReg
	}
	cases := []tc{
		{"default DS [ebx]", []byte{0x8B, 0x03}, DS},
		{"es:", []byte{0x26, 0x8B, 0x03}, ES},
		{"cs:", []byte{0x2E, 0x8B, 0x03}, CS},
		{"ss:", []byte{0x36, 0x8B, 0x03}, SS},
		{"ds:", []byte{0x3E, 0x8B, 0x03}, DS},
		{"fs:", []byte{0x64, 0x8B, 0x03}, FS},
		{"gs:", []byte{0x65, 0x8B, 0x03}, GS},
		{"default SS [ebp]", []byte{0x8B, 0x45, 0x00}, SS},
		{"default SS [esp] (SIB)", []byte{0x8B, 0x04, 0x24}, SS},
		{"default DS [ebp*1+0] via SIB index", []byte{0x8B, 0x04, 0x2B}, DS},
		{"ds: overrides [ebp]", []byte{0x3E, 0x8B, 0x45, 0x00}, DS},
		{"last prefix wins (es: fs:)", []byte{0x26, 0x64, 0x8B, 0x03}, FS},
		{"default DS [disp32]", []byte{0x8B, 0x05, 0x00, 0x10, 0, 0}, DS},
	}
	for _, c := range cases {
		mc.setRegs(regs{0, 0, 0, 0x1000, 0x1000, 0x1000, 0, 0})
		if c.name == "default DS [ebp*1+0] via SIB index" { // [ebx + ebp*1]: base ebx
			mc.setRegs(regs{0, 0, 0, 0x1000, 0x1000, 0, 0, 0})
		}
		mc.at(0x3000, c.code...)
		ex := mc.c.Step()
		if !mc.wantStep(c.name, ex, 0x3000+uint32(len(c.code))) {
			continue
		}
		if got, want := mc.c.Reg(EAX), 0xA0000000|uint32(c.want); got != want {
			t.Errorf("%s: read %#x, want %#x (segment %d)", c.name, got, want, c.want)
		}
	}
}

// Test16BitAddressing: every 16-bit ModRM form (SDM vol. 2 table 2-1), with
// SS as the default segment for the BP-based forms and 64 KiB wrap-around.
func TestUnit16BitAddressing(t *testing.T) {
	mc := segMachine(t)
	const dsBase, ssBase = 0x100000, 0x200000
	mc.c.SetSegRaw(DS, Segment{Sel: selKDS, Base: dsBase, Limit: 0xFFFFFFFF, Access: accKDS, Valid: true})
	mc.c.SetSegRaw(SS, Segment{Sel: selKDS, Base: ssBase, Limit: 0xFFFFFFFF, Access: accKDS, Valid: true})
	// registers: bx=0x1000 si=0x0200 di=0x0030 bp=0x4000
	bx, si, di, bp := uint32(0x1000), uint32(0x0200), uint32(0x0030), uint32(0x4000)
	rmAddr := []func() (uint32, bool){ // offset, SS?
		func() (uint32, bool) { return bx + si, false },
		func() (uint32, bool) { return bx + di, false },
		func() (uint32, bool) { return bp + si, true },
		func() (uint32, bool) { return bp + di, true },
		func() (uint32, bool) { return si, false },
		func() (uint32, bool) { return di, false },
		func() (uint32, bool) { return bp, true }, // mod 1/2 only
		func() (uint32, bool) { return bx, false },
	}
	n := 0
	for mod := 0; mod < 3; mod++ {
		for rm := 0; rm < 8; rm++ {
			var code []byte
			var off uint32
			ss := false
			switch {
			case mod == 0 && rm == 6: // [disp16]
				code = []byte{0x67, 0x8B, byte(rm), 0x34, 0x12}
				off = 0x1234
			case mod == 0:
				code = []byte{0x67, 0x8B, byte(rm)}
				off, ss = rmAddr[rm]()
			case mod == 1: // disp8 = -0x10, sign-extended
				code = []byte{0x67, 0x8B, byte(0x40 | rm), 0xF0}
				off, ss = rmAddr[rm]()
				off -= 0x10
			case mod == 2:
				code = []byte{0x67, 0x8B, byte(0x80 | rm), 0x00, 0x01}
				off, ss = rmAddr[rm]()
				off += 0x100
			}
			off &= 0xFFFF
			base := uint32(dsBase)
			if ss {
				base = ssBase
			}
			n++
			marker := 0xBEEF0000 | uint32(n)
			mc.w32(base+off, marker)
			mc.setRegs(regs{0, 0, 0, bx, 0x8000, bp, si, di})
			mc.at(0x3000, code...)
			what := fmt.Sprintf("mod=%d rm=%d code %x", mod, rm, code)
			if mc.wantStep(what, mc.c.Step(), 0x3000+uint32(len(code))) {
				if got := mc.c.Reg(EAX); got != marker {
					t.Errorf("%s: read %#x, want %#x from %s:%#x", what, got, marker, map[bool]string{false: "ds", true: "ss"}[ss], off)
				}
			}
			mc.w32(base+off, 0)
		}
	}
	// wrap-around: [bx+si] with bx=0xFFFF si=2 addresses offset 1
	mc.w32(dsBase+1, 0x77665544)
	mc.setRegs(regs{0, 0, 0, 0xFFFF, 0x8000, 0, 2, 0})
	mc.at(0x3000, 0x67, 0x8B, 0x00)
	if mc.wantStep("16-bit wrap", mc.c.Step(), 0x3003) && mc.c.Reg(EAX) != 0x77665544 {
		t.Errorf("16-bit wrap: read %#x, want 0x77665544 (offset 0x10001 must wrap to 1)", mc.c.Reg(EAX))
	}
	// lea with 16-bit address size writes the 16-bit offset
	mc.setRegs(regs{0xFFFFFFFF, 0, 0, 0xFFF0, 0x8000, 0, 0x20, 0})
	mc.at(0x3000, 0x67, 0x8D, 0x00) // lea eax, [bx+si]
	if mc.wantStep("lea 16-bit", mc.c.Step(), 0x3003) && mc.c.Reg(EAX) != 0x10 {
		t.Errorf("lea eax,[bx+si] (addr16) = %#x, want 0x10", mc.c.Reg(EAX))
	}
}

// TestUnitLoadFarPointer: LDS/LES/LFS/LGS/LSS load offset and selector
// together (SDM "LDS/LES/LFS/LGS/LSS"), fault without changing anything on a
// bad selector, and MOV r32, Sreg zero-extends the selector.
func TestUnitLoadFarPointer(t *testing.T) {
	mc := segMachine(t)
	c := mc.c
	mc.w32(0x6000, 0x12345678)
	mc.m.Write16(0x6004, selKDS)
	cases := []struct {
		name string
		code []byte
		s    SReg
		r    Reg
	}{
		{"lds esi", []byte{0xC5, 0x33}, DS, ESI},
		{"les edi", []byte{0xC4, 0x3B}, ES, EDI},
		{"lfs eax", []byte{0x0F, 0xB4, 0x03}, FS, EAX},
		{"lgs ecx", []byte{0x0F, 0xB5, 0x0B}, GS, ECX},
		{"lss esp", []byte{0x0F, 0xB2, 0x23}, SS, ESP},
	}
	for _, k := range cases {
		// a different (flat, raw-loaded) selector before, so the load shows
		c.SetSegRaw(k.s, Segment{Sel: sel(gDataRO, 1), Limit: 0xFFFFFFFF, Access: accKDS, Valid: true})
		mc.setRegs(regs{0, 0, 0, 0x6000, 0x8000, 0, 0, 0})
		mc.at(0x2000, k.code...)
		if !mc.wantStep(k.name, c.Step(), 0x2000+uint32(len(k.code))) {
			continue
		}
		if c.Reg(k.r) != 0x12345678 || c.Seg(k.s).Sel != selKDS || !c.Seg(k.s).Valid {
			t.Errorf("%s: reg %#x seg %+v", k.name, c.Reg(k.r), c.Seg(k.s))
		}
	}
	// 16-bit form: lds si, [ebx] loads 16-bit offset, selector at +2
	mc.m.Write16(0x6010, 0xBEEF)
	mc.m.Write16(0x6012, selKDS)
	c.SetSegRaw(DS, Segment{Sel: selKDS, Limit: 0xFFFFFFFF, Access: accKDS, Valid: true})
	mc.setRegs(regs{0, 0, 0, 0x6010, 0x8000, 0, 0xAAAA0000, 0})
	mc.at(0x2000, 0x66, 0xC5, 0x33)
	if mc.wantStep("lds si (o16)", c.Step(), 0x2003) && c.Reg(ESI) != 0xAAAABEEF {
		t.Errorf("lds si: esi %#x, want 0xaaaabeef", c.Reg(ESI))
	}
	// bad selector: nothing changes
	mc.m.Write16(0x6004, sel(gNotPresent, 1))
	mc.setRegs(regs{0, 0, 0, 0x6000, 0x8000, 0, 0x77, 0})
	mc.at(0x2000, 0xC5, 0x33)
	mc.wantTrap("lds with a not-present selector", c.Step(), VecNP, true, uint32(sel(gNotPresent, 0)), 0x2000)
	if c.Reg(ESI) != 0x77 {
		t.Errorf("lds fault changed esi to %#x", c.Reg(ESI))
	}
	// mov eax, ds zero-extends; mov [mem], ds stores 16 bits
	c.SetSegRaw(DS, Segment{Sel: selKDS, Limit: 0xFFFFFFFF, Access: accKDS, Valid: true})
	mc.setRegs(regs{0xFFFFFFFF, 0, 0, 0x6100, 0x8000, 0, 0, 0})
	mc.w32(0x6100, 0xFFFFFFFF)
	mc.at(0x2000, 0x8C, 0xD8, 0x8C, 0x1B)
	mc.wantStep("mov eax, ds", c.Step(), 0x2002)
	if c.Reg(EAX) != selKDS {
		t.Errorf("mov eax, ds = %#x, want %#x (zero-extended)", c.Reg(EAX), selKDS)
	}
	mc.wantStep("mov [ebx], ds", c.Step(), 0x2004)
	if got := mc.r32(0x6100); got != 0xFFFF0000|selKDS {
		t.Errorf("mov [ebx], ds stored %#x, want %#x (16-bit store)", got, 0xFFFF0000|selKDS)
	}
}
