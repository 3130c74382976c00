package cpu

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// Test environment: 16 MiB of guest memory, the spec §6 flat GDT entries
// (12/13 kernel code/data DPL 1, 14/15 user code/data DPL 3), identity
// shadow tables for the first 16 MiB built in the Host pool.

const (
	selKCode = 12<<3 | 1
	selKData = 13<<3 | 1
	selUCode = 14<<3 | 3
	selUData = 15<<3 | 3

	descKCode = 0x00CFBB000000FFFF
	descKData = 0x00CFB3000000FFFF
	descUCode = 0x00CFFB000000FFFF
	descUData = 0x00CFF3000000FFFF

	testMem = 16 << 20
)

type env struct {
	t  testing.TB
	m  *mem.Phys
	c  *CPU
	pd uint32   // page directory (non-PAE)
	pt []uint32 // page tables
}

func newEnv(t testing.TB) *env {
	t.Helper()
	m, err := mem.New(testMem, 64)
	if err != nil {
		t.Fatal(err)
	}
	c := New(m)
	c.SetGDTEntry(12, descKCode)
	c.SetGDTEntry(13, descKData)
	c.SetGDTEntry(14, descUCode)
	c.SetGDTEntry(15, descUData)
	e := &env{t: t, m: m, c: c}
	e.loadRing(1)
	// identity map with U|W|P
	pd, _ := m.AllocPage()
	e.pd = pd
	for i := uint32(0); i < testMem>>22; i++ {
		pt, ok := m.AllocPage()
		if !ok {
			t.Fatal("pool exhausted")
		}
		e.pt = append(e.pt, pt)
		m.Write32(pd+4*i, pt|7)
		for j := uint32(0); j < 1024; j++ {
			m.Write32(pt+4*j, (i<<22|j<<12)|7)
		}
	}
	c.SetPaging(true, pd, false)
	c.SetEFLAGS(FlagIF)
	c.SetGate(0x1f, Gate{DPL: 1}) // the hypercall gate (spec §5.6)
	return e
}

// loadRing loads flat segments for CPL 1 or 3 through LoadSeg.
func (e *env) loadRing(cpl int) {
	cs, ds := uint16(selKCode), uint16(selKData)
	if cpl == 3 {
		cs, ds = selUCode, selUData
	}
	if _, _, ok := e.c.LoadSeg(CS, cs); !ok {
		e.t.Fatal("load CS")
	}
	for _, s := range []SReg{SS, DS, ES, FS, GS} {
		if v, ec, ok := e.c.LoadSeg(s, ds); !ok {
			e.t.Fatalf("load %d: vec %d err %#x", s, v, ec)
		}
	}
}

// pte returns the physical address of the PTE mapping lin.
func (e *env) pte(lin uint32) uint32 {
	return e.pt[lin>>22] + 4*(lin>>12&0x3FF)
}

func (e *env) setPTE(lin, v uint32) {
	e.m.Write32(e.pte(lin), v)
	e.c.FlushTLBPage(lin)
}

func (e *env) load(addr uint32, code []byte) {
	if !e.m.WriteBytes(addr, code) {
		e.t.Fatalf("load at %#x", addr)
	}
}

// asm assembles 32-bit AT&T source with binutils and returns the flat
// binary, linked at org. Tests needing it skip when `as` is missing.
func asm(t testing.TB, org uint32, src string) []byte {
	t.Helper()
	asPath, err := exec.LookPath("as")
	if err != nil {
		t.Skip("binutils 'as' not installed")
	}
	ld, err1 := exec.LookPath("ld")
	objcopy, err2 := exec.LookPath("objcopy")
	if err1 != nil || err2 != nil {
		t.Skip("binutils ld/objcopy not installed")
	}
	dir := t.TempDir()
	s := filepath.Join(dir, "a.s")
	if err := os.WriteFile(s, []byte(".text\n.code32\n.globl _start\n_start:\n"+src+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out.String())
		}
	}
	run(asPath, "--32", "-o", filepath.Join(dir, "a.o"), s)
	run(ld, "-m", "elf_i386", "-Ttext", "0x"+hex32(org)[2:], "-e", "_start", "-o", filepath.Join(dir, "a.elf"), filepath.Join(dir, "a.o"))
	run(objcopy, "-O", "binary", "-j", ".text", filepath.Join(dir, "a.elf"), filepath.Join(dir, "a.bin"))
	b, err := os.ReadFile(filepath.Join(dir, "a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runAsm loads src at 0x10000 with ESP = 0x80000 and runs until an exit.
func (e *env) runAsm(src string, budget uint64) Exit {
	e.t.Helper()
	code := asm(e.t, 0x10000, src)
	e.load(0x10000, code)
	e.c.SetEIP(0x10000)
	e.c.SetReg(ESP, 0x80000)
	return e.c.Run(budget)
}

// hypercall ends test programs: int $0x1f exits as a Host trap.
const hlt = "int $0x1f"

func (e *env) wantTrap(ex Exit, vec int) {
	e.t.Helper()
	if ex.Reason != ExitTrap || ex.Vector != vec {
		e.t.Fatalf("exit %+v at eip %#x, want trap %d", ex, e.c.EIP(), vec)
	}
}
