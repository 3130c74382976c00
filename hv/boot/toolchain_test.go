package boot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// A head_32-shaped guest, linked like Linux: code runs at PAGE_OFFSET
// virtually but is loaded (AT) at physical 16 MiB, entry is physical.
const toolchainAsm = `
	.text
	.globl startup_32
startup_32:
	movl $1, %eax
	int $0x1f
	jmp lguest_init
	.globl lguest_init
	.type lguest_init, @function
lguest_init:
	hlt
	.size lguest_init, .-lguest_init
	.data
	.globl linux_banner
	.type linux_banner, @object
linux_banner:
	.asciz "Linux version 3.12.9-toolchain (gas) #1\n"
	.size linux_banner, .-linux_banner
	.bss
	.align 4096
PGSYM:
	.fill 1024,4,0
`

const toolchainLds = `
OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
ENTRY(phys_startup_32)
phys_startup_32 = startup_32 - 0xC0000000;
SECTIONS {
	. = 0xC1000000;
	.text : AT(ADDR(.text) - 0xC0000000) { *(.text) }
	. = ALIGN(4096);
	.data : AT(ADDR(.data) - 0xC0000000) { *(.data) }
	. = ALIGN(4096);
	.bss : AT(ADDR(.bss) - 0xC0000000) { *(.bss) }
	/DISCARD/ : { *(.note*) }
}
`

// TestToolchainELF checks Parse and Load against an ELF that GNU as and ld
// produced (skipped when binutils are missing): PT_LOAD at p_paddr, the
// physical entry, symbols as debug/elf reads them, and PAE detection from
// initial_pg_pmd exactly as for a Linux vmlinux.
func TestToolchainELF(t *testing.T) {
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	for _, tc := range []struct {
		name string
		sym  string
		want PAEHint
	}{
		{"non-PAE", "initial_page_table", PAENo},
		{"PAE", "initial_pg_pmd", PAEYes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "head.S")
			lds := filepath.Join(dir, "guest.lds")
			obj := filepath.Join(dir, "head.o")
			out := filepath.Join(dir, "vmlinux")
			asm := []byte(strings.ReplaceAll(toolchainAsm, "PGSYM", tc.sym))
			if err := os.WriteFile(src, asm, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(lds, []byte(toolchainLds), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range [][]string{
				{"as", "--32", "-o", obj, src},
				{"ld", "-m", "elf_i386", "-T", lds, "-o", out, obj},
			} {
				if b, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("%v: %v\n%s", cmd, err, b)
				}
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			img, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if img.Kind != KindELF || img.Entry != 0x1000000 || img.PAE != tc.want {
				t.Errorf("kind %v entry %#x PAE %v; want ELF 0x1000000 %v", img.Kind, img.Entry, img.PAE, tc.want)
			}
			if img.KernelVersion != "Linux version 3.12.9-toolchain (gas) #1" {
				t.Errorf("KernelVersion %q", img.KernelVersion)
			}
			if s, off, ok := img.SymbolAt(0xC1000007); !ok || s.Name != "startup_32" || off != 7 {
				t.Errorf("SymbolAt(startup_32+7) = %+v %#x %v", s, off, ok)
			}
			checkSegmentsAgainstDebugELF(t, data, img)
			checkSymbolsAgainstDebugELF(t, data, img)

			m, err := mem.New(32<<20, 0)
			if err != nil {
				t.Fatal(err)
			}
			entry, err := Load(m, img, Config{RAM: 32 << 20, Cmdline: "console=hvc0"})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			// The first instruction, movl $1,%eax (b8 01 00 00 00), at the physical entry.
			if got := m.Bytes()[entry : entry+5]; string(got) != "\xb8\x01\x00\x00\x00" {
				t.Errorf("bytes at entry %#x = % x", entry, got)
			}
		})
	}
}
