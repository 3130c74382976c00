package cpu

// The self-checking program (tests/selfcheck): gcc-compiled freestanding
// i386 code computing CRC-32 and SHA-256 over an LCG buffer and sorting two
// arrays, run on the CPU; its answers must equal Go's own.

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

const (
	selfcheckDir   = "../../tests/selfcheck"
	selfcheckMagic = 0x5e1fc4ec // EAX at the final int $0x1f (start.S)
	resultsMagic   = 0x600DC0DE
	scBufLen       = 65536
	scQN           = 4096
	scIN           = 512
)

var scCFLAGS = []string{"-m32", "-march=i686", "-mno-sse", "-mno-mmx", "-O2", "-ffreestanding", "-fno-pic",
	"-fno-pie", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-nostdlib"}

// buildSelfcheck compiles tests/selfcheck into dir, or skips the test when
// the toolchain is missing.
func buildSelfcheck(tb testing.TB, dir string) string {
	tb.Helper()
	for _, tool := range []string{"gcc", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("selfcheck needs %s (apt-get install gcc binutils): %v", tool, err)
		}
	}
	run := func(name string, args ...string) {
		tb.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	so, co, elfPath := filepath.Join(dir, "start.o"), filepath.Join(dir, "selfcheck.o"), filepath.Join(dir, "selfcheck.elf")
	run("gcc", append(scCFLAGS, "-c", "-o", so, filepath.Join(selfcheckDir, "start.S"))...)
	run("gcc", append(scCFLAGS, "-c", "-o", co, filepath.Join(selfcheckDir, "selfcheck.c"))...)
	run("ld", "-m", "elf_i386", "-static", "-nostdlib", "-Ttext=0x100000", "-e", "_start", "-o", elfPath, so, co)
	return elfPath
}

// guestELF is a loaded program: entry and symbol addresses.
type guestELF struct {
	entry uint32
	syms  map[string]uint32
}

// loadELF copies the PT_LOAD segments of an ELF32 file into physical memory
// (paging off or identity mapped: vaddr == paddr) and zeroes their .bss.
func loadELF(mc *machine, path string) (*guestELF, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 {
		return nil, fmt.Errorf("%s is not an i386 ELF32", path)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		data := make([]byte, p.Memsz)
		if _, err := p.ReadAt(data[:p.Filesz], 0); err != nil {
			return nil, fmt.Errorf("read segment at %#x: %w", p.Vaddr, err)
		}
		if !mc.m.WriteBytes(uint32(p.Vaddr), data) {
			return nil, fmt.Errorf("segment %#x+%#x outside memory", p.Vaddr, p.Memsz)
		}
	}
	g := &guestELF{entry: uint32(f.Entry), syms: map[string]uint32{}}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbols of %s: %w", path, err)
	}
	for _, s := range syms {
		g.syms[s.Name] = uint32(s.Value)
	}
	for _, need := range []string{"results", "buf", "qarr", "iarr", "rounds"} {
		if _, ok := g.syms[need]; !ok {
			return nil, fmt.Errorf("%s has no symbol %q", path, need)
		}
	}
	return g, nil
}

// scExpected is what the program must compute, done in Go.
type scExpected struct {
	buf        []byte
	crc        uint32
	sha        [32]byte
	qarr, iarr []uint32
	lcgFinal   uint32
}

func selfcheckExpected() scExpected {
	var e scExpected
	lcg := uint32(0x12345678)
	next := func() uint32 { lcg = lcg*1103515245 + 12345; return lcg }
	e.buf = make([]byte, scBufLen)
	for i := range e.buf {
		e.buf[i] = byte(next() >> 16)
	}
	e.crc = crc32.ChecksumIEEE(e.buf)
	e.sha = sha256.Sum256(e.buf)
	e.qarr = make([]uint32, scQN)
	for i := range e.qarr {
		e.qarr[i] = next()
	}
	e.iarr = make([]uint32, scIN)
	for i := range e.iarr {
		e.iarr[i] = next() >> 8
	}
	slices.Sort(e.qarr)
	slices.Sort(e.iarr)
	e.lcgFinal = lcg
	return e
}

// runToHypercall runs until the program's final int $0x1f, with a bound.
func runToHypercall(tb testing.TB, mc *machine, maxInsns uint64) Exit {
	tb.Helper()
	start := mc.c.ICount()
	for {
		ex := mc.c.Run(50_000_000)
		switch ex.Reason {
		case ExitBudget:
			if mc.c.ICount()-start > maxInsns {
				tb.Fatalf("selfcheck still running after %d instructions (eip %#x)", mc.c.ICount()-start, mc.c.EIP())
			}
			continue
		case ExitTrap:
			return ex
		default:
			tb.Fatalf("selfcheck: unexpected exit %s at eip %#x", exitString(ex), mc.c.EIP())
		}
	}
}

