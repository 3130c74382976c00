package ui

import (
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv/pci"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// deviceListing renders the Guest's devices and their queues for the
// ":devices" overlay: the lguest bus for a 3.x Guest (spec §2.7), the
// virtio-PCI functions once the Guest turned out to speak 4.x (4.x spec §4).
func deviceListing(bus []virtio.DeviceInfo, pciDevs []pci.DeviceInfo, abi4x bool) string {
	var b strings.Builder
	if abi4x {
		b.WriteString("virtio-PCI devices on bus 0 (4.x Guest)\n\n")
		for _, d := range pciDevs {
			fmt.Fprintf(&b, "00:%02x.0  %-8s %04x:%04x  irq %-2d  BAR0 0x%08x+%d\n", d.Slot, d.Name, d.Vendor, d.DeviceID, d.IRQ, d.BAR0, d.Size)
			fmt.Fprintf(&b, "         status 0x%02x  running %v  features %#x  accepted %#x  %d queues\n", d.Status, d.Running, d.Features, d.Accepted, d.Queues)
		}
		return b.String()
	}
	b.WriteString("lguest bus devices (3.x Guest)\n\n")
	for _, d := range bus {
		fmt.Fprintf(&b, "%-8s type %d  entry 0x%08x  status 0x%02x  running %v\n", d.Name, d.Type, d.Addr, d.Status, d.Running)
		for i, q := range d.Queues {
			fmt.Fprintf(&b, "  queue %d: %d entries  irq %-2d  ring 0x%08x  avail %d  used %d  host last_avail %d\n",
				i, q.Num, q.IRQ, q.PFN<<12, q.AvailIdx, q.UsedIdx, q.LastAvail)
		}
	}
	return b.String()
}
