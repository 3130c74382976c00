package guests

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv/boot"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// built builds every guest once per test binary; tests skip without the
// toolchain.
func built(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "lgdbg-guests-")
		if buildErr == nil {
			buildErr = Build(buildDir)
		}
	})
	if errors.Is(buildErr, ErrNoToolchain) {
		t.Skipf("guest toolchain missing: %v", buildErr)
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBootImage: the checked-in demo image is what the sources build.
func TestBootImage(t *testing.T) {
	dir := built(t)
	got := readFile(t, filepath.Join(dir, "boot.bzImage"))
	if !bytes.Equal(got, BootImage) {
		t.Fatalf("bin/boot.bzImage (%d bytes) differs from a fresh build (%d bytes): run `make bin` in tests/guests and commit it",
			len(BootImage), len(got))
	}
}

// TestEveryGuestHasAnExpectation: the Makefile's guests and expect/*.txt agree.
func TestEveryGuestHasAnExpectation(t *testing.T) {
	dir := built(t)
	elfs, err := filepath.Glob(filepath.Join(dir, "*.bzImage"))
	if err != nil {
		t.Fatal(err)
	}
	var builtNames []string
	for _, p := range elfs {
		builtNames = append(builtNames, strings.TrimSuffix(filepath.Base(p), ".bzImage"))
	}
	sort.Strings(builtNames)
	if got, want := strings.Join(builtNames, " "), strings.Join(Names(), " "); got != want {
		t.Fatalf("built bzImages\n  %s\nexpectation files\n  %s", got, want)
	}
}

func TestBzImageHeaders(t *testing.T) {
	dir := built(t)
	le := binary.LittleEndian
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			exp, err := Expect(name)
			if err != nil {
				t.Fatal(err)
			}
			img := readFile(t, filepath.Join(dir, exp.BzImage))
			payload := readFile(t, filepath.Join(dir, name+".bin"))
			vmlinux := readFile(t, filepath.Join(dir, name+".vmlinux.bin"))
			if len(img) < 1024 {
				t.Fatalf("bzImage is %d bytes", len(img))
			}
			marker := "LGDBGNOP"
			if exp.PAE {
				marker = "LGDBGPAE"
			}
			if strings.HasSuffix(name, "-nohint") {
				marker = "\x00\x00\x00\x00\x00\x00\x00\x00" // like a real kernel's setup code
			}
			setup := (int(img[0x1F1]) + 1) * 512
			checks := []struct {
				what      string
				got, want uint64
			}{
				{"boot_flag", uint64(le.Uint16(img[0x1FE:])), 0xAA55},
				{"setup_sects", uint64(img[0x1F1]), 1},
				{"version", uint64(le.Uint16(img[0x206:])), 0x020A},
				{"loadflags", uint64(img[0x211]), 0x01},
				{"code32_start", uint64(le.Uint32(img[0x214:])), 0x100000},
				{"kernel_alignment", uint64(le.Uint32(img[0x230:])), 0x1000000},
				{"hardware_subarch", uint64(le.Uint32(img[0x23C:])), 0},
				{"init_size", uint64(le.Uint32(img[0x260:])), 0},
				{"payload_offset", uint64(le.Uint32(img[0x248:])), uint64(len(payload))},
				{"syssize", uint64(le.Uint32(img[0x1F4:])), uint64((len(img) - setup + 15) / 16)},
				{"protected-mode part", uint64(len(img) - setup), uint64(len(payload)) + uint64(le.Uint32(img[0x24C:]))},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %#x, want %#x", c.what, c.got, c.want)
				}
			}
			if string(img[0x202:0x206]) != "HdrS" {
				t.Errorf("magic %q, want HdrS", img[0x202:0x206])
			}
			if got := string(img[0x300:0x308]); got != marker {
				t.Errorf("paging marker %q, want %q", got, marker)
			}
			kv := img[0x200+int(le.Uint16(img[0x20E:])):]
			kv = kv[:bytes.IndexByte(kv, 0)]
			if !strings.Contains(string(kv), name) {
				t.Errorf("kernel_version %q does not name the guest", kv)
			}
			if !bytes.Equal(img[setup:setup+len(payload)], payload) {
				t.Error("loaded part differs from objcopy -O binary output")
			}
			// The boot-protocol payload is the gzip'd ELF without symbols,
			// as in a Linux bzImage.
			zr, err := gzip.NewReader(bytes.NewReader(img[setup+len(payload):]))
			if err != nil {
				t.Fatalf("payload: %v", err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, vmlinux) {
				t.Errorf("payload decompresses to %d bytes (%v), want the %d of %s.vmlinux.bin", len(got), err, len(vmlinux), name)
			}
		})
	}
}

