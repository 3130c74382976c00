// Package mem is the Host's one flat physical address space.
//
// Layout: guest-physical memory sits at [0, GuestLimit)
// — RAM, then the lguest device page and virtqueue rings — and a pool of Host
// pages follows it: shadow page tables and the Switcher pages. Guest-physical
// addresses equal host-physical addresses inside guest memory, and the Guest
// can only ever name frames below its pfn_limit, so it can never reach the
// Host pool.
//
// Every byte store goes through this package or through the CPU's write TLB,
// and both respect the code-page map: a physical page that holds decoded
// instructions is never written without calling the invalidation hook, so the
// CPU's decode cache stays coherent when Linux patches its own code
// (alternatives, paravirt patching).
package mem

import (
	"encoding/binary"
	"fmt"
)

// PageSize is the x86 page size.
const PageSize = 4096

// Phys is the Host's physical memory.
type Phys struct {
	b          []byte
	guestLimit uint32 // pfn_limit*4096: the bytes the Guest may name
	poolStart  uint32
	free       []uint32 // free Host pages (physical addresses), LIFO
	next       uint32   // next never-used Host page
	inUse      int

	// Code marks physical pages that hold decoded instructions (one byte
	// per page, non-zero = code). The CPU sets entries; writers clear them
	// through OnCodeWrite.
	Code []uint8
	// OnCodeWrite is called, before the store lands, when a write touches a
	// page whose Code entry is set, with the bytes [off, off+n) of that page
	// it writes. The CPU installs it to drop the decode cache of that page;
	// it returns keep = true when no decoded instruction lies in the range
	// (data next to code), and the page stays marked.
	OnCodeWrite func(pfn, off, n uint32) (keep bool)

	// watch marks physical pages that hold a watched range (one byte per
	// page, non-zero = watched; watch.go). Like code pages they never
	// enter the CPU's write TLB (Watched), so every store to them comes
	// through here and reaches the SetWatch callback.
	watch    []uint8
	watching bool
	onWatch  func(pa, n uint32)
}

// New makes guestBytes of guest-physical memory (page-rounded) followed by a
// pool of poolPages Host pages. The pool is never visible to the Guest.
func New(guestBytes uint32, poolPages int) (*Phys, error) {
	if guestBytes == 0 || guestBytes%PageSize != 0 {
		return nil, fmt.Errorf("guest memory size %#x is not a positive multiple of the page size", guestBytes)
	}
	total := uint64(guestBytes) + uint64(poolPages)*PageSize
	if total > 1<<32-PageSize {
		return nil, fmt.Errorf("guest memory %d MiB plus %d Host pages does not fit below 4 GiB", guestBytes>>20, poolPages)
	}
	m := &Phys{
		b:          make([]byte, total),
		guestLimit: guestBytes,
		poolStart:  guestBytes,
		next:       guestBytes,
	}
	m.Code = make([]uint8, total/PageSize)
	m.watch = make([]uint8, total/PageSize)
	return m, nil
}

// Bytes is the whole physical memory, for the CPU's fast paths. Writers
// must honour Code/OnCodeWrite.
func (m *Phys) Bytes() []byte { return m.b }

// Size is the size of the whole physical space, guest part and pool.
func (m *Phys) Size() uint32 { return uint32(len(m.b)) }

// GuestLimit is pfn_limit*4096: the first guest-physical address the Guest
// may not name.
func (m *Phys) GuestLimit() uint32 { return m.guestLimit }

// PfnLimit is the number of guest pages (lguest's pfn_limit).
func (m *Phys) PfnLimit() uint32 { return m.guestLimit / PageSize }

// AddressOK is lguest_address_ok (spec §2.8): (addr+len)/4096 < pfn_limit
// and no wrap. It keeps the original's strictness: an access whose last byte
// is the last byte of guest memory is rejected (spec §12 quirk 3).
func (m *Phys) AddressOK(addr, n uint32) bool {
	end := addr + n
	return end >= addr && end/PageSize < m.PfnLimit()
}

// InRange reports whether [pa, pa+n) lies inside physical memory at all.
func (m *Phys) InRange(pa uint32, n uint32) bool {
	return uint64(pa)+uint64(n) <= uint64(len(m.b))
}

