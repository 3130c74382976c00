package host

import (
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pci"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// The 4.x ABI (Linux 4.0-4.13; 4.x spec). A Guest says which ABI it speaks
// only by where it put things: at LGUEST_INIT its syscall_vec (always
// SYSCALL_VECTOR) sits at 0x56C in a 3.x lguest_data and at 0x568 in a
// 4.x one, where 3.x keeps kernel_address (PAGE_OFFSET, never 0x80). So the
// Host learns the ABI there, before the Guest's first device access: the
// 4.x Guest makes LGUEST_INIT in lguest_entry, before lguest_init probes
// PCI for its early console (4.x spec §4, §5).
//
// What changes for a 4.x Guest: the lguest_data offsets (noirq_iret,
// kernel_address, syscall_vec; 4.x spec §1); NOTIFY is a bad hypercall
// (§2); interrupts are never refused at noirq_iret but delivered reusing
// the iret frame (§3); #GP(0) and I/O-memory faults go to the Launcher's
// PCI emulation, hv/pci (§4). The lguest bus stays in memory above RAM but
// the Guest has no way to reach it without NOTIFY; its BARs start at
// RAM + DEVICE_PAGES pages, above it.

// 4.x lguest_data offsets (4.x spec §1).
const (
	ld4NoirqIret     = 0x560
	ld4KernelAddress = 0x564
	ld4SyscallVec    = 0x568
	lguestData4Size  = 0x56C
)

// ldLayout is where LGUEST_INIT reads its fields.
type ldLayout struct {
	size, syscallVec, kernelAddress uint32
}

var (
	layout3x = ldLayout{size: lguestDataSize, syscallVec: ldSyscallVec, kernelAddress: ldKernelAddress}
	layout4x = ldLayout{size: lguestData4Size, syscallVec: ld4SyscallVec, kernelAddress: ld4KernelAddress}
)

// pickABI chooses the layout of the lguest_data at gpa: 4.x when the 3.x
// syscall_vec slot does not hold SYSCALL_VECTOR and the 4.x slot does;
// 3.x otherwise, so a 3.x Guest meets exactly the 3.x checks ("bad guest
// page", "bad syscall vector").
func (h *Host) pickABI(gpa uint32) ldLayout {
	rd := func(off uint32) (uint32, bool) {
		if !h.mem.AddressOK(gpa+off, 4) {
			return 0, false
		}
		v, _ := h.mem.Read32(gpa + off)
		return v, true
	}
	if v, ok := rd(ldSyscallVec); ok && v == syscallVector {
		return layout3x
	}
	if v, ok := rd(ld4SyscallVec); ok && v == syscallVector && h.mem.AddressOK(gpa, lguestData4Size) {
		h.abi4x.Store(true)
		h.emit(Event{Kind: EvLauncher, Text: "lguest_data has the 4.x layout (syscall_vec at 0x568): Linux 4.x ABI, devices on PCI"})
		return layout4x
	}
	return layout3x
}

// init4x is the rest of the 4.x LGUEST_INIT: noirq_iret, and the device
// limit the Host's demand_page checks for I/O memory.
func (h *Host) init4x() {
	h.noirqIret = h.ldRead(ld4NoirqIret)
	if h.pci != nil {
		// Everything from the end of guest memory to the last BAR is I/O
		// memory, as pfn_limit..device_limit is in the 4.x Host; a fault
		// there outside every BAR is the Launcher's "not a device" #PF.
		// (Knowingly: the 3.x bus pages above RAM stay ordinary memory.)
		h.pt.SetIOMem(h.mem.GuestLimit(), h.pci.DeviceLimit())
	}
}

// addPCIDevices builds the 4.x Launcher's PCI bus with the same
// command-line devices and a console, BARs from RAM + DEVICE_PAGES pages.
// A 3.x Guest never reaches it.
func (h *Host) addPCIDevices(specs []DeviceSpec) error {
	b, err := pci.NewBus(h.ram + virtio.DevicePages*mem.PageSize)
	if err != nil {
		return err
	}
	for _, s := range specs {
		switch s.Kind {
		case DeviceBlock:
			blk, err := b.AddBlock(s.File, s.Size, s.ReadOnly)
			if err != nil {
				return err
			}
			h.blocks = append(h.blocks, blk)
		case DeviceRNG:
			r, err := b.AddRNG(s.Entropy)
			if err != nil {
				return err
			}
			h.rngs = append(h.rngs, r)
		}
	}
	if h.con4, err = b.AddConsole(h.console); err != nil {
		return err
	}
	// Input reaches a 4.x Guest at the same deterministic instants as a
	// 3.x one (admitInput), so it is recorded for replay too.
	h.con4.Gate()
	b.SetIRQ(h.setInterrupt)
	b.SetWarn(h.launcherWarning)
	b.SetInputSignal(h.bus.SignalInput)
	h.pci = b
	return nil
}

// installPCI attaches guest memory: 4.x rings live in RAM (pfn_limit is
// RAM alone in the 4.x Launcher).
func (h *Host) installPCI() error {
	if h.pci == nil {
		return nil
	}
	return h.pci.Install(h.mem, h.ram)
}

// console4x picks the console the Guest's ABI uses for input.
func (h *Host) consoleIn() *virtio.Console {
	if h.abi4x.Load() && h.con4 != nil {
		return h.con4
	}
	return h.con
}

// pollDevices is the Launcher's service threads at an exit.
func (h *Host) pollDevices() error {
	if h.abi4x.Load() && h.pci != nil {
		return h.pci.Poll()
	}
	return h.bus.Poll()
}

// insnBytes is setup_emulate_insn: up to 7 bytes at the Guest's eip. In
// 4.x an unmapped eip fails the access rather than killing (4.x spec §5:
// __guest_pa), so nothing is emulated and the #GP is reflected; bytes
// that run onto an unmapped second page read as zeros, as 4.x's
// copy_from_guest fills them.
func (h *Host) insnBytes() []byte {
	eip := h.cpu.EIP()
	pa, ok := h.pt.TryGuestPA(eip)
	if !ok {
		return nil
	}
	var b [7]byte
	for n := range b {
		va := eip + uint32(n)
		if n > 0 && va&0xFFF == 0 {
			if pa, ok = h.pt.TryGuestPA(va); !ok {
				break // the rest stay zero
			}
		} else if n > 0 {
			pa++
		}
		if !h.mem.AddressOK(pa, 1) {
			return b[:n]
		}
		b[n], _ = h.mem.Read8(pa)
	}
	return b[:]
}

func (h *Host) regs() *pci.Regs {
	var r pci.Regs
	for i := range r {
		r[i] = h.cpu.Reg(cpu.Reg(i))
	}
	return &r
}

func (h *Host) setRegs(r *pci.Regs) {
	for i, v := range r {
		h.cpu.SetReg(cpu.Reg(i), v)
	}
}

// launcherResult applies what the Launcher decided for an emulated
// instruction; it returns the trap outcome, or "" when the fault must be
// reflected (the caller does that, as LHREQ_TRAP would).
func (h *Host) launcherResult(r pci.Result, regs *pci.Regs) string {
	switch {
	case r.Fatal != "":
		h.kill(r.Fatal)
		return "fatal"
	case r.InjectTrap != 0:
		return ""
	}
	h.setRegs(regs)
	h.cpu.SetEIP(h.cpu.EIP() + r.Len)
	return "emulated (Launcher)"
}

// emulate4x hands a ring-1 #GP(0) to the 4.x Launcher's emulate_insn.
func (h *Host) emulate4x() string {
	if h.pci == nil {
		return ""
	}
	regs := h.regs()
	r := h.pci.EmulateInsn(h.insnBytes(), regs, h.cpu.CPL(), h.cpu.EIP())
	return h.launcherResult(r, regs)
}

// mmio4x hands an I/O-memory fault to the 4.x Launcher's emulate_mmio.
func (h *Host) mmio4x(gpa uint32) string {
	if h.pci == nil {
		return ""
	}
	regs := h.regs()
	r := h.pci.EmulateMMIO(gpa, h.insnBytes(), regs, h.cpu.EIP())
	return h.launcherResult(r, regs)
}

// deliverAtNoirqIret is the 4.x rule (4.x spec §3): an interrupt arriving
// with eip at noirq_iret (the Guest's iret itself) reuses the iret frame
// already on the Guest stack: eflags come back from it (esp+8) with TF, VM,
// RF and NT cleared, and the handler runs as if the iret had happened and
// the interrupt then arrived. lgdbg keeps the CPU's real IF set (the
// Guest's virtual IF lives in irq_enabled, which lguest_iret already
// restored).
func (h *Host) deliverAtNoirqIret(gate uint64) {
	c := h.cpu
	fl := h.readGuest32(h.pt.GuestPA(c.Reg(cpu.ESP) + 8))
	c.SetEFLAGS((fl&^reflectClearFlags)&^cpu.FlagIF | c.EFLAGS()&cpu.FlagIF)
	lo, hi := uint32(gate), uint32(gate>>32)
	h.loadSegOrKill(cpu.CS, kernelCS|guestPL)
	c.SetEIP(lo&0xFFFF | hi&0xFFFF0000)
	if (hi>>8)&0xF == 0xE && !h.ldWrite(ldIrqEnabled, 0) {
		h.kill("Disabling interrupts")
	}
}

// PCIDevices lists the virtio-PCI functions (4.x Guests).
func (h *Host) PCIDevices() []pci.DeviceInfo {
	if h.pci == nil {
		return nil
	}
	return h.pci.Devices()
}

// ABI4x reports whether the Guest turned out to speak the 4.x ABI (any
// goroutine).
func (h *Host) ABI4x() bool { return h.abi4x.Load() }
