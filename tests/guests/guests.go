// Package guests builds lgdbg's test guest kernels and describes what each
// one must do when lgdbg runs it.
//
// The guests (sources in src/, see src/head.S for the shared boot path) are
// small i386 kernels in assembly and freestanding C that walk the path a 3.x
// lguest Linux guest walks (spec §2.6, §10.1): entered at code32_start under
// linear_pages, they build a head_32-style initial_page_table, issue
// LHCALL_LGUEST_INIT and the first LHCALL_NEW_PGTABLE, continue in C linked
// at PAGE_OFFSET and report on the early console (LHCALL_NOTIFY). Each ends
// with "<name>: PASS" and LHCALL_SHUTDOWN("Power down", 1) (as Linux powers
// off), or with LHCALL_SHUTDOWN("<name>: FAIL: <why>", 1), or is
// one of the hostile guests the Host must kill.
//
// Build runs the Makefile (gcc -m32, ld -m elf_i386, objcopy, and the Go
// programs mkbzimage and gencompute) and leaves in its directory, per guest
// NAME: NAME.elf (PT_LOAD p_paddr = physical, e_entry = 0x100000), NAME.bin
// (the loaded part, objcopy -O binary), NAME.bzImage (boot protocol 2.10)
// and NAME.map; plus compute-multiboot.elf and kernlike-multiboot.elf for
// qemu-system-i386 -kernel.
//
// Expect(name) returns the expectation in expect/NAME.txt: the exact console
// lines, how the run must end and the order of hypercalls with their
// arguments (format: expect.go); ResolveELF fills in the build-dependent
// addresses from the ELF and Check compares an Observed run with it.
//
// # Layout
//
//	src/lguest.h      ABI constants (spec §0.1, §3.2, §4), C and assembly
//	src/head.S        physical entry: BSS, zero page, probes, initial_page_table,
//	                  LGUEST_INIT, NEW_PGTABLE, jump to start_kernel
//	src/entry.S       trap stubs, lguest_iret (noirq range), enter_user
//	src/kern.c        lguest_data, console (NOTIFY), async ring, IDT, page tables
//	src/lib.c         printf, PASS/FAIL
//	src/guest.ld      head at 0x100000, the rest at PAGE_OFFSET + physical
//	src/NAME.c        one guest each (guest_main, guest_trap)
//	src/multiboot.S, mbkern.c, multiboot.ld   compute for qemu-system-i386
//	src/kernlike.c, decompress.c, inflate.c, kernlike.ld, kernlike_payload.S
//	                  the kernel-shaped benchmark: its own DEFLATE inflater run
//	                  under linear_pages (head.S with HEAD_DECOMPRESS), then a
//	                  boot-like phase; also kernlike-multiboot.elf for QEMU
//	mkbzimage/        the bzImage packer;  gencompute/  compute's reference values
//	genkernlike/      kernlike's payload (compress/flate) and reference CRC
//
// To add a guest: write src/NAME.c, add it to LGUEST_GUESTS in the Makefile
// and write expect/NAME.txt; the tests then build, check and run it.
package guests

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// BootImage is the checked-in bzImage of the "boot" guest, lgdbg's built-in
// demo: it shows the linear_pages handoff and powers off. TestBootImage
// rebuilds it and compares the bytes (`make bin` refreshes it).
//
//go:embed bin/boot.bzImage
var BootImage []byte

//go:embed expect/*.txt
var expectFS embed.FS

// ErrNoToolchain means a tool Build needs is not installed; callers skip.
var ErrNoToolchain = errors.New("guest toolchain not available")

// Tools are the programs Build runs.
var Tools = []string{"make", "gcc", "ld", "objcopy", "go"}

// SourceDir is the directory of this package's sources (the Makefile's
// directory), found from the compiled-in file name: Build is meant for tests
// run from a source tree.
func SourceDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("guests: cannot locate the package source directory")
	}
	dir := filepath.Dir(file)
	if _, err := os.Stat(filepath.Join(dir, "Makefile")); err != nil {
		return "", fmt.Errorf("guests: no Makefile next to %s: %w", file, err)
	}
	return dir, nil
}

// CheckTools returns an error wrapping ErrNoToolchain if a tool is missing
// or gcc cannot compile 32-bit code.
func CheckTools() error {
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s not found: %w", t, ErrNoToolchain)
		}
	}
	cmd := exec.Command("gcc", "-m32", "-ffreestanding", "-x", "c", "-c", "-o", os.DevNull, "-")
	cmd.Stdin = strings.NewReader("int x;\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gcc -m32 cannot compile (%v): %s: %w", err, strings.TrimSpace(string(out)), ErrNoToolchain)
	}
	return nil
}

// Build builds every guest into dir (created if needed). It returns an
// error wrapping ErrNoToolchain when the tools are missing, so a test can
// t.Skip. Concurrent Builds must use different directories.
func Build(dir string) error {
	if err := CheckTools(); err != nil {
		return err
	}
	src, err := SourceDir()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("guests: build dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("guests: build dir: %w", err)
	}
	jobs := fmt.Sprintf("-j%d", max(1, runtime.NumCPU()))
	cmd := exec.Command("make", "-C", src, jobs, "BUILD="+abs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("guests: make in %s failed: %w\n%s", src, err, tail(string(out), 4000))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Names lists every guest that has an expectation, sorted.
func Names() []string {
	ents, err := expectFS.ReadDir("expect")
	if err != nil {
		panic("guests: embedded expect/ missing: " + err.Error()) // cannot happen: go:embed
	}
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".txt"))
	}
	sort.Strings(names)
	return names
}

// Expect parses expect/NAME.txt. Addresses are still symbolic: call Resolve.
func Expect(name string) (*Expectation, error) {
	data, err := expectFS.ReadFile("expect/" + name + ".txt")
	if err != nil {
		return nil, fmt.Errorf("guests: no expectation for %q: %w", name, err)
	}
	e, err := ParseExpectation(string(data))
	if err != nil {
		return nil, fmt.Errorf("guests: expect/%s.txt: %w", name, err)
	}
	e.Name = name
	return e, nil
}
