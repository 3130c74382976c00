package guests

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/symbols"
)

// The load-address aliases on real guests. boot-2g is linked like vmlinux
// at PAGE_OFFSET 0x80000000, head included; boot at 0xC0000000 with its
// head linked at its load address. Both as a bare bzImage (the layout from
// its compressed payload) and with the ELF's symbols (--symbols).
func TestLoadAliases(t *testing.T) {
	dir := built(t)
	for _, tc := range []struct {
		guest      string
		withSyms   bool
		pageOffset uint32
		bp         string // a symbol run at its load address before the handoff
	}{
		{"boot-2g", true, 0x80000000, "have_size"},
		{"boot-2g", false, 0x80000000, ""},
		{"boot", true, 0xC0000000, ""},
	} {
		name := tc.guest
		if !tc.withSyms {
			name += "/bare"
		}
		t.Run(name, func(t *testing.T) {
			elfBytes := readFile(t, filepath.Join(dir, tc.guest+".elf"))
			cfg := hv.Config{Image: readFile(t, filepath.Join(dir, tc.guest+".bzImage")), RAM: 32 << 20}
			vm, err := symbols.FromELF(elfBytes)
			if err != nil {
				t.Fatal(err)
			}
			if tc.withSyms {
				cfg.Symbols = vm
			}
			m, err := hv.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if note := m.SymbolsNote(); note != "" {
				t.Fatalf("aliasing off: %s", note)
			}
			// Memory: start_kernel's link address reads its load alias
			// under linear_pages, byte for byte what the ELF holds.
			sk, _ := vm.ByName("start_kernel")
			if sk.Addr < tc.pageOffset {
				t.Fatalf("start_kernel at %#x, below PAGE_OFFSET %#x", sk.Addr, tc.pageOffset)
			}
			pa, ok := m.LoadAlias(sk.Addr)
			if !ok || pa != sk.Addr-tc.pageOffset {
				t.Fatalf("LoadAlias(start_kernel %#x) = %#x %v, want %#x", sk.Addr, pa, ok, sk.Addr-tc.pageOffset)
			}
			got := make([]byte, 16)
			if err := m.ReadVirt(sk.Addr, got); err != nil {
				t.Fatalf("ReadVirt(start_kernel) at icount 0: %v", err)
			}
			want := make([]byte, 16)
			if err := m.ReadPhys(pa, want); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("link address reads % x, load address % x (%v)", got, want, err)
			}
			// Writes follow the same rule.
			if err := m.WriteVirt(sk.Addr, []byte{0x90}); err != nil {
				t.Fatalf("WriteVirt(start_kernel): %v", err)
			}
			one := []byte{0}
			m.ReadPhys(pa, one)
			if one[0] != 0x90 {
				t.Fatalf("write at the link address did not reach the load address: %#x", one[0])
			}
			m.WritePhys(pa, want[:1])

			if tc.bp != "" {
				// A breakpoint at a head symbol's link address stops at
				// its load address.
				s, _ := vm.ByName(tc.bp)
				m.SetBreakpoint(s.Addr)
				st := m.Run(0)
				if st.Reason != hv.StopBreakpoint || st.EIP != s.Addr-tc.pageOffset {
					t.Fatalf("stop %s at %#x, want a breakpoint at %s's load address %#x", st, st.EIP, tc.bp, s.Addr-tc.pageOffset)
				}
				if n, ok := m.Symbols().Lookup(st.EIP); !ok || n.String() != tc.bp+" (load address)" {
					t.Errorf("stop named %q, want %q", n.String(), tc.bp+" (load address)")
				}
				m.ClearBreakpoint(s.Addr)
			}
			// start_kernel runs at its link address after the handoff: a
			// breakpoint there stops at the link address, and its load
			// alias (never executed) does not get in the way.
			m.SetBreakpoint(sk.Addr)
			st := m.Run(0)
			if st.Reason != hv.StopBreakpoint || st.EIP != sk.Addr {
				t.Fatalf("stop %s at %#x, want start_kernel %#x", st, st.EIP, sk.Addr)
			}
			// After the handoff the real translation is the only one.
			if _, ok := m.LoadAlias(sk.Addr); ok {
				t.Error("LoadAlias still on after the handoff")
			}
			m.ClearBreakpoint(sk.Addr)
			if st := m.Run(0); st.Reason != hv.StopPowerOff {
				t.Fatalf("stop %s, want power-off", st)
			}
		})
	}
}

// An lzo payload cannot be read: one note, aliasing off, and the guest
// still boots.
func TestLoadAliasesOffForLZO(t *testing.T) {
	dir := built(t)
	img := append([]byte(nil), readFile(t, filepath.Join(dir, "boot.bzImage"))...)
	setup := (int(img[0x1F1]) + 1) * 512
	off := int(img[0x248]) | int(img[0x249])<<8 | int(img[0x24A])<<16
	copy(img[setup+off:], "\x89LZO\x00\r\n\x1a\n")
	m, err := hv.New(hv.Config{Image: img, RAM: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if m.SymbolsNote() == "" || bytes.ContainsRune([]byte(m.SymbolsNote()), '\n') {
		t.Fatalf("note %q, want one line", m.SymbolsNote())
	}
	if _, ok := m.LoadAlias(0xc0101000); ok {
		t.Error("aliasing on without a layout")
	}
	if st := m.Run(0); st.Reason != hv.StopPowerOff {
		t.Fatalf("stop %s, want power-off", st)
	}
}

// --symbols naming another kernel's vmlinux is noted: every name would be
// wrong.
func TestSymbolsMismatchNoted(t *testing.T) {
	dir := built(t)
	vm, err := symbols.FromELF(readFile(t, filepath.Join(dir, "boot.elf")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hv.New(hv.Config{Image: readFile(t, filepath.Join(dir, "boot-2g.bzImage")), RAM: 32 << 20, Symbols: vm})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.SymbolsNote(), "differ from the bzImage payload") {
		t.Errorf("note %q, want the mismatch said", m.SymbolsNote())
	}
}
