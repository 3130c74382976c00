package symbols

import (
	"debug/elf"
	"flag"
	"golang.org/x/arch/x86/x86asm"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden disassembly in testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./hv/symbols -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// The bzImage's own code, with the vmlinux table loaded: the decompressor
// is other code, so nothing in its listing has a vmlinux name, although
// its numbers include the kernel's load address (startup_32's), a link
// address, a data load address and the values of absolute symbols.
func TestDecompressorGolden(t *testing.T) {
	code, err := os.ReadFile(filepath.Join("testdata", "decompressor.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tab := load(t, "vmlinux-C0000000")
	tab.SetImage(0x100000, uint32(len(code)))
	for _, syntax := range []string{"gnu", "intel"} {
		got := tab.Disassemble(code, 0x100000, syntax)
		for _, s := range tab.Symbols() {
			if strings.Contains(got, s.Name) {
				t.Errorf("%s: decompressor listing names vmlinux symbol %q:\n%s", syntax, s.Name, got)
			}
		}
		golden(t, "decompressor."+syntax, got)
	}
}

// The kernel's head at its load address (where the Guest runs it) and at
// its link address.
func TestKernelGolden(t *testing.T) {
	for _, po := range []string{"C0000000", "80000000"} {
		path := filepath.Join("testdata", "vmlinux-"+po)
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		text := f.Section(".text")
		code, err := text.Data()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		tab := load(t, "vmlinux-"+po)
		load, _ := tab.ToLoad(uint32(text.Addr))
		for _, syntax := range []string{"gnu", "intel"} {
			got := tab.Disassemble(code, load, syntax) + "--- at the link address\n" + tab.Disassemble(code, uint32(text.Addr), syntax)
			golden(t, "head-"+po+"."+syntax, got)
			if syntax == "intel" && strings.Contains(got, "$") {
				t.Errorf("Intel syntax with a $:\n%s", got)
			}
		}
	}
}

// TestStackTopOperand: a value loaded into %esp is named as the end of the
// stack object below it, not as the object that starts there; anywhere
// else the object that starts there keeps the name.
func TestStackTopOperand(t *testing.T) {
	const po = 0xC0000000
	tab := New(0x1000000,
		[]Segment{{Link: po + 0x1000000, Load: 0x1000000, Size: 0x200000}},
		[]Range{{Name: ".data", Addr: po + 0x1180000, Size: 0x10000}},
		[]Symbol{
			{Name: "init_thread_union", Addr: po + 0x1180000, Size: 0x2000, Kind: Object},
			{Name: "gdt_page", Addr: po + 0x1182000, Size: 0x1000, Kind: Object},
		})
	tests := []struct {
		code []byte
		want string
	}{
		{[]byte{0xbc, 0x00, 0x20, 0x18, 0xc1}, "mov $init_thread_union+0x2000,%esp"},
		{[]byte{0xbc, 0x00, 0x20, 0x18, 0x01}, "mov $pa(init_thread_union+0x2000),%esp"},
		{[]byte{0xb8, 0x00, 0x20, 0x18, 0xc1}, "mov $gdt_page,%eax"},
		{[]byte{0xbc, 0x00, 0x10, 0x18, 0xc1}, "mov $init_thread_union+0x1000,%esp"},
	}
	for _, tt := range tests {
		inst, err := x86asm.Decode(tt.code, 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := tab.Instruction(inst, 0xc1000000, "att"); got != tt.want {
			t.Errorf("% x: %q, want %q", tt.code, got, tt.want)
		}
	}
}
