package cpu

import (
	"encoding/binary"
	"unsafe"
)

// Guest RAM accessors for the TLB-hit fast paths, without Go's bounds
// checks (three compares and a mask per access: about 12 host
// instructions of a 50-instruction guest load). They are safe because
// of an invariant of the software TLB, not because of the caller:
//
//   - a TLB entry is only filled by xlate from a successful walk, and the
//     walk refuses a physical address outside mem.Phys (InRange), so the
//     entry's page begins inside c.ram;
//   - mem.Phys is a whole number of pages and never changes size, so that
//     page ends inside c.ram too;
//   - every fast path checks that the access does not cross its page (the
//     tag compare of the last byte's page).
//
// p is therefore always below len(c.ram)-size+1. Any other address must go
// through the checked slices.

// ramPtr is the address of byte p of guest RAM.
func (c *CPU) ramPtr(p uint32) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(c.ram)), p)
}

func (c *CPU) ld8(p uint32) uint8      { return *(*uint8)(c.ramPtr(p)) }
func (c *CPU) st8(p uint32, v uint8)   { *(*uint8)(c.ramPtr(p)) = v }
func (c *CPU) ld16(p uint32) uint16    { return *(*uint16)(c.ramPtr(p)) }
func (c *CPU) st16(p uint32, v uint16) { *(*uint16)(c.ramPtr(p)) = v }
func (c *CPU) ld32(p uint32) uint32    { return *(*uint32)(c.ramPtr(p)) }
func (c *CPU) st32(p uint32, v uint32) { *(*uint32)(c.ramPtr(p)) = v }

// The accessors above read guest memory in host byte order; x86 guests
// are little-endian, so the host must be too.
func init() {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		panic("lgdbg's CPU needs a little-endian host")
	}
}
