package host

import "fmt"

// H:600 Every time the Host touches guest memory on the Guest's behalf — an
// argument of a hypercall, lguest_data, an exception frame — it checks the
// address the way lguest_address_ok does (spec §2.8). A bad address is the
// Guest's fault, never the Host's: we kill the Guest with lguest's words and
// hand back zeroes, and the Host carries on to the end of the operation just
// as the original does (spec §0 kill_guest, §12 quirk 8).

func (h *Host) readGuest32(gpa uint32) uint32 {
	if !h.mem.AddressOK(gpa, 4) {
		h.kill(fmt.Sprintf("bad read address %#x len %d", gpa, 4))
		return 0
	}
	v, _ := h.mem.Read32(gpa)
	return v
}

func (h *Host) writeGuest32(gpa, v uint32) bool {
	if !h.mem.AddressOK(gpa, 4) {
		h.kill(fmt.Sprintf("bad write address %#x len %d", gpa, 4))
		return false
	}
	h.mem.Write32(gpa, v)
	return true
}

func (h *Host) readGuestBytes(gpa uint32, dst []byte) bool {
	if !h.mem.AddressOK(gpa, uint32(len(dst))) {
		h.kill(fmt.Sprintf("bad read address %#x len %d", gpa, len(dst)))
		clear(dst)
		return false
	}
	h.mem.ReadBytes(gpa, dst)
	return true
}

// lguest_data field offsets (spec §4, 3.x layout).
const (
	ldIrqEnabled    = 0x000
	ldBlocked       = 0x004
	ldCR2           = 0x008
	ldTime          = 0x00C
	ldIrqPending    = 0x014
	ldHcallStatus   = 0x018
	ldHcalls        = 0x058
	ldReserveMem    = 0x558
	ldTscKHz        = 0x55C
	ldNoirqStart    = 0x560
	ldNoirqEnd      = 0x564
	ldKernelAddress = 0x568
	ldSyscallVec    = 0x56C
	lguestDataSize  = 0x570
)

// ldRead and ldWrite access a field of lguest_data. The Guest told us where
// it lives at LGUEST_INIT; the usual address checks apply (a Guest can
// place it near the end of memory and have a field fall off it).
func (h *Host) ldRead(off uint32) uint32 { return h.readGuest32(h.lguestData + off) }

func (h *Host) ldWrite(off, v uint32) bool { return h.writeGuest32(h.lguestData+off, v) }

// ldTryRead is the "get_user, and on failure treat it as 0" flavour used on
// the interrupt path (spec §5.5), which never kills.
func (h *Host) ldTryRead(off uint32) (uint32, bool) {
	if !h.mem.AddressOK(h.lguestData+off, 4) {
		return 0, false
	}
	v, _ := h.mem.Read32(h.lguestData + off)
	return v, true
}
