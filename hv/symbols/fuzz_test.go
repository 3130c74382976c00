package symbols

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzFromELF: no ELF makes the model panic, and whatever it accepts
// answers lookups.
func FuzzFromELF(f *testing.F) {
	for _, n := range []string{"vmlinux-C0000000", "vmlinux-80000000"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := FromELF(data)
		if err != nil {
			return
		}
		for _, a := range []uint32{0, 0x1000000, 0xc1000000, 0x81000016, 0xffffffff} {
			tab.Lookup(a)
			tab.Code(a)
			tab.Operand(a)
			tab.ToLoad(a)
		}
	})
}
