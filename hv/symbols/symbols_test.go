package symbols

import (
	"os"
	"path/filepath"
	"testing"
)

func load(t *testing.T, name string) *Table {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := FromELF(b)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// The same kernel linked at two PAGE_OFFSETs (testdata/gen.sh): every
// answer follows the ELF's p_vaddr - p_paddr, nothing assumes 0xc0000000.
func TestLookup(t *testing.T) {
	for _, po := range []uint32{0xC0000000, 0x80000000} {
		tab := load(t, "vmlinux-"+map[uint32]string{0xC0000000: "C0000000", 0x80000000: "80000000"}[po])
		link := func(phys uint32) uint32 { return phys + po }
		tests := []struct {
			addr uint32
			want string // "" = no name
		}{
			{link(0x1000000), "startup_32"},
			{link(0x1000005), "startup_32+0x5"},           // a label reaches the next symbol
			{link(0x1000016), "lguest_entry"},             // function start
			{link(0x1000022), "lguest_entry+0xc"},         // last byte of a 13-byte function
			{link(0x1000023), "helper"},                   // local functions are named
			{link(0x1000025), "after_helper"},             // label right after a sized one
			{link(0x1001000), "lguest_data"},              // object
			{link(0x100103f), "lguest_data+0x3f"},         // last byte
			{link(0x1001040), ""},                         // past lguest_data, still .data: no symbol covers it
			{link(0x1003fff), "stack+0x1fff"},             // .bss object
			{link(0x1004000), ""},                         // stack_end is past .bss
			{0x1000000, "startup_32 (load address)"},      // load alias
			{0x1000016, "lguest_entry (load address)"},    // load alias of a function
			{0x1001004, "lguest_data+0x4 (load address)"}, // load alias of data
			{0x0, ""},             // VDSO32_PRELINK is absolute
			{0x4, ""},             // num_subarch_entries is absolute
			{po, ""},              // PAGE_OFFSET is absolute
			{link(0x2000000), ""}, // beyond the kernel
			{0x2000000, ""},       // beyond the load range
		}
		for _, tc := range tests {
			n, ok := tab.Lookup(tc.addr)
			got := ""
			if ok {
				got = n.String()
			}
			if got != tc.want {
				t.Errorf("PAGE_OFFSET %#x: Lookup(%#x) = %q, want %q", po, tc.addr, got, tc.want)
			}
		}
		if l, ok := tab.ToLoad(link(0x1000016)); !ok || l != 0x1000016 {
			t.Errorf("PAGE_OFFSET %#x: ToLoad(lguest_entry) = %#x %v", po, l, ok)
		}
		if l, ok := tab.ToLink(0x1000016); !ok || l != link(0x1000016) {
			t.Errorf("PAGE_OFFSET %#x: ToLink(0x1000016) = %#x %v", po, l, ok)
		}
		if _, ok := tab.ToLink(link(0x1000016)); ok {
			t.Errorf("PAGE_OFFSET %#x: a link address has no link alias", po)
		}
		if tab.Entry() != 0x1000000 {
			t.Errorf("PAGE_OFFSET %#x: entry %#x, want the physical startup_32", po, tab.Entry())
		}
		for _, s := range tab.Segments() {
			if s.Offset() != po {
				t.Errorf("segment %+v: offset %#x, want %#x", s, s.Offset(), po)
			}
		}
	}
}

func TestSymbolsFiltered(t *testing.T) {
	tab := load(t, "vmlinux-C0000000")
	for _, name := range []string{"PAGE_OFFSET", "phys_startup_32", "VDSO32_PRELINK", "num_subarch_entries", "head_32.S", ".text"} {
		if _, ok := tab.ByName(name); ok {
			t.Errorf("%q is in the table; absolute, file and section symbols are not places", name)
		}
	}
	for name, want := range map[string]uint32{"startup_32": 0xc1000000, "lguest_entry": 0xc1000016, "stack_end": 0xc1004000} {
		if s, ok := tab.ByName(name); !ok || s.Addr != want {
			t.Errorf("ByName(%q) = %+v %v, want %#x", name, s, ok, want)
		}
	}
	if s, _ := tab.ByName("lguest_entry"); s.Size != 13 || s.Kind != Func {
		t.Errorf("lguest_entry: %+v, want a 13-byte function", s)
	}
}

func TestOperand(t *testing.T) {
	for _, po := range []uint32{0xC0000000, 0x80000000} {
		tab := load(t, "vmlinux-"+map[uint32]string{0xC0000000: "C0000000", 0x80000000: "80000000"}[po])
		for _, tc := range []struct {
			v    uint32
			want string
		}{
			{po + 0x1001000, "lguest_data"},
			{po + 0x1001008, "lguest_data+0x8"},
			{0x1001000, "pa(lguest_data)"},
			{0x1002000, "pa(stack)"},
			{po + 0x1004000, "stack_end"}, // a label at the end of .bss
			{0x1004000, "pa(stack_end)"},  // and its load alias
			{0x1004004, ""},
			{po + 0x1000016, "lguest_entry"},
			{0, ""}, {4, ""}, {0x1f, ""}, {po, ""}, {0xffffffff, ""},
			{po + 0x1001040, ""}, // in .data, but no symbol there
		} {
			got, _ := tab.Operand(tc.v)
			if got != tc.want {
				t.Errorf("PAGE_OFFSET %#x: Operand(%#x) = %q, want %q", po, tc.v, got, tc.want)
			}
		}
	}
}

// A bzImage's own code (its decompressor at 0x100000) is named as such; a
// kernel whose load range covers it (lgdbg's test guests run uncompressed)
// keeps its names.
func TestImageCode(t *testing.T) {
	tab := load(t, "vmlinux-C0000000")
	tab.SetImage(0x100000, 0x4000)
	for _, tc := range []struct {
		addr uint32
		want string
	}{
		{0x100000, "bzImage"},
		{0x100123, "bzImage+0x123"},
		{0x104000, ""},
		{0x1000016, "lguest_entry (load address)"},
	} {
		n, ok := tab.Lookup(tc.addr)
		got := ""
		if ok {
			got = n.String()
		}
		if got != tc.want {
			t.Errorf("Lookup(%#x) = %q, want %q", tc.addr, got, tc.want)
		}
		if op, ok := tab.Operand(tc.addr); ok && n.Image {
			t.Errorf("Operand(%#x) = %q: the bzImage's code is no kernel object", tc.addr, op)
		}
	}
	// Kernel loaded over the image range: kernel names win.
	k := New(0x100000, []Segment{{Link: 0xc0100000, Load: 0x100000, Size: 0x1000}}, nil,
		[]Symbol{{Name: "startup_32", Addr: 0xc0100000}})
	k.SetImage(0x100000, 0x1000)
	if n, _ := k.Lookup(0x100000); n.String() != "startup_32 (load address)" {
		t.Errorf("kernel over the image: %q", n.String())
	}
}

// Among names at one address the one a person means wins: a function over
// a label, a label over a linker-script boundary.
func TestPreferredName(t *testing.T) {
	tab := New(0, []Segment{{Link: 0xc0000000, Load: 0, Size: 0x10000}}, nil, []Symbol{
		{Name: "__bss_start", Addr: 0xc0004000, Global: true},
		{Name: "initial_page_table", Addr: 0xc0004000, Global: true},
		{Name: "_text", Addr: 0xc0001000, Global: true},
		{Name: "startup_32", Addr: 0xc0001000, Global: true},
		{Name: "a_label", Addr: 0xc0002000, Global: true},
		{Name: "z_func", Addr: 0xc0002000, Size: 4, Kind: Func},
	})
	for addr, want := range map[uint32]string{0x4000: "pa(initial_page_table)", 0xc0001000: "startup_32", 0xc0002000: "z_func"} {
		if got, _ := tab.Operand(addr); got != want {
			t.Errorf("Operand(%#x) = %q, want %q", addr, got, want)
		}
	}
	if s, ok := tab.ByName("__bss_start"); !ok || s.Addr != 0xc0004000 {
		t.Errorf("ByName(__bss_start) = %+v %v", s, ok)
	}
}

// Code names load aliases only in executable segments: code running in
// the load range of .data/.bss (a relocated decompressor) is not the
// kernel's.
func TestCode(t *testing.T) {
	tab := load(t, "vmlinux-C0000000")
	for _, tc := range []struct {
		addr uint32
		want string
	}{
		{0x1000016, "lguest_entry (load address)"},
		{0x1002010, ""}, // in stack's load range: data
		{0xc1002010, "stack+0x10"},
		{0xc1000016, "lguest_entry"},
	} {
		n, ok := tab.Code(tc.addr)
		got := ""
		if ok {
			got = n.String()
		}
		if got != tc.want {
			t.Errorf("Code(%#x) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestNilTable(t *testing.T) {
	var tab *Table
	if _, ok := tab.Lookup(0xc1000000); ok {
		t.Error("nil table named an address")
	}
	if _, ok := tab.Operand(0xc1000000); ok {
		t.Error("nil table named an operand")
	}
	if _, ok := tab.ToLoad(0xc1000000); ok || tab.HasLayout() {
		t.Error("nil table has a layout")
	}
}

func TestFromELFErrors(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("not an elf"), []byte("\x7fELF\x02\x01\x01")} {
		if _, err := FromELF(data); err == nil {
			t.Errorf("FromELF(%q) accepted", data)
		}
	}
}
