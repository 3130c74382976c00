package pci

import "fmt"

// Regs are the Guest's general registers in x86 encoding order (eax, ecx,
// edx, ebx, esp, ebp, esi, edi), as the Launcher's getreg_num numbers them.
type Regs [8]uint32

// Result says what an emulated instruction did.
type Result struct {
	// Len is the instruction's length: the Host advances eip by it. 0
	// with no Inject and no Fatal means nothing to do.
	Len uint32
	// InjectTrap is set when the Launcher reflects the fault into the
	// Guest instead (LHREQ_TRAP): 13 for an unemulated #GP, 14 for MMIO
	// it cannot decode or that hits no device.
	InjectTrap int
	// Warning is the Launcher's warnx line, if it printed one.
	Warning string
	// Fatal is an errx: kill the Guest with it.
	Fatal string
}

// EmulateInsn is the 4.x Launcher's emulate_insn for a #GP(0) the Host
// passes on with 7 instruction bytes (4.x spec §4, "Port I/O"): cli is
// skipped; in/out (imm8 or dx port, 8/16/32 bits) reach the PCI ports,
// port 0x64 reads 1, other reads all ones, other writes are ignored. cpl
// is the faulting code's privilege level: only the Guest kernel (1) is
// emulated. eip is for messages only.
func (b *Bus) EmulateInsn(insn []byte, regs *Regs, cpl int, eip uint32) Result {
	b.eip = eip
	gp := Result{InjectTrap: 13}
	if cpl != 1 || len(insn) == 0 {
		return gp
	}
	if insn[0] == 0xFA {
		return Result{Len: 1} // cli: the cmpxchg8b emulation's; ignored
	}
	n, small := uint32(0), false
	if insn[0] == 0x66 {
		small, n = true, 1
	}
	if int(n)+1 > len(insn) {
		return gp
	}
	op := insn[n]
	byteAccess := op&1 == 0
	var port uint32
	in := false
	switch op & 0xFE {
	case 0xE4, 0xE6:
		if int(n)+2 > len(insn) {
			return gp
		}
		port, in = uint32(insn[n+1]), op&0xFE == 0xE4
		n += 2
	case 0xEC, 0xEE:
		port, in = regs[2]&0xFFFF, op&0xFE == 0xEC
		n++
	default:
		return gp
	}
	mask := uint32(0xFFFFFFFF)
	switch {
	case byteAccess:
		mask = 0xFF
	case small:
		mask = 0xFFFF
	}
	isAddr := port >= PortConfigAddr && port < PortConfigAddr+4
	isData := port >= PortConfigData && port < PortConfigData+4
	if in {
		val := uint32(0xFFFFFFFF)
		switch {
		case port == PortKbdStatus:
			val = 1
		case isAddr:
			val = ioRead(port-PortConfigAddr, b.addr, mask)
		case isData:
			v, err := b.configRead(uint16(port), mask)
			if err != nil {
				return Result{Fatal: err.Error()}
			}
			val = v
		}
		regs[0] = regs[0]&^mask | val&mask
		return Result{Len: n}
	}
	val := regs[0]
	switch {
	case isAddr:
		b.addr = ioWrite(port-PortConfigAddr, val, mask, b.addr)
	case isData:
		ok, err := b.configWrite(uint16(port), mask, val)
		if err != nil {
			return Result{Fatal: err.Error()}
		}
		if !ok {
			w := fmt.Sprintf("Attempt to write to port %d (%#x mask)", port, mask)
			b.warn(w)
			return Result{InjectTrap: 13, Warning: w}
		}
	}
	// Other ports (CMOS clock, serial, parallel...) are ignored.
	return Result{Len: n}
}

// displacementLen is insn_displacement_len, quirk included: mod 00 with
// r/m 101 is a 2-byte displacement there (32-bit code has 4), and a SIB
// byte is not counted.
func displacementLen(modrm byte) uint32 {
	switch modrm >> 6 {
	case 0:
		if modrm&7 == 5 {
			return 2
		}
		return 0
	case 1:
		return 1
	case 2:
		return 4
	}
	return 0
}

