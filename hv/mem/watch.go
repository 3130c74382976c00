package mem

// Write watches, for provenance (who last wrote a guest page-table entry):
// a replay of history watches a few physical ranges and hears every store
// to them, the Guest's and the Host's alike. Pages holding a watched range
// are marked (Watched), which keeps them out of the CPU's write TLB and its
// bulk string stores (as code pages are kept out), so every store to them
// goes through the Write methods here and costs nothing elsewhere. With no
// watch set a store pays one predictable branch, on the slow paths only.

// SetWatch watches the pages of the given [pa, pa+n) ranges, replacing any
// earlier set, and calls f after every store that touches one of those
// pages, with the bytes [pa, pa+n) it stored (the caller narrows down to
// its ranges). The caller must drop the CPU's write-TLB entries of the
// newly watched pages (cpu.CPU.DropWriteTLB). f nil or no ranges: off.
func (m *Phys) SetWatch(ranges [][2]uint32, f func(pa, n uint32)) {
	clear(m.watch)
	m.watching, m.onWatch = false, nil
	if f == nil {
		return
	}
	for _, r := range ranges {
		if r[1] == 0 || !m.InRange(r[0], r[1]) {
			continue
		}
		for p := r[0] / PageSize; p <= (r[0]+r[1]-1)/PageSize; p++ {
			m.watch[p] = 1
			m.watching = true
		}
	}
	if m.watching {
		m.onWatch = f
	}
}

// wrote reports a store to the callback when it touches a watched page.
func (m *Phys) wrote(pa, n uint32) {
	for p := pa / PageSize; p <= (pa+n-1)/PageSize; p++ {
		if m.watch[p] != 0 {
			m.onWatch(pa, n)
			return
		}
	}
}

// Watched reports whether the page holding pa is watched: the CPU keeps
// such pages out of its write TLB and bulk stores. With no watch set it
// is one load of a flag.
func (m *Phys) Watched(pa uint32) bool { return m.watching && m.watch[pa/PageSize] != 0 }
