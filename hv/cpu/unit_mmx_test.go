package cpu

// MMX unit tests beyond the silicon vectors (vec_mmx_test.go): invalid
// encodings, #NM under CR0.TS, fault atomicity and operand widths, the x87
// aliasing seen through FNSTENV/FXSAVE, and a Linux RAID-xor style loop.

import (
	"encoding/binary"
	"fmt"
	"sort"
	"testing"
)

// runTo steps until EIP reaches end; it fails the test on any other exit.
func (mc *machine) runTo(what string, end uint32) {
	mc.t.Helper()
	for n := 0; mc.c.EIP() != end; n++ {
		if ex := mc.c.Step(); ex.Reason != ExitStep || n > 10000 {
			mc.t.Fatalf("%s: at eip %#x got %s", what, mc.c.EIP(), exitString(ex))
		}
	}
}

// fpuEnv runs FNSTENV at a scratch address and returns FSW and the full
// tag word, then restores EIP.
func (mc *machine) fpuEnv() (fsw, ftw uint16) {
	mc.t.Helper()
	eip := mc.c.EIP()
	mc.at(0x3000, cat([]byte{0xD9}, modrmAbs(6, 0x7400))...)
	mc.runTo("fnstenv", 0x3006)
	mc.c.SetEIP(eip)
	return uint16(mc.r32(0x7404)), uint16(mc.r32(0x7408))
}

func TestUnitMMXInvalidEncodingsUD(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte
	}{
		{"0F 71 /0", []byte{0x0F, 0x71, 0xC0, 1}},
		{"0F 71 /3", []byte{0x0F, 0x71, 0xD8, 1}},
		{"0F 72 /7", []byte{0x0F, 0x72, 0xF8, 1}},
		{"0F 73 /4 (no PSRAQ)", []byte{0x0F, 0x73, 0xE0, 1}},
		{"0F 73 /3 without 66", []byte{0x0F, 0x73, 0xD8, 1}},
		{"0F 73 /7 without 66", []byte{0x0F, 0x73, 0xF8, 1}},
		{"0F 71 /2 memory", cat([]byte{0x0F, 0x71}, modrmAbs(2, 0x6000), []byte{1})},
		{"66 0F 73 /2 memory", cat([]byte{0x66, 0x0F, 0x73}, modrmAbs(2, 0x6000), []byte{1})},
		{"PMOVMSKB memory", cat([]byte{0x0F, 0xD7}, modrmAbs(0, 0x6000))},
		{"MOVNTQ register", []byte{0x0F, 0xE7, 0xC1}},
	} {
		mc := newMachine(t)
		mc.at(0x2000, tc.code...)
		mc.wantTrap(tc.name, mc.c.Step(), VecUD, false, 0, 0x2000)
	}
}

// Every MMX opcode this CPU implements raises #NM under CR0.TS (spec §5.9)
// before touching anything, memory forms included.
func TestUnitMMXNMUnderTS(t *testing.T) {
	var names []string
	for n := range mmxOps {
		names = append(names, n)
	}
	sort.Strings(names)
	codes := [][]byte{{0x0F, 0x77}, {0x0F, 0x7F, 0xC1}, {0x0F, 0xE7, 0x03}}
	for _, n := range names {
		op := mmxOps[n]
		switch op.kind {
		case mkImm:
			codes = append(codes, []byte{0x0F, op.b, modrmReg(op.group, 1), 3})
		case mkShuf:
			codes = append(codes, []byte{0x0F, op.b, 0x03, 0x1B})
		case mkMask:
			codes = append(codes, []byte{0x0F, op.b, 0xC1})
		default:
			codes = append(codes, []byte{0x0F, op.b, 0xC1}, []byte{0x0F, op.b, 0x03})
		}
	}
	for _, code := range codes {
		mc := newMachine(t)
		mc.c.SetTS(true)
		mc.setRegs(regs{0, 0, 0, 0x6000, 0x8000, 0, 0, 0})
		mc.at(0x2000, code...)
		mc.wantTrap(fmt.Sprintf("TS set: % x", code), mc.c.Step(), VecNM, false, 0, 0x2000)
	}
}

