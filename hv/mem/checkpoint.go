package mem

import "bytes"

// Checkpoints of physical memory for time travel, incremental by page with
// no hook on any write path: Capture compares every page with the previous
// image and keeps only the pages that changed, sharing the rest (a nil page
// is a page of zeros, so untouched RAM costs nothing). Comparing is a
// memcmp per page — a few milliseconds for 64 MiB — paid once per
// checkpoint instead of a branch on every store.

// page is one saved page, shared by every image in which it is unchanged.
type page struct {
	b    [PageSize]byte
	refs int
}

// Image is physical memory at one instant: every page (guest memory and
// the Host pool) and the pool allocator.
type Image struct {
	pages []*page
	free  []uint32
	next  uint32
	inUse int
	// New is the bytes this image added: its pages not shared with the
	// image it was captured against.
	New int64
}

var zeroPage [PageSize]byte

// Capture saves memory as an Image, sharing the pages that equal prev's
// (prev may be nil).
func (m *Phys) Capture(prev *Image) *Image {
	n := len(m.b) / PageSize
	img := &Image{pages: make([]*page, n), free: append([]uint32(nil), m.free...), next: m.next, inUse: m.inUse}
	for i := 0; i < n; i++ {
		cur := m.b[i*PageSize : (i+1)*PageSize]
		var old *page
		if prev != nil && i < len(prev.pages) {
			old = prev.pages[i]
		}
		switch {
		case old != nil && bytes.Equal(cur, old.b[:]):
			old.refs++
			img.pages[i] = old
		case old == nil && bytes.Equal(cur, zeroPage[:]):
		default:
			p := &page{refs: 1}
			copy(p.b[:], cur)
			img.pages[i] = p
			img.New += PageSize
		}
	}
	return img
}

// Restore puts an image back, writing only the pages that differ. It
// bypasses the code-page hook: the caller drops the CPU's decode cache.
func (m *Phys) Restore(img *Image) {
	for i, p := range img.pages {
		cur := m.b[i*PageSize : (i+1)*PageSize]
		src := zeroPage[:]
		if p != nil {
			src = p.b[:]
		}
		if !bytes.Equal(cur, src) {
			copy(cur, src)
		}
	}
	m.free = append(m.free[:0], img.free...)
	m.next, m.inUse = img.next, img.inUse
}

// Release drops the image's hold on its pages and returns the bytes that
// no other image shares (freed).
func (img *Image) Release() int64 {
	var freed int64
	for i, p := range img.pages {
		if p == nil {
			continue
		}
		p.refs--
		if p.refs == 0 {
			freed += PageSize
		}
		img.pages[i] = nil
	}
	return freed
}

// Overhead is the bookkeeping bytes of an image besides its pages.
func (img *Image) Overhead() int64 { return int64(len(img.pages))*8 + int64(len(img.free))*4 }

// Hash is a hash of all of memory (FNV-1a over 64-bit words), for tests
// that compare two instants.
func (m *Phys) Hash() uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i+8 <= len(m.b); i += 8 {
		w := uint64(m.b[i]) | uint64(m.b[i+1])<<8 | uint64(m.b[i+2])<<16 | uint64(m.b[i+3])<<24 |
			uint64(m.b[i+4])<<32 | uint64(m.b[i+5])<<40 | uint64(m.b[i+6])<<48 | uint64(m.b[i+7])<<56
		h = (h ^ w) * 1099511628211
	}
	return h
}
