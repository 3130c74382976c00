package ui

import (
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/pci"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

func TestDeviceListing(t *testing.T) {
	bus := []virtio.DeviceInfo{{Name: "block", Type: 2, Addr: 0x2000000, Queues: []virtio.QueueInfo{{Num: 256, IRQ: 1, PFN: 0x2001, AvailIdx: 3, UsedIdx: 3, LastAvail: 3}}},
		{Name: "console", Type: 3, Addr: 0x2000025, Status: 7, Running: true, Queues: []virtio.QueueInfo{{Num: 256, IRQ: 2, PFN: 0x2004}, {Num: 256, IRQ: 3, PFN: 0x2007}}}}
	got := deviceListing(bus, nil, false)
	for _, want := range []string{"block    type 2  entry 0x02000000", "  queue 0: 256 entries  irq 1   ring 0x02001000  avail 3  used 3", "console  type 3  entry 0x02000025  status 0x07  running true", "  queue 1: 256 entries  irq 3   ring 0x02007000"} {
		if !strings.Contains(got, want) {
			t.Errorf("3.x listing lacks %q:\n%s", want, got)
		}
	}
	p := []pci.DeviceInfo{{Slot: 1, Name: "console", Vendor: 0x1af4, DeviceID: 0x1043, IRQ: 1, BAR0: 0x2100000, Size: 72, Status: 0xf, Running: true, Features: 1 << 32, Accepted: 1 << 32, Queues: 2}}
	got = deviceListing(bus, p, true)
	if !strings.Contains(got, "00:01.0  console  1af4:1043  irq 1   BAR0 0x02100000+72") || strings.Contains(got, "lguest bus") {
		t.Errorf("4.x listing:\n%s", got)
	}
}