// A faulting MMX instruction changes nothing: not memory, not TOS, not the
// tags; and the MMX forms access exactly their operand width (PUNPCKL*
// m32, MOVD m32, the rest m64), checked against a DS limit.
func TestUnitMMXFaultsAndWidths(t *testing.T) {
	const limit = 0x6007 // DS covers 0x0000..0x6007
	for _, tc := range []struct {
		name  string
		code  []byte
		fault bool
	}{
		{"movq [0x6004], mm0", cat([]byte{0x0F, 0x7F}, modrmAbs(0, 0x6004)), true},
		{"movntq [0x6004], mm0", cat([]byte{0x0F, 0xE7}, modrmAbs(0, 0x6004)), true},
		{"movq mm0, [0x6004]", cat([]byte{0x0F, 0x6F}, modrmAbs(0, 0x6004)), true},
		{"movd [0x6006], mm0", cat([]byte{0x0F, 0x7E}, modrmAbs(0, 0x6006)), true},
		{"movd [0x6004], mm0", cat([]byte{0x0F, 0x7E}, modrmAbs(0, 0x6004)), false},
		{"movd mm0, [0x6004]", cat([]byte{0x0F, 0x6E}, modrmAbs(0, 0x6004)), false},
		{"punpcklbw mm0, [0x6004]", cat([]byte{0x0F, 0x60}, modrmAbs(0, 0x6004)), false},
		{"punpckldq mm0, [0x6004]", cat([]byte{0x0F, 0x62}, modrmAbs(0, 0x6004)), false},
		{"punpckhbw mm0, [0x6004]", cat([]byte{0x0F, 0x68}, modrmAbs(0, 0x6004)), true},
		{"pxor mm0, [0x6004]", cat([]byte{0x0F, 0xEF}, modrmAbs(0, 0x6004)), true},
		{"psllq mm0, [0x6004]", cat([]byte{0x0F, 0xF3}, modrmAbs(0, 0x6004)), true},
		{"pshufw mm0, [0x6004], 0", cat([]byte{0x0F, 0x70}, modrmAbs(0, 0x6004), []byte{0}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc := newMachine(t)
			// fninit; fld1: TOS = 7, R7 = 1.0 valid, the rest empty
			mc.at(0x2000, 0xDB, 0xE3, 0xD9, 0xE8)
			mc.runTo("fninit; fld1", 0x2004)
			fsw0, ftw0 := mc.fpuEnv()
			mc.load(0x6000, []byte{1, 2, 3, 4, 5, 6, 7, 8})
			mc.c.SetSegRaw(DS, Segment{Sel: selKDS, Limit: limit, Access: accKDS, Valid: true})
			mc.at(0x2000, tc.code...)
			ex := mc.c.Step()
			mc.c.SetSegRaw(DS, Segment{Sel: selKDS, Limit: 0xFFFFFFFF, Access: accKDS, Valid: true})
			fsw, ftw := mc.fpuEnv()
			if tc.fault {
				mc.wantTrap(tc.name, ex, VecGP, true, 0, 0x2000)
				if fsw != fsw0 || ftw != ftw0 {
					t.Errorf("after the fault FSW/FTW = %#x/%#x, want unchanged %#x/%#x", fsw, ftw, fsw0, ftw0)
				}
				if got := mc.r32(0x6004); got != 0x08070605 {
					t.Errorf("memory changed by a faulting store: %#x", got)
				}
				return
			}
			mc.wantStep(tc.name, ex, 0x2000+uint32(len(tc.code)))
			if fsw>>11&7 != 0 {
				t.Errorf("TOS after an MMX instruction = %d, want 0", fsw>>11&7)
			}
		})
	}
}

// The aliasing seen by the x87 state instructions: MOVQ to mm i lands in
// physical R i with exponent ones whatever TOS was, TOS becomes 0, FXSAVE's
// abridged tags all 1, and EMMS empties every tag.
func TestUnitMMXAliasing(t *testing.T) {
	mc := newMachine(t)
	mc.load(0x6000, binary.LittleEndian.AppendUint64(nil, 0x1122334455667788))
	code := []byte{0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xE8}        // fninit; fld1; fld1 (TOS = 6)
	code = cat(code, []byte{0x0F, 0x6F}, modrmAbs(5, 0x6000)) // movq mm5, [0x6000]
	code = cat(code, []byte{0x0F, 0xAE}, modrmAbs(0, 0x7800)) // fxsave [0x7800]
	mc.at(0x2000, code...)
	mc.runTo("fld1; fld1; movq; fxsave", 0x2000+uint32(len(code)))
	fx := func(off uint32) byte { b, _ := mc.m.Read8(0x7800 + off); return b }
	if fsw := uint16(fx(2)) | uint16(fx(3))<<8; fsw>>11&7 != 0 {
		t.Errorf("FXSAVE FSW = %#x, want TOS 0", fsw)
	}
	if abr := fx(4); abr != 0xFF {
		t.Errorf("FXSAVE abridged tags = %#x, want 0xff (all valid)", abr)
	}
	// TOS is 0, so ST(5) in the image is R5
	var r5 [10]byte
	for j := range r5 {
		r5[j] = fx(32 + 16*5 + uint32(j))
	}
	if want := [10]byte{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xFF, 0xFF}; r5 != want {
		t.Errorf("R5 = % x, want % x", r5, want)
	}
	// the two 1.0 loaded by fld1 sit in R7 and R6 and are untouched
	for _, i := range []uint32{6, 7} {
		if e := uint16(fx(32+16*i+8)) | uint16(fx(32+16*i+9))<<8; e != 0x3FFF {
			t.Errorf("R%d exponent = %#x, want 0x3fff (1.0 kept)", i, e)
		}
	}
	_, ftw := mc.fpuEnv()
	// full tags by contents: R5 special (10), R6/R7 valid (00), the
	// never-written zero registers zero (01)
	if want := uint16(0x0955); ftw != want { // R0-R4 01, R5 10, R6-R7 00
		t.Errorf("FNSTENV tag word after movq = %#04x, want %#04x", ftw, want)
	}
	mc.at(0x2000, 0x0F, 0x77) // emms
	mc.runTo("emms", 0x2002)
	if _, ftw := mc.fpuEnv(); ftw != 0xFFFF {
		t.Errorf("tag word after EMMS = %#x, want 0xffff", ftw)
	}
}

