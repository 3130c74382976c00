package hcall

import "testing"

// The flag names the walk panes and the monitor show for an entry.
func TestEntryFlags(t *testing.T) {
	for _, c := range []struct {
		e        uint64
		pte, pae bool
		want     string
	}{
		{0x067, false, false, "P RW US A D"},
		{0x1E1, true, false, "P A D PAT G"},
		{0x0E1, false, false, "P A D PS"},
		{0xE18, true, false, "PWT PCD AVL9 AVL10 AVL11"},
		{1<<63 | 1, true, true, "P NX"},
		{1<<63 | 1, true, false, "P"},
		{0, true, true, ""},
	} {
		if got := EntryFlags(c.e, c.pte, c.pae); got != c.want {
			t.Errorf("EntryFlags(%#x) = %q, want %q", c.e, got, c.want)
		}
	}
}
