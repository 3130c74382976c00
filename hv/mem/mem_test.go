package mem

import "testing"

func TestAddressOKKeepsLguestStrictness(t *testing.T) {
	m, err := New(16*PageSize, 4)
	if err != nil {
		t.Fatal(err)
	}
	limit := m.GuestLimit()
	cases := []struct {
		name string
		addr uint32
		n    uint32
		want bool
	}{
		{"first byte", 0, 1, true},
		{"ends one byte before the last page's end", limit - 2, 1, true},
		// spec §12 quirk 3: (addr+len)/4096 < pfn_limit rejects an access
		// whose last byte is the last byte of guest memory.
		{"ends exactly at the limit", limit - 4, 4, false},
		{"beyond", limit, 1, false},
		{"wraps", 0xFFFFFFF0, 0x20, false},
	}
	for _, c := range cases {
		if got := m.AddressOK(c.addr, c.n); got != c.want {
			t.Errorf("%s: AddressOK(%#x, %d) = %v, want %v", c.name, c.addr, c.n, got, c.want)
		}
	}
}

func TestPoolIsAboveGuestMemoryAndReused(t *testing.T) {
	m, err := New(4*PageSize, 2)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := m.AllocPage()
	if !ok || a < m.GuestLimit() {
		t.Fatalf("AllocPage = %#x, %v; want a pool page at or above %#x", a, ok, m.GuestLimit())
	}
	m.Write32(a, 0xdeadbeef)
	b, _ := m.AllocPage()
	if _, ok := m.AllocPage(); ok {
		t.Fatal("pool of 2 pages handed out a third")
	}
	m.FreePage(a)
	c, ok := m.AllocPage()
	if !ok || c != a {
		t.Fatalf("freed page not reused: got %#x want %#x", c, a)
	}
	if v, _ := m.Read32(c); v != 0 {
		t.Fatalf("reused page not zeroed: %#x", v)
	}
	if m.PoolInUse() != 2 || b == a {
		t.Fatalf("in use %d, pages %#x %#x", m.PoolInUse(), a, b)
	}
}

func TestWritesToCodePagesInvalidate(t *testing.T) {
	m, _ := New(4*PageSize, 0)
	var hits []uint32
	m.OnCodeWrite = func(pfn, off, n uint32) bool {
		hits = append(hits, pfn)
		if pfn == 1 && (off != 0 || n != 2) {
			t.Errorf("straddling write: page 1 bytes [%#x, +%d), want [0, +2)", off, n)
		}
		return false
	}
	m.Code[1] = 1
	m.Write8(0x10, 1) // page 0: not code
	m.Write32(PageSize-2, 0x11223344)
	if len(hits) != 1 || hits[0] != 1 {
		t.Fatalf("straddling write to code page 1: hits %v", hits)
	}
	if m.Code[1] != 0 {
		t.Fatal("code mark not cleared after invalidation")
	}
	m.Write8(PageSize, 2)
	if len(hits) != 1 {
		t.Fatalf("second write re-invalidated an already clean page: %v", hits)
	}
}

func TestOutOfRangeAccessesFail(t *testing.T) {
	m, _ := New(PageSize, 0)
	if _, ok := m.Read32(PageSize - 2); ok {
		t.Error("read straddling the end succeeded")
	}
	if m.Write64(PageSize, 1) {
		t.Error("write past the end succeeded")
	}
	if _, err := New(100, 0); err == nil {
		t.Error("non-page-multiple size accepted")
	}
}

// A write the CPU finds clear of decoded instructions keeps the page marked,
// so the next write to it is reported too.
func TestCodeWriteKeptMarked(t *testing.T) {
	m, _ := New(4*PageSize, 0)
	type hit struct{ pfn, off, n uint32 }
	var hits []hit
	m.OnCodeWrite = func(pfn, off, n uint32) bool {
		hits = append(hits, hit{pfn, off, n})
		return true
	}
	m.Code[2] = 1
	m.Write16(2*PageSize+0x10, 1)
	m.Write8(2*PageSize+0xFFF, 2)
	m.Write32(3*PageSize-1, 3) // its last three bytes are in page 3, not code
	want := []hit{{2, 0x10, 2}, {2, 0xFFF, 1}, {2, 0xFFF, 1}}
	if len(hits) != len(want) || hits[0] != want[0] || hits[1] != want[1] || hits[2] != want[2] {
		t.Fatalf("hits %v, want %v", hits, want)
	}
	if m.Code[2] == 0 {
		t.Fatal("code mark cleared although the CPU kept the page")
	}
}