// TestELF checks the ELF side: physical PT_LOADs from 0x100000, entry at the
// physical startup_32, C linked at PAGE_OFFSET, initial_pg_pmd iff PAE, and
// lguest_data's static initialiser at the spec §4 offsets.
func TestELF(t *testing.T) {
	dir := built(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			exp, err := Expect(name)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, exp.ELF)
			f, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Entry != 0x100000 || f.Machine != elf.EM_386 || f.Type != elf.ET_EXEC {
				t.Errorf("entry %#x machine %v type %v", f.Entry, f.Machine, f.Type)
			}
			var loads []*elf.Prog
			for _, p := range f.Progs {
				if p.Type == elf.PT_LOAD {
					loads = append(loads, p)
				}
			}
			pageOffset, headLink := uint64(defaultPageOffset), uint64(0x100000)
			if name == "boot-2g" {
				// The VMSPLIT_2G layout, head linked at PAGE_OFFSET as in
				// Linux (Makefile, guest.ld).
				pageOffset, headLink = 0x80000000, 0x80100000
			}
			if len(loads) < 2 || loads[0].Paddr != 0x100000 || loads[0].Vaddr != headLink {
				t.Fatalf("first PT_LOAD must be the head loaded at 0x100000, linked at %#x: %+v", headLink, loads[0].ProgHeader)
			}
			for _, p := range loads[1:] {
				if p.Vaddr != p.Paddr+pageOffset || p.Paddr < 0x100000 || p.Paddr+p.Memsz > 0x01000000 {
					t.Errorf("PT_LOAD vaddr %#x paddr %#x memsz %#x: want vaddr = paddr + PAGE_OFFSET, paddr in [1 MiB, 16 MiB)",
						p.Vaddr, p.Paddr, p.Memsz)
				}
			}
			syms, err := ELFSymbols(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := syms["initial_pg_pmd"]; ok != exp.PAE {
				t.Errorf("initial_pg_pmd defined = %v, want %v (PAE %v)", ok, exp.PAE, exp.PAE)
			}
			type check struct {
				what      string
				got, want uint64
			}
			var checks []check
			var ld []byte
			u32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(ld[off:])) }
			if strings.Contains(name, "-4x") {
				// 4.x layout (4.x spec §1).
				ld = symbolBytes(t, f, syms, "lguest_data", 0x56C)
				checks = []check{
					{"irq_enabled", u32(0x000), 0},
					{"blocked_interrupts", u32(0x004), 1},
					{"noirq_iret", u32(0x560), uint64(syms["lguest_noirq_iret"])},
					{"kernel_address", u32(0x564), pageOffset},
					{"syscall_vec", u32(0x568), 0x80},
				}
			} else {
				ld = symbolBytes(t, f, syms, "lguest_data", 0x570)
				checks = []check{
					{"irq_enabled", u32(0x000), 0},
					{"blocked_interrupts", u32(0x004), 1},
					{"noirq_start", u32(0x560), uint64(syms["lguest_noirq_start"])},
					{"noirq_end", u32(0x564), uint64(syms["lguest_noirq_end"])},
					{"kernel_address", u32(0x568), pageOffset},
					{"syscall_vec", u32(0x56C), 0x80},
				}
			}
			for _, c := range checks {
				if c.got != c.want || c.want == 0 && c.what != "irq_enabled" {
					t.Errorf("lguest_data.%s = %#x, want %#x", c.what, c.got, c.want)
				}
			}
			for i, b := range ld[0x18 : 0x18+64] {
				if b != 0xFF {
					t.Fatalf("lguest_data.hcall_status[%d] = %#x, want 0xff", i, b)
				}
			}
		})
	}
}

