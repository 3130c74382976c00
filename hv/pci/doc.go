// Package pci is the 4.x Launcher's PCI side (4.x spec §4): the emulated
// PCI configuration space on ports 0xCF8/0xCFC, virtio 1.0 ("modern")
// devices behind it with the capabilities and BAR the Launcher presents,
// the decoding of the one instruction that faulted on a BAR (emulate_mmio)
// or on a port (emulate_insn), and the device state machine the Launcher
// enforces on the common configuration. The devices themselves (console,
// block, rng) are hv/virtio's handlers over a Transport this package
// provides, so the ring code is shared with the 3.x lguest bus.
//
// # Layout (init_pci_config, 4.x spec §4)
//
// Bus 0; slot 0 is a host bridge, devices take slots 1, 2, ... in
// creation order, function 0. Each device: vendor 0x1AF4, device 0x1040 +
// virtio type, revision 1, subsystem device 0x40, status bit 4 (capability
// list), interrupt line = the next IRQ from 1, pin 1. Capabilities from
// 0x40: common (type 1) -> notify (2) -> ISR (3) -> device config (4, only
// when the device has config) -> PCI config access window (5). BAR0 is the
// device's MMIO region, sized up to a power of two and allocated upwards
// from the base the Host gives (mem + DEVICE_PAGES pages):
//
//	0   struct virtio_pci_common_cfg (56 bytes)
//	56  u16 notify (queue_notify_off 0 for every queue: the value written is the queue)
//	58  u8 isr, 59 pad
//	60  the device config (console: cols, rows, max_nr_ports, emerg_wr)
//
// # Use by the Host
//
//	b := pci.NewBus(mmioBase)                 // mem + DEVICE_PAGES*4096
//	b.AddBlock(...); b.AddRNG(...); b.AddConsole(out)
//	b.Install(m, guestLimit)                   // m holds guest memory; rings must lie below guestLimit
//	b.SetIRQ(setInterrupt); b.SetWarn(log)
//	#GP with error 0 in ring 1: r := b.EmulateInsn(insn, &regs)   // in/out; r.InjectGP, r.Fatal
//	MMIO fault at gpa in [MMIOBase, DeviceLimit): r := b.EmulateMMIO(gpa, insn, &regs)
//	each exit: b.Poll()
//
// Fatal results are the Launcher's errx texts (bad_driver: "%s: bad driver:
// ..."); the Host kills the Guest with them.
//
// # Knowing departures and unpinned points
//
//   - The 4.x spec does not give the slot-0 host bridge's IDs, the device
//     order (we keep 3.x's: command-line devices, then the console) or
//     every bad_driver wording; those here follow the 4.x Launcher as
//     remembered and are marked in the code.
//   - emulate_mmio's displacement rule is kept as the Launcher has it:
//     mod 00 with r/m 101 is taken as a 2-byte displacement (32-bit code
//     has 4) and a SIB byte is not skipped; 8-bit register numbers 4-7
//     name the low bytes of esp..edi, not ah..bh.
package pci