// setupSelfcheck builds and loads the program into a fresh machine; paging
// selects none, non-PAE identity or PAE identity tables.
func setupSelfcheck(tb testing.TB, elfPath, paging string) (*machine, *guestELF) {
	mc := newMachine(tb)
	g, err := loadELF(mc, elfPath)
	if err != nil {
		tb.Fatal(err)
	}
	switch paging {
	case "nopaging":
	case "paging", "pae":
		pt := mc.newPageTables(paging == "pae")
		pt.identity(testRAM)
		pt.install()
	}
	mc.c.SetGate(0x1f, Gate{DPL: 1, Type: 0xE}) // the hypercall gate (spec §5.6: DPL 1)
	mc.c.SetEIP(g.entry)
	mc.c.SetEFLAGS(0x202)
	return mc, g
}

func TestSelfCheck(t *testing.T) {
	elfPath := buildSelfcheck(t, t.TempDir())
	want := selfcheckExpected()
	for _, paging := range []string{"nopaging", "paging", "pae"} {
		t.Run(paging, func(t *testing.T) {
			mc, g := setupSelfcheck(t, elfPath, paging)
			ex := runToHypercall(t, mc, 2_000_000_000)
			if ex.Vector != 0x1f {
				t.Fatalf("program ended with %s at eip %#x, want the int $0x1f hypercall", exitString(ex), mc.c.EIP())
			}
			if eax := mc.c.Reg(EAX); eax != selfcheckMagic {
				t.Errorf("eax at exit = %#x, want %#x", eax, selfcheckMagic)
			}
			res := g.syms["results"]
			rd := func(off uint32) uint32 { return mc.r32(res + off) }
			if m := rd(0); m != resultsMagic {
				t.Errorf("results.magic = %#x, want %#x (main did not finish)", m, resultsMagic)
			}
			if got := rd(4); got != want.crc {
				t.Errorf("CRC-32 = %#08x, Go hash/crc32 says %#08x", got, want.crc)
			}
			if got := mc.c.Reg(EBX); got != want.crc {
				t.Errorf("ebx (main's return) = %#08x, want the CRC %#08x", got, want.crc)
			}
			sha := make([]byte, 32)
			mc.m.ReadBytes(res+8, sha)
			if !bytes.Equal(sha, want.sha[:]) {
				t.Errorf("SHA-256 = %x, Go crypto/sha256 says %x", sha, want.sha)
			}
			if got := rd(44); got != want.lcgFinal {
				t.Errorf("final LCG state = %#x, want %#x", got, want.lcgFinal)
			}
			buf := make([]byte, scBufLen)
			mc.m.ReadBytes(g.syms["buf"], buf)
			if i := firstDiff(buf, want.buf); i >= 0 {
				t.Errorf("LCG buffer differs first at byte %d: got %#x want %#x", i, buf[i], want.buf[i])
			}
			checkArray(t, mc, "quicksort", g.syms["qarr"], want.qarr)
			checkArray(t, mc, "insertion sort", g.syms["iarr"], want.iarr)
			t.Logf("%s: %d instructions", paging, mc.c.ICount())
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func checkArray(t *testing.T, mc *machine, what string, addr uint32, want []uint32) {
	t.Helper()
	raw := make([]byte, 4*len(want))
	mc.m.ReadBytes(addr, raw)
	for i := range want {
		if got := binary.LittleEndian.Uint32(raw[4*i:]); got != want[i] {
			t.Errorf("%s: element %d = %#x, want %#x", what, i, got, want[i])
			return
		}
	}
}

// BenchmarkSelfCheck reports guest MIPS for the gcc-compiled compute
// program (issue 2, "Speed"): rounds of CRC-32 + SHA-256 + two sorts.
func BenchmarkSelfCheck(b *testing.B) {
	dir, err := os.MkdirTemp("", "selfcheck")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	elfPath := buildSelfcheck(b, dir)
	for _, paging := range []string{"nopaging", "paging"} {
		b.Run(paging, func(b *testing.B) {
			var insns uint64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				mc, g := setupSelfcheck(b, elfPath, paging)
				mc.w32(g.syms["rounds"], 4)
				b.StartTimer()
				ex := runToHypercall(b, mc, 4_000_000_000)
				if ex.Vector != 0x1f {
					b.Fatalf("ended with %s", exitString(ex))
				}
				insns += mc.c.ICount()
			}
			b.ReportMetric(float64(insns)/b.Elapsed().Seconds()/1e6, "MIPS")
			b.ReportMetric(float64(insns)/float64(b.N), "insns/op")
		})
	}
}