func (m *Phys) touch(pa, n uint32) {
	first, last := pa/PageSize, (pa+n-1)/PageSize
	for p := first; p <= last; p++ {
		if m.Code[p] == 0 {
			continue
		}
		// the part of [pa, pa+n) in page p
		lo, hi := uint32(0), uint32(PageSize)
		if p == first {
			lo = pa % PageSize
		}
		if p == last {
			hi = (pa+n-1)%PageSize + 1
		}
		if m.OnCodeWrite == nil || !m.OnCodeWrite(p, lo, hi-lo) {
			m.Code[p] = 0
		}
	}
}

// Read8 reads a byte; ok is false outside physical memory.
func (m *Phys) Read8(pa uint32) (uint8, bool) {
	if !m.InRange(pa, 1) {
		return 0, false
	}
	return m.b[pa], true
}

// Read16 reads a little-endian 16-bit value.
func (m *Phys) Read16(pa uint32) (uint16, bool) {
	if !m.InRange(pa, 2) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(m.b[pa:]), true
}

// Read32 reads a little-endian 32-bit value.
func (m *Phys) Read32(pa uint32) (uint32, bool) {
	if !m.InRange(pa, 4) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(m.b[pa:]), true
}

// Read64 reads a little-endian 64-bit value.
func (m *Phys) Read64(pa uint32) (uint64, bool) {
	if !m.InRange(pa, 8) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(m.b[pa:]), true
}

// Write8 stores a byte; ok is false outside physical memory.
func (m *Phys) Write8(pa uint32, v uint8) bool {
	if !m.InRange(pa, 1) {
		return false
	}
	m.touch(pa, 1)
	m.b[pa] = v
	if m.watching {
		m.wrote(pa, 1)
	}
	return true
}

// Write16 stores a little-endian 16-bit value.
func (m *Phys) Write16(pa uint32, v uint16) bool {
	if !m.InRange(pa, 2) {
		return false
	}
	m.touch(pa, 2)
	binary.LittleEndian.PutUint16(m.b[pa:], v)
	if m.watching {
		m.wrote(pa, 2)
	}
	return true
}

// Write32 stores a little-endian 32-bit value.
func (m *Phys) Write32(pa uint32, v uint32) bool {
	if !m.InRange(pa, 4) {
		return false
	}
	m.touch(pa, 4)
	binary.LittleEndian.PutUint32(m.b[pa:], v)
	if m.watching {
		m.wrote(pa, 4)
	}
	return true
}

// Write64 stores a little-endian 64-bit value.
func (m *Phys) Write64(pa uint32, v uint64) bool {
	if !m.InRange(pa, 8) {
		return false
	}
	m.touch(pa, 8)
	binary.LittleEndian.PutUint64(m.b[pa:], v)
	if m.watching {
		m.wrote(pa, 8)
	}
	return true
}

// ReadBytes copies len(dst) bytes from pa.
func (m *Phys) ReadBytes(pa uint32, dst []byte) bool {
	if !m.InRange(pa, uint32(len(dst))) {
		return false
	}
	copy(dst, m.b[pa:])
	return true
}

// WriteBytes copies src to pa.
func (m *Phys) WriteBytes(pa uint32, src []byte) bool {
	if len(src) == 0 {
		return true
	}
	if !m.InRange(pa, uint32(len(src))) {
		return false
	}
	m.touch(pa, uint32(len(src)))
	copy(m.b[pa:], src)
	if m.watching {
		m.wrote(pa, uint32(len(src)))
	}
	return true
}

// AllocPage hands out a zeroed Host page from the pool (shadow tables,
// Switcher pages). ok is false when the pool is exhausted, which the Host
// turns into lguest's "out of memory allocating pte page" kill.
func (m *Phys) AllocPage() (pa uint32, ok bool) {
	if n := len(m.free); n > 0 {
		pa = m.free[n-1]
		m.free = m.free[:n-1]
	} else {
		if uint64(m.next)+PageSize > uint64(len(m.b)) {
			return 0, false
		}
		pa = m.next
		m.next += PageSize
	}
	clear(m.b[pa : pa+PageSize])
	m.inUse++
	return pa, true
}

// FreePage returns a Host page to the pool.
func (m *Phys) FreePage(pa uint32) {
	if pa < m.poolStart || pa%PageSize != 0 || uint64(pa) >= uint64(len(m.b)) {
		panic(fmt.Sprintf("mem: FreePage(%#x) is not a Host pool page", pa))
	}
	m.free = append(m.free, pa)
	m.inUse--
}

// PoolInUse is the number of Host pages currently allocated.
func (m *Phys) PoolInUse() int { return m.inUse }