// symbolBytes returns n bytes of initialised data at a symbol.
func symbolBytes(t *testing.T, f *elf.File, syms map[string]uint32, name string, n int) []byte {
	t.Helper()
	addr, ok := syms[name]
	if !ok {
		t.Fatalf("no symbol %s", name)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_PROGBITS && uint64(addr) >= s.Addr && uint64(addr)+uint64(n) <= s.Addr+s.Size {
			data, err := s.Data()
			if err != nil {
				t.Fatal(err)
			}
			off := uint64(addr) - s.Addr
			return data[off : off+uint64(n)]
		}
	}
	t.Fatalf("%s at %#x is not in an initialised section", name, addr)
	return nil
}

// TestExpectationsResolve: every expectation parses and its addresses exist.
func TestExpectationsResolve(t *testing.T) {
	dir := built(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			exp, err := Expect(name)
			if err != nil {
				t.Fatal(err)
			}
			r, err := exp.ResolveELF(filepath.Join(dir, exp.ELF))
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range r.Hypercalls {
				for _, a := range h.Args {
					if a.Expr != "" {
						t.Errorf("hypercall %d %s: unresolved %s", i+1, h, a.Expr)
					}
				}
			}
			if exp.Exit.Kind == ExitPoweroff && exp.Exit.Message != "Power down" {
				t.Errorf("poweroff message %q, want \"Power down\" (pass() in src/lib.c)", exp.Exit.Message)
			}
			if exp.Exit.Kind == ExitPoweroff && (len(exp.Console) == 0 || exp.Console[len(exp.Console)-1] != name+": PASS") {
				t.Error("a passing guest's last console line is NAME: PASS")
			}
			if exp.Exit.Kind == ExitInstructionLimit && exp.MaxInstructions == 0 {
				t.Error("instruction-limit exit without max-instructions")
			}
			if len(r.Hypercalls) > 0 && r.Hypercalls[0].Num != 1 && name != "hostile-before-init" {
				t.Errorf("first hypercall %s, want LGUEST_INIT", r.Hypercalls[0])
			}
		})
	}
}

// TestHvBootParse loads every image with lgdbg's own Launcher parser.
func TestHvBootParse(t *testing.T) {
	dir := built(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			exp, err := Expect(name)
			if err != nil {
				t.Fatal(err)
			}
			want := boot.PAENo
			if exp.PAE {
				want = boot.PAEYes
			}
			for _, file := range []string{exp.BzImage, exp.ELF} {
				img, err := boot.Parse(readFile(t, filepath.Join(dir, file)))
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				w := want
				if strings.HasSuffix(name, "-nohint") && file == exp.BzImage {
					w = boot.PAEUnknown // the mode comes from the Guest's first page table
				}
				if img.Entry != 0x100000 || img.PAE != w {
					t.Errorf("%s: entry %#x PAE %v, want 0x100000 %v", file, img.Entry, img.PAE, w)
				}
				if img.Kind != boot.KindBzImage {
					continue
				}
				// The layout read from the compressed payload is the ELF's.
				f, err := elf.Open(filepath.Join(dir, exp.ELF))
				if err != nil {
					t.Fatal(err)
				}
				var want []boot.PayloadSegment
				for _, p := range f.Progs {
					if p.Type == elf.PT_LOAD {
						want = append(want, boot.PayloadSegment{VAddr: uint32(p.Vaddr), PAddr: uint32(p.Paddr), MemSize: uint32(p.Memsz), Exec: p.Flags&elf.PF_X != 0})
					}
				}
				f.Close()
				pl := img.Payload
				if pl == nil || pl.Format != "gzip" || pl.Note != "" || pl.Entry != 0x100000 || fmt.Sprint(pl.Segments) != fmt.Sprint(want) {
					t.Errorf("%s: payload %+v, want gzip with the ELF's segments %+v", file, pl, want)
				}
			}
		})
	}
}

// TestMultibootQEMU runs the multiboot builds of compute and kernlike under
// qemu-system-i386 when it is installed: the C workloads must agree with the
// Go references on a real (emulated) x86.
func TestMultibootQEMU(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-i386")
	if err != nil {
		t.Skip("qemu-system-i386 not installed")
	}
	dir := built(t)
	for _, name := range []string{"compute-multiboot", "kernlike-multiboot"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, qemu, "-kernel", filepath.Join(dir, name+".elf"),
				"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
				"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
			out, err := cmd.Output()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 33 {
				t.Fatalf("qemu: %v (want exit status 33 = PASS)\n%s", err, out)
			}
			if !strings.HasSuffix(string(out), name+": PASS\n") {
				t.Fatalf("output does not end with PASS:\n%s", out)
			}
		})
	}
}
