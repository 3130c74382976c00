package hv_test

import (
	"encoding/binary"

	"github.com/lgdbg/lgdbg/hv/hcall"
)

// rawGuest builds a tiny guest kernel without an assembler: machine code
// at the kernel's load address, a "Power down" message, and a lguest_data
// with the 3.x static initialiser (spec §4), wrapped in an ELF32 file that
// hv.New loads as it would a vmlinux. Tests outside the Host drive such
// guests through the Machine only.
type rawGuest struct {
	code []byte
	ld   []byte
}

// The guest's layout and the lguest_data fields it sets (spec §4).
const (
	guestEntry    = 0x100000 // where the Launcher puts a kernel
	rawMessage    = 0x1F0000 // "Power down"
	rawLguestData = 0x200000

	ldBlocked       = 0x004
	ldHcallStatus   = 0x018
	ldHcalls        = 0x058 // 64 entries of 5 words
	ldNoirqStart    = 0x560
	ldNoirqEnd      = 0x564
	ldKernelAddress = 0x568
	ldSyscallVec    = 0x56C
	hcallRingSize   = 64
)

func newRawGuest() *rawGuest {
	le := binary.LittleEndian
	ld := make([]byte, ldSyscallVec+4)
	le.PutUint32(ld[ldBlocked:], 1) // the timer starts blocked
	for i := range hcallRingSize {
		ld[ldHcallStatus+i] = 0xFF // ring empty
	}
	le.PutUint32(ld[ldNoirqStart:], guestEntry)
	le.PutUint32(ld[ldNoirqEnd:], guestEntry)
	le.PutUint32(ld[ldKernelAddress:], 0xC0000000)
	le.PutUint32(ld[ldSyscallVec:], 0x80)
	return &rawGuest{ld: ld}
}

// hcall appends movs of the call number and up to four arguments into
// eax, ebx, ecx, edx, esi and int $0x1f (LGUEST_TRAP_ENTRY, spec §3.1).
func (g *rawGuest) hcall(nr uint32, args ...uint32) {
	var a [4]uint32
	copy(a[:], args)
	for i, op := range []byte{0xB8, 0xBB, 0xB9, 0xBA, 0xBE} {
		v := nr
		if i > 0 {
			v = a[i-1]
		}
		g.code = append(g.code, op)
		g.code = binary.LittleEndian.AppendUint32(g.code, v)
	}
	g.code = append(g.code, 0xCD, 0x1F)
}

// emit appends raw instruction bytes.
func (g *rawGuest) emit(b ...byte) { g.code = append(g.code, b...) }

// here is the address of the next instruction, for jumps.
func (g *rawGuest) here() uint32 { return guestEntry + uint32(len(g.code)) }

// jmp appends a short jump to target.
func (g *rawGuest) jmp(target uint32) {
	g.code = append(g.code, 0xEB, byte(int32(target)-int32(g.here()+2)))
}

// powerOff ends the guest as lguest_power_off does, then spins.
func (g *rawGuest) powerOff() {
	g.hcall(hcall.Shutdown, rawMessage, hcall.ShutdownPowerOff)
	g.jmp(g.here())
}

// queue fills async ring slot i (pending or not) with a call (spec §3.4).
func (g *rawGuest) queue(i int, pending bool, nr uint32, args [4]uint32) {
	if pending {
		g.ld[ldHcallStatus+i] = 0
	}
	slot := g.ld[ldHcalls+20*i:]
	binary.LittleEndian.PutUint32(slot, nr)
	for j, v := range args {
		binary.LittleEndian.PutUint32(slot[4+4*j:], v)
	}
}

// image is the guest as an ELF32 i386 executable: one PT_LOAD from
// guestEntry holding the code, the message and lguest_data.
func (g *rawGuest) image() []byte {
	img := make([]byte, rawLguestData+len(g.ld)-guestEntry)
	copy(img, g.code)
	copy(img[rawMessage-guestEntry:], "Power down\x00")
	copy(img[rawLguestData-guestEntry:], g.ld)

	le := binary.LittleEndian
	elf := make([]byte, 0x1000, 0x1000+len(img)) // the segment page-aligned in the file
	copy(elf, "\x7fELF\x01\x01\x01")
	le.PutUint16(elf[16:], 2) // ET_EXEC
	le.PutUint16(elf[18:], 3) // EM_386
	le.PutUint32(elf[20:], 1) // EV_CURRENT
	le.PutUint32(elf[24:], guestEntry)
	le.PutUint32(elf[28:], 52) // e_phoff
	le.PutUint16(elf[40:], 52) // e_ehsize
	le.PutUint16(elf[42:], 32) // e_phentsize
	le.PutUint16(elf[44:], 1)  // e_phnum
	ph := elf[52:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 0x1000)
	le.PutUint32(ph[8:], guestEntry)
	le.PutUint32(ph[12:], guestEntry)
	le.PutUint32(ph[16:], uint32(len(img)))
	le.PutUint32(ph[20:], uint32(len(img)))
	le.PutUint32(ph[24:], 7) // RWX
	le.PutUint32(ph[28:], 0x1000)
	return append(elf, img...)
}