// TestUnitMMXXorBlocks runs the shape of Linux's xor_pII_mmx_2 (movq
// loads, pxor with memory, movq stores, emms) over 256 bytes and checks
// the result against Go.
func TestUnitMMXXorBlocks(t *testing.T) {
	mc := newMachine(t)
	const p1, p2, n = 0x10000, 0x11000, 256
	a, b := make([]byte, n), make([]byte, n)
	r := rng(7)
	for i := range a {
		a[i], b[i] = byte(r.next()), byte(r.next())
	}
	mc.load(p1, a)
	mc.load(p2, b)
	// loop: movq mm0,[esi]; movq mm1,[esi+8]; pxor mm0,[edi]; pxor mm1,[edi+8];
	//       movq [esi],mm0; movq [esi+8],mm1; add esi,16; add edi,16; dec ecx; jnz loop; emms
	code := []byte{
		0x0F, 0x6F, 0x06, 0x0F, 0x6F, 0x4E, 0x08,
		0x0F, 0xEF, 0x07, 0x0F, 0xEF, 0x4F, 0x08,
		0x0F, 0x7F, 0x06, 0x0F, 0x7F, 0x4E, 0x08,
		0x83, 0xC6, 0x10, 0x83, 0xC7, 0x10, 0x49, 0x75, 0xE2,
		0x0F, 0x77,
	}
	mc.setRegs(regs{0, n / 16, 0, 0, 0x8000, 0, p1, p2})
	mc.at(0x2000, code...)
	mc.runTo("xor loop", 0x2000+uint32(len(code)))
	for i := 0; i < n; i++ {
		got, _ := mc.m.Read8(p1 + uint32(i))
		if want := a[i] ^ b[i]; got != want {
			t.Fatalf("byte %d = %#x, want %#x", i, got, want)
		}
	}
	if _, ftw := mc.fpuEnv(); ftw != 0xFFFF {
		t.Errorf("tag word after the routine's EMMS = %#x, want 0xffff", ftw)
	}
}

// The MMX forms not implemented stop as unimplemented, never silently.
func TestUnitMMXUnimplemented(t *testing.T) {
	for _, code := range [][]byte{
		{0x0F, 0xC4, 0xC0, 0x00}, // pinsrw mm0, eax, 0
		{0x0F, 0xC5, 0xC0, 0x00}, // pextrw eax, mm0, 0
		{0x0F, 0xF7, 0xC1},       // maskmovq mm0, mm1
	} {
		mc := newMachine(t)
		mc.at(0x2000, code...)
		if ex := mc.c.Step(); ex.Reason != ExitUnimplemented || mc.c.EIP() != 0x2000 {
			t.Errorf("% x: got %s at eip %#x, want Unimplemented at 0x2000", code, exitString(ex), mc.c.EIP())
		}
	}
}

// A 64-bit MMX store straddling into a read-only page faults with nothing
// written to the first page (the store is probed whole before committing).
func TestUnitMMXStraddlingStore(t *testing.T) {
	for _, op := range []byte{0x7F, 0xE7} { // movq, movntq [ebx], mm0
		mc := newMachine(t)
		pt := mc.newPageTables(false)
		pt.identity(0x100000)
		pt.mapPage(0x51000, 0x51000, ptP|ptRW|ptUS, ptP|ptUS) // read-only
		pt.install()
		mc.w32(0x50FFC, 0xAAAAAAAA)
		mc.setRegs(regs{0, 0, 0, 0x50FFC, 0x8000, 0, 0, 0})
		mc.at(0x2000, 0x0F, op, 0x03)
		ex := mc.c.Step()
		mc.wantTrap(fmt.Sprintf("0F %02X straddling store", op), ex, VecPF, true, 3, 0x2000)
		if ex.CR2 != 0x51000 {
			t.Errorf("0F %02X: CR2 = %#x, want 0x51000", op, ex.CR2)
		}
		if got := mc.r32(0x50FFC); got != 0xAAAAAAAA {
			t.Errorf("0F %02X: first page modified by a faulting straddling store: %#x", op, got)
		}
	}
}