// MMIOAccess is one decoded emulate_mmio instruction.
type MMIOAccess struct {
	Write bool
	Mask  uint32 // 0xFF, 0xFFFF or 0xFFFFFFFF
	Reg   int    // ModRM reg field: the register read or written
	Len   uint32 // instruction length
}

// DecodeMMIO is emulate_mmio's decoder: optional 0x66, then 0x89 (store)
// or 0x8b (load) 16/32-bit, or 0x88/0x8a 8-bit; anything else is not
// emulated (ok false).
func DecodeMMIO(insn []byte) (MMIOAccess, bool) {
	if len(insn) < 2 {
		return MMIOAccess{}, false
	}
	a := MMIOAccess{Mask: 0xFFFFFFFF}
	n := uint32(0)
	if insn[0] == 0x66 {
		a.Mask, n = 0xFFFF, 1
	}
	if int(n)+2 > len(insn) {
		return MMIOAccess{}, false
	}
	switch insn[n] {
	case 0x89, 0x8b:
		a.Write = insn[n] == 0x89
	case 0x88, 0x8a:
		// The Launcher tests insn[0], so a 0x66 prefix here is not
		// emulated.
		if n != 0 {
			return MMIOAccess{}, false
		}
		a.Write, a.Mask = insn[0] == 0x88, 0xFF
	default:
		return MMIOAccess{}, false
	}
	modrm := insn[n+1]
	a.Reg = int(modrm >> 3 & 7)
	a.Len = n + 2 + displacementLen(modrm)
	return a, true
}

// EmulateMMIO is emulate_mmio for a Guest access to gpa that the Host
// found to be I/O memory (4.x spec §4, "MMIO"): decode, read or write the
// device register, and say how far to move eip; an address outside every
// BAR or an instruction it cannot decode is reflected as #PF.
func (b *Bus) EmulateMMIO(gpa uint32, insn []byte, regs *Regs, eip uint32) Result {
	b.eip = eip
	d, off := b.findMMIO(gpa)
	if d == nil {
		w := fmt.Sprintf("MMIO touching %s (not a device)", cHex08(gpa))
		b.warn(w)
		return Result{InjectTrap: 14, Warning: w}
	}
	a, ok := DecodeMMIO(insn)
	if !ok {
		var x [4]byte
		copy(x[:], insn)
		w := fmt.Sprintf("Unknown MMIO instruction touching %s: %02x %02x %02x %02x at %d", cHex08(gpa), x[0], x[1], x[2], x[3], eip)
		b.warn(w)
		return Result{InjectTrap: 14, Warning: w}
	}
	if a.Write {
		if err := d.mmioWrite(off, regs[a.Reg]&a.Mask, a.Mask); err != nil {
			return Result{Fatal: err.Error()}
		}
	} else {
		v, err := d.mmioRead(off, a.Mask)
		if err != nil {
			return Result{Fatal: err.Error()}
		}
		regs[a.Reg] = regs[a.Reg]&^a.Mask | v&a.Mask
	}
	return Result{Len: a.Len}
}

// findMMIO is find_mmio_region: the device whose region, where the
// Launcher put it (not where the Guest may have moved BAR0), holds gpa.
func (b *Bus) findMMIO(gpa uint32) (*Device, uint32) {
	for _, d := range b.slots[1:] {
		if d != nil && gpa >= d.mmioAddr && gpa-d.mmioAddr < d.mmioSize {
			return d, gpa - d.mmioAddr
		}
	}
	return nil, 0
}

// cHex08 is C's "%#08lx": the width counts the "0x", and zero has none.
func cHex08(v uint32) string {
	if v == 0 {
		return "00000000"
	}
	s := fmt.Sprintf("%x", v)
	for len(s) < 6 {
		s = "0" + s
	}
	return "0x" + s
}
