package pci

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

const (
	tRAM  = 1 << 20
	tMMIO = 0x200000 // mem + DEVICE_PAGES pages in the Launcher; any page here
)

type rig struct {
	con  *virtio.Console
	t    *testing.T
	b    *Bus
	m    *mem.Phys
	out  bytes.Buffer
	irqs []int
	warn []string
	regs Regs
}

// newRig: block (slot 1, IRQ 1), rng (slot 2, IRQ 2), console (slot 3,
// IRQ 3), in the Launcher's order: command-line devices, then the console.
func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t}
	b, err := NewBus(tMMIO)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddBlock(&memFile{data: make([]byte, 8192)}, 8192, false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddRNG(bytes.NewReader(bytes.Repeat([]byte{0x5a}, 1024))); err != nil {
		t.Fatal(err)
	}
	if r.con, err = b.AddConsole(func(p []byte) { r.out.Write(p) }); err != nil {
		t.Fatal(err)
	}
	r.m, err = mem.New(tRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Install(r.m, tRAM); err != nil {
		t.Fatal(err)
	}
	b.SetIRQ(func(i int) { r.irqs = append(r.irqs, i) })
	b.SetWarn(func(s string) { r.warn = append(r.warn, s) })
	r.b = b
	return r
}

type memFile struct{ data []byte }

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	return copy(p, f.data[min(off, int64(len(f.data))):]), nil
}
func (f *memFile) WriteAt(p []byte, off int64) (int, error) { return copy(f.data[off:], p), nil }
func (f *memFile) Sync() error                              { return nil }

// port runs one in/out through EmulateInsn, as the Host would on #GP.
func (r *rig) out32(port uint16, v uint32) Result {
	r.regs[0], r.regs[2] = v, uint32(port)
	return r.b.EmulateInsn([]byte{0xEF}, &r.regs, 1, 0x1000) // out %eax,(%dx)
}

func (r *rig) in(port uint16, size int) (uint32, Result) {
	r.regs[0], r.regs[2] = 0xDEADBEEF, uint32(port)
	insn := map[int][]byte{1: {0xEC}, 2: {0x66, 0xED}, 4: {0xED}}[size]
	res := r.b.EmulateInsn(insn, &r.regs, 1, 0x1000)
	mask := map[int]uint32{1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}[size]
	if got := r.regs[0] &^ mask; got != 0xDEADBEEF&^mask {
		r.t.Fatalf("in %d bytes clobbered the rest of eax: %#x", size, r.regs[0])
	}
	return r.regs[0] & mask, res
}

func cfgAddr(slot, off int) uint32 { return 1<<31 | uint32(slot)<<11 | uint32(off)&^3 }

func (r *rig) cfgRead(slot, off, size int) uint32 {
	r.t.Helper()
	r.out32(PortConfigAddr, cfgAddr(slot, off))
	v, res := r.in(uint16(PortConfigData+off%4), size)
	if res.Fatal != "" || res.InjectTrap != 0 {
		r.t.Fatalf("config read %d:%#x: %+v", slot, off, res)
	}
	return v
}

func (r *rig) cfgWrite(slot, off int, v uint32) Result {
	r.out32(PortConfigAddr, cfgAddr(slot, off))
	return r.out32(PortConfigData, v)
}

func TestConfigSpace(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		slot, off, size int
		want            uint32
	}{
		{0, 0x0A, 2, 0x0600}, // host bridge: class 6 subclass 0
		{1, 0x00, 4, 0x1042_1AF4},
		{2, 0x02, 2, 0x1044},
		{3, 0x02, 2, 0x1043},
		{3, 0x08, 1, 1},                                   // revision
		{3, 0x06, 2, statusCapList},                       // capability list
		{3, 0x2E, 2, 0x40},                                // subsystem device
		{3, 0x0B, 1, 0x07},                                // class
		{1, 0x0A, 2, 0x0180},                              // block: class 1, subclass 0x80
		{3, 0x34, 1, 0x40},                                // capability pointer
		{1, 0x3C, 1, 1}, {2, 0x3C, 1, 2}, {3, 0x3C, 1, 3}, // IRQ lines from 1
		{3, 0x3D, 1, 1},     // pin
		{1, 0x10, 4, tMMIO}, // BARs in creation order, power-of-two sizes
		{2, 0x10, 4, tMMIO + 128},
		{3, 0x10, 4, tMMIO + 128 + 64},
		{3, 0x52, 1, 0x14}, // notify cap length 20
		{9, 0x00, 4, 0xFFFFFFFF},
	} {
		if got := r.cfgRead(tc.slot, tc.off, tc.size); got != tc.want {
			t.Errorf("slot %d offset %#x (%d bytes) = %#x, want %#x", tc.slot, tc.off, tc.size, got, tc.want)
		}
	}
	// Capability chains: console and block have device config, rng not.
	for slot, want := range map[int][]uint32{1: {1, 2, 3, 4, 5}, 2: {1, 2, 3, 5}, 3: {1, 2, 3, 4, 5}} {
		var types []uint32
		for p := r.cfgRead(slot, 0x34, 1); p != 0; p = r.cfgRead(slot, int(p)+1, 1) {
			if r.cfgRead(slot, int(p), 1) != vndrCapability {
				t.Fatalf("slot %d cap at %#x is not vendor-specific", slot, p)
			}
			types = append(types, r.cfgRead(slot, int(p)+3, 1))
		}
		if !slices.Equal(types, want) {
			t.Errorf("slot %d capability types %v, want %v", slot, types, want)
		}
	}
	// The device config capability of the console: offset 60, length 12.
	if off, l := r.cfgRead(3, capDevice+8, 4), r.cfgRead(3, capDevice+12, 4); off != 60 || l != 12 {
		t.Errorf("console device cap offset %d len %d", off, l)
	}
	// BAR sizing: all ones in, the size mask out.
	for slot, want := range map[int]uint32{1: 0xFFFFFF80, 2: 0xFFFFFFC0, 3: 0xFFFFFF80} {
		if res := r.cfgWrite(slot, 0x10, 0xFFFFFFFF); res.Len != 1 {
			t.Fatalf("BAR write: %+v", res)
		}
		if got := r.cfgRead(slot, 0x10, 4); got != want {
			t.Errorf("slot %d BAR0 after sizing %#x, want %#x", slot, got, want)
		}
	}
	// Disabled address, another bus, another function: nothing there.
	for _, a := range []uint32{cfgAddr(1, 0) &^ (1 << 31), cfgAddr(1, 0) | 1<<16, cfgAddr(1, 0) | 1<<8} {
		r.out32(PortConfigAddr, a)
		if v, _ := r.in(PortConfigData, 4); v != 0xFFFFFFFF {
			t.Errorf("address %#x reads %#x", a, v)
		}
	}
	// The address port reads back.
	r.out32(PortConfigAddr, 0x80001808)
	if v, _ := r.in(PortConfigAddr, 4); v != 0x80001808 {
		t.Errorf("0xCF8 reads %#x", v)
	}
}

func TestPortEmulation(t *testing.T) {
	r := newRig(t)
	if v, res := r.in(PortKbdStatus, 1); v != 1 || res.Len != 1 {
		t.Errorf("port 0x64: %#x %+v", v, res)
	}
	if v, _ := r.in(0x71, 2); v != 0xFFFF {
		t.Errorf("port 0x71: %#x", v)
	}
	for _, tc := range []struct {
		name string
		insn []byte
		cpl  int
		want Result
	}{
		{"cli", []byte{0xFA, 0x90}, 1, Result{Len: 1}},
		{"in al, imm8", []byte{0xE4, 0x64}, 1, Result{Len: 2}},
		{"out imm8, eax", []byte{0xE7, 0x80}, 1, Result{Len: 2}},
		{"16-bit out dx", []byte{0x66, 0xEF}, 1, Result{Len: 2}},
		{"user mode", []byte{0xEC}, 3, Result{InjectTrap: 13}},
		{"not port I/O", []byte{0x0F, 0x0B}, 1, Result{InjectTrap: 13}},
		{"truncated", []byte{0x66}, 1, Result{InjectTrap: 13}},
	} {
		regs := Regs{2: 0x80}
		if got := r.b.EmulateInsn(tc.insn, &regs, tc.cpl, 0); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// A read-only config register: the Launcher warns and reflects #GP.
	res := r.cfgWrite(1, 0x00, 0x12345678)
	if res.InjectTrap != 13 || !strings.Contains(res.Warning, "Attempt to write to port 3324") {
		t.Errorf("write to the vendor ID: %+v", res)
	}
	if r.cfgRead(1, 0, 2) != vendorVirtio {
		t.Error("vendor ID changed")
	}
}

func TestDecodeMMIO(t *testing.T) {
	for _, tc := range []struct {
		insn []byte
		want MMIOAccess
		ok   bool
	}{
		{[]byte{0x89, 0x02}, MMIOAccess{Write: true, Mask: 0xFFFFFFFF, Reg: 0, Len: 2}, true},               // mov %eax,(%edx)
		{[]byte{0x8b, 0x4a, 0x14}, MMIOAccess{Mask: 0xFFFFFFFF, Reg: 1, Len: 3}, true},                      // mov 0x14(%edx),%ecx
		{[]byte{0x66, 0x89, 0x9a, 1, 0, 0, 0}, MMIOAccess{Write: true, Mask: 0xFFFF, Reg: 3, Len: 7}, true}, // movw %bx,disp32(%edx)
		{[]byte{0x88, 0x10}, MMIOAccess{Write: true, Mask: 0xFF, Reg: 2, Len: 2}, true},                     // mov %dl,(%eax)
		{[]byte{0x8a, 0x05, 0, 0}, MMIOAccess{Mask: 0xFF, Reg: 0, Len: 4}, true},                            // the Launcher's 2-byte disp32 quirk
		{[]byte{0x8b, 0xc0}, MMIOAccess{Mask: 0xFFFFFFFF, Reg: 0, Len: 2}, true},                            // register form: no displacement
		{[]byte{0x66, 0x88, 0x10}, MMIOAccess{}, false},                                                     // the Launcher tests insn[0] for 8-bit forms
		{[]byte{0xc7, 0x02, 0, 0, 0, 0}, MMIOAccess{}, false},                                               // movl $imm: not emulated
		{[]byte{0x89}, MMIOAccess{}, false},
	} {
		got, ok := DecodeMMIO(tc.insn)
		if ok != tc.ok || got != tc.want {
			t.Errorf("% x: %+v %v, want %+v %v", tc.insn, got, ok, tc.want, tc.ok)
		}
	}
}

// mmio does one store or load at BAR0+off of slot's device with the
// natural instruction for size.
func (r *rig) mmio(slot int, off uint32, size int, write bool, v uint32) (uint32, Result) {
	base := uint32(tMMIO + map[int]uint32{1: 0, 2: 128, 3: 192}[slot])
	var insn []byte
	switch {
	case size == 1 && write:
		insn = []byte{0x88, 0x02}
	case size == 1:
		insn = []byte{0x8a, 0x02}
	case size == 2 && write:
		insn = []byte{0x66, 0x89, 0x02}
	case size == 2:
		insn = []byte{0x66, 0x8b, 0x02}
	case write:
		insn = []byte{0x89, 0x02}
	default:
		insn = []byte{0x8b, 0x02}
	}
	r.regs[0] = v
	res := r.b.EmulateMMIO(base+off, insn, &r.regs, 0x1000)
	return r.regs[0] & map[int]uint32{1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}[size], res
}

func (r *rig) must(slot int, off uint32, size int, write bool, v uint32) uint32 {
	r.t.Helper()
	got, res := r.mmio(slot, off, size, write, v)
	if res.Fatal != "" || res.InjectTrap != 0 {
		r.t.Fatalf("mmio slot %d off %d: %+v", slot, off, res)
	}
	return got
}

// Guest ring memory for the console's two queues.
const (
	rxDesc, rxAvail, rxUsed = 0x10000, 0x11000, 0x12000
	txDesc, txAvail, txUsed = 0x20000, 0x21000, 0x22000
	txBuf                   = 0x30000
)

// probe plays virtio_pci_modern's probe + find_vqs on the console, queues
// of 16 entries, up to DRIVER_OK.
func (r *rig) probeConsole() {
	r.t.Helper()
	r.probe(3, 1<<2, [][3]uint32{{rxDesc, rxAvail, rxUsed}, {txDesc, txAvail, txUsed}})
}

func (r *rig) probe(c int, lowFeatures uint32, queues [][3]uint32) {
	r.t.Helper()
	r.must(c, mDeviceStatus, 1, true, StatusAcknowledge)
	r.must(c, mDeviceStatus, 1, true, StatusAcknowledge|StatusDriver)
	r.must(c, mDeviceFeatureSelect, 4, true, 1)
	if f := r.must(c, mDeviceFeature, 4, false, 0); f != 1 {
		r.t.Fatalf("device features high word %#x, want VERSION_1", f)
	}
	r.must(c, mDeviceFeatureSelect, 4, true, 0)
	if f := r.must(c, mDeviceFeature, 4, false, 0); f != lowFeatures {
		r.t.Fatalf("device features low word %#x, want %#x", f, lowFeatures)
	}
	r.must(c, mGuestFeatureSelect, 4, true, 1)
	r.must(c, mGuestFeature, 4, true, 1)
	r.must(c, mDeviceStatus, 1, true, StatusAcknowledge|StatusDriver|StatusFeaturesOK)
	if st := r.must(c, mDeviceStatus, 1, false, 0); st != 0xb {
		r.t.Fatalf("status %#x", st)
	}
	for qi, a := range queues {
		r.must(c, mQueueSelect, 2, true, uint32(qi))
		if n := r.must(c, mQueueSize, 2, false, 0); n != 256 {
			r.t.Fatalf("queue %d size %d", qi, n)
		}
		r.must(c, mQueueSize, 2, true, 16)
		r.must(c, mQueueDescLo, 4, true, a[0])
		r.must(c, mQueueAvailLo, 4, true, a[1])
		r.must(c, mQueueUsedLo, 4, true, a[2])
		r.must(c, mQueueEnable, 2, true, 1)
	}
	r.must(c, mDeviceStatus, 1, true, 0xf)
}

func TestConsoleOverMMIO(t *testing.T) {
	r := newRig(t)
	r.probeConsole()
	// One transmit buffer, then notify queue 1.
	r.m.WriteBytes(txBuf, []byte("hi over PCI\n"))
	var d [16]byte
	binary.LittleEndian.PutUint64(d[0:], txBuf)
	binary.LittleEndian.PutUint32(d[8:], 12)
	r.m.WriteBytes(txDesc, d[:])
	r.m.Write16(txAvail+4, 0) // ring[0] = head 0
	r.m.Write16(txAvail+2, 1) // idx 1
	r.must(3, mNotify, 2, true, 1)
	if r.out.String() != "hi over PCI\n" {
		t.Fatalf("console out %q", r.out.String())
	}
	if idx, _ := r.m.Read16(txUsed + 2); idx != 1 {
		t.Fatalf("used idx %d", idx)
	}
	if !slices.Equal(r.irqs, []int{3}) {
		t.Fatalf("irqs %v, want the console's line 3", r.irqs)
	}
	if isr := r.must(3, mISR, 1, false, 0); isr != 1 {
		t.Fatalf("ISR %d, want 1", isr)
	}
	if isr := r.must(3, mISR, 1, false, 0); isr != 0 {
		t.Fatalf("ISR %d after read, want 0", isr)
	}
	// Queue registers are per queue: select 0 again shows queue 0's.
	r.must(3, mQueueSelect, 2, true, 0)
	if a := r.must(3, mQueueDescLo, 4, false, 0); a != rxDesc {
		t.Fatalf("queue 0 desc %#x", a)
	}
	// Reset: status 0, queues back to 256 entries and disabled.
	r.must(3, mDeviceStatus, 1, true, 0)
	r.must(3, mDeviceStatus, 1, true, StatusAcknowledge)
	r.must(3, mDeviceStatus, 1, true, StatusAcknowledge|StatusDriver)
	r.must(3, mQueueSelect, 2, true, 1)
	if n, e := r.must(3, mQueueSize, 2, false, 0), r.must(3, mQueueEnable, 2, false, 0); n != 256 || e != 0 {
		t.Fatalf("after reset: size %d enable %d", n, e)
	}
}

// The early console: emerg_wr through the PCI configuration access window
// (probe_pci_console and early_put_chars, 4.x spec §4), one byte per write.
func TestEmergWrThroughConfigWindow(t *testing.T) {
	r := newRig(t)
	r.cfgWrite(3, cfgAccessBAR, 0)
	r.cfgWrite(3, cfgAccessLen, 4)
	r.cfgWrite(3, cfgAccessOff, mDeviceConfig+8)
	for _, c := range []byte("early\n") {
		if res := r.cfgWrite(3, cfgAccessData, uint32(c)); res.Fatal != "" || res.InjectTrap != 0 {
			t.Fatalf("window write: %+v", res)
		}
	}
	if r.out.String() != "early\n" {
		t.Fatalf("emerg_wr gave %q", r.out.String())
	}
	// An invalid window (length 3) is not writable: #GP.
	r.cfgWrite(3, cfgAccessLen, 3)
	if res := r.cfgWrite(3, cfgAccessData, 'x'); res.InjectTrap != 13 {
		t.Fatalf("invalid window write: %+v", res)
	}
	// Reading through it is a bad driver.
	r.out32(PortConfigAddr, cfgAddr(3, cfgAccessData))
	if _, res := r.in(PortConfigData, 4); res.Fatal != "console: bad driver: Invalid cfg_access to bar0, offset 68 len 3" {
		t.Fatalf("invalid window read: %+v", res)
	}
}

func TestMMIOOutsideDevices(t *testing.T) {
	r := newRig(t)
	res := r.b.EmulateMMIO(tMMIO+0x1000, []byte{0x8b, 0x02}, &r.regs, 0)
	if res.InjectTrap != 14 || res.Warning != "MMIO touching 0x201000 (not a device)" {
		t.Fatalf("%+v", res)
	}
	res = r.b.EmulateMMIO(tMMIO, []byte{0xc7, 0x02, 1, 0, 0, 0}, &r.regs, 7)
	if res.InjectTrap != 14 || !strings.HasPrefix(res.Warning, "Unknown MMIO instruction touching 0x200000: c7 02 01 00 at 7") {
		t.Fatalf("%+v", res)
	}
}

// Hostile drivers: each sequence ends in the Launcher's bad_driver.
func TestHostileDrivers(t *testing.T) {
	type op struct {
		off   uint32
		size  int
		write bool
		v     uint32
	}
	ack := []op{{mDeviceStatus, 1, true, 1}, {mDeviceStatus, 1, true, 3}}
	feat := append(slices.Clone(ack), op{mGuestFeatureSelect, 4, true, 1}, op{mGuestFeature, 4, true, 1}, op{mDeviceStatus, 1, true, 0xb}, op{mDeviceStatus, 1, false, 0})
	queue := func(desc, avail, used uint32) []op {
		return append(slices.Clone(feat), op{mQueueSelect, 2, true, 0}, op{mQueueSize, 2, true, 16},
			op{mQueueDescLo, 4, true, desc}, op{mQueueAvailLo, 4, true, avail}, op{mQueueUsedLo, 4, true, used}, op{mQueueEnable, 2, true, 1})
	}
	for _, tc := range []struct {
		name string
		ops  []op
		want string
	}{
		{"write to isr", []op{{mISR, 1, true, 1}}, "console: bad driver: Unexpected write to isr"},
		{"clear a status bit", append(slices.Clone(ack), op{mDeviceStatus, 1, true, 1}), "console: bad driver: unset of device status bit 0x3 -> 0x1"},
		{"skip ACKNOWLEDGE", []op{{mDeviceStatus, 1, true, StatusDriver}}, "console: bad driver: unexpected status transition 0x0 -> 0x2"},
		{"feature before DRIVER", []op{{mDeviceFeature, 4, false, 0}}, "console: bad driver: feature read before VIRTIO_CONFIG_S_DRIVER"},
		{"over-accept", append(slices.Clone(ack), op{mGuestFeatureSelect, 4, true, 0}, op{mGuestFeature, 4, true, 1 << 5}), "console: bad driver: over-accepted features 0x20 of 0x100000004"},
		{"16-bit feature write", append(slices.Clone(ack), op{mGuestFeatureSelect, 2, true, 0}), "console: bad driver: non-32-bit write to offset 8 (0x1000)"},
		{"DRIVER_OK without re-reading", append(slices.Clone(ack), op{mDeviceStatus, 1, true, 0xb}, op{mDeviceStatus, 1, true, 0xf}), "console: bad driver: did not re-read FEATURES_OK"},
		{"queue before FEATURES_OK", append(slices.Clone(ack), op{mQueueDescLo, 4, true, rxDesc}), "console: bad driver: setting up vq before FEATURES_OK"},
		{"queue size not a power of two", append(slices.Clone(feat), op{mQueueSize, 2, true, 12}), "console: bad driver: invalid queue size 12"},
		{"misaligned ring", queue(rxDesc+8, rxAvail, rxUsed), "console vq 0: bad driver: invalid alignment in queue addresses"},
		{"ring beyond guest memory", queue(tRAM-16*8, rxAvail, rxUsed), fmt.Sprintf("console vq 0: bad driver: Invalid address %#x", tRAM-16*8)},
		{"notify an absent queue", append(queue(rxDesc, rxAvail, rxUsed), op{mNotify, 2, true, 7}), "console: bad driver: Invalid vq notification on 7"},
		{"MSI-X vector", []op{{mQueueMSIXVector, 2, true, 1}}, "console: bad driver: attempt to set MSIX vector to 1"},
		{"msix_config read", []op{{mMSIXConfig, 2, false, 0}}, "console: bad driver: read of msix_config"},
		{"config read before DRIVER", []op{{mDeviceConfig, 4, false, 0}}, "console: bad driver: config read before VIRTIO_CONFIG_S_DRIVER"},
		{"read past the end", append(slices.Clone(ack), op{mDeviceConfig + 10, 2, false, 0}), "console: bad driver: read past end (0x1000)"},
		{"write to device config", []op{{mDeviceConfig, 4, true, 1}}, "console: bad driver: Unexpected write to offset 60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			var got string
			for _, o := range tc.ops {
				_, res := r.mmio(3, o.off, o.size, o.write, o.v)
				if res.Fatal != "" {
					got = res.Fatal
					break
				}
			}
			if got != tc.want {
				t.Fatalf("fatal %q, want %q", got, tc.want)
			}
		})
	}
}

// A hostile ring on a virtio-PCI queue is killed by the shared ring code
// with the Launcher's message.
func TestHostileRingOverPCI(t *testing.T) {
	r := newRig(t)
	r.probeConsole()
	r.m.Write16(txAvail+4, 99) // head 99 of a 16-entry ring
	r.m.Write16(txAvail+2, 1)
	if _, res := r.mmio(3, mNotify, 2, true, 1); res.Fatal != "Guest says index 99 is available" {
		t.Fatalf("%+v", res)
	}

}

func TestCHex08(t *testing.T) {
	for v, want := range map[uint32]string{0: "00000000", 0x1f: "0x00001f", 0x200000: "0x200000", 0x12345678: "0x12345678"} {
		if got := cHex08(v); got != want {
			t.Errorf("cHex08(%#x) = %q, want %q", v, got, want)
		}
	}
}

// The 4.x block request parsing (virtio 1.0): header and data in one
// readable buffer, data and status in one writable buffer.
func TestBlockOverPCI(t *testing.T) {
	r := newRig(t)
	r.probe(1, 1<<2|1<<9, [][3]uint32{{txDesc, txAvail, txUsed}})
	// Write: one readable buffer = header (type OUT, sector 1) + 512 bytes.
	buf := make([]byte, 16+512)
	binary.LittleEndian.PutUint32(buf[0:], virtio.BlkTOut)
	binary.LittleEndian.PutUint64(buf[8:], 1)
	for i := range 512 {
		buf[16+i] = byte(i * 3)
	}
	r.m.WriteBytes(txBuf, buf)
	desc := func(i int, addr uint64, n uint32, flags, next uint16) {
		var d [16]byte
		binary.LittleEndian.PutUint64(d[0:], addr)
		binary.LittleEndian.PutUint32(d[8:], n)
		binary.LittleEndian.PutUint16(d[12:], flags)
		binary.LittleEndian.PutUint16(d[14:], next)
		r.m.WriteBytes(txDesc+uint32(16*i), d[:])
	}
	desc(0, txBuf, 16+512, virtio.DescFNext, 1)
	desc(1, txBuf+0x1000, 1, virtio.DescFWrite, 0)
	r.m.Write16(txAvail+4, 0)
	r.m.Write16(txAvail+2, 1)
	r.must(1, mNotify, 2, true, 0)
	if st, _ := r.m.Read8(txBuf + 0x1000); st != virtio.BlkSOK {
		t.Fatalf("write status %d", st)
	}
	// Read it back: header alone, then data+status in one 513-byte buffer.
	binary.LittleEndian.PutUint32(buf[0:], virtio.BlkTIn)
	r.m.WriteBytes(txBuf+0x2000, buf[:16])
	desc(2, txBuf+0x2000, 16, virtio.DescFNext, 3)
	desc(3, txBuf+0x3000, 513, virtio.DescFWrite, 0)
	r.m.Write16(txAvail+6, 2)
	r.m.Write16(txAvail+2, 2)
	r.must(1, mNotify, 2, true, 0)
	got := make([]byte, 513)
	r.m.ReadBytes(txBuf+0x3000, got)
	if !bytes.Equal(got[:512], buf[16:]) || got[512] != virtio.BlkSOK {
		t.Fatalf("read back differs (status %d)", got[512])
	}
	if n, _ := r.m.Read32(txUsed + 4 + 8 + 4); n != 513 {
		t.Fatalf("used len %d, want 513", n)
	}
	if !slices.Equal(r.irqs, []int{1, 1}) {
		t.Fatalf("irqs %v", r.irqs)
	}
	// A request whose readable part is shorter than the header.
	desc(4, txBuf, 8, virtio.DescFNext, 5)
	desc(5, txBuf+0x1000, 1, virtio.DescFWrite, 0)
	r.m.Write16(txAvail+8, 4)
	r.m.Write16(txAvail+2, 3)
	if _, res := r.mmio(1, mNotify, 2, true, 0); res.Fatal != "block: bad driver: iovec too short!" {
		t.Fatalf("%+v", res)
	}
}

// The entropy device over PCI: one writable buffer filled from the source.
func TestRNGOverPCI(t *testing.T) {
	r := newRig(t)
	r.probe(2, 0, [][3]uint32{{rxDesc, rxAvail, rxUsed}})
	var d [16]byte
	binary.LittleEndian.PutUint64(d[0:], txBuf)
	binary.LittleEndian.PutUint32(d[8:], 24)
	binary.LittleEndian.PutUint16(d[12:], virtio.DescFWrite)
	r.m.WriteBytes(rxDesc, d[:])
	r.m.Write16(rxAvail+4, 0)
	r.m.Write16(rxAvail+2, 1)
	r.must(2, mNotify, 2, true, 0)
	got := make([]byte, 25)
	r.m.ReadBytes(txBuf, got)
	if !bytes.Equal(got[:24], bytes.Repeat([]byte{0x5a}, 24)) || got[24] != 0 {
		t.Fatalf("rng buffer % x", got)
	}
	if n, _ := r.m.Read32(rxUsed + 8); n != 24 || !slices.Equal(r.irqs, []int{2}) {
		t.Fatalf("used len %d irqs %v", n, r.irqs)
	}
}

// A notification before DRIVER_OK waits for the device to start, as the
// Launcher's eventfd count waits for its service thread.
func TestNotifyBeforeDriverOK(t *testing.T) {
	r := newRig(t)
	const c = 2
	for _, o := range []struct {
		off  uint32
		size int
		v    uint32
	}{{mDeviceStatus, 1, 1}, {mDeviceStatus, 1, 3}, {mGuestFeatureSelect, 4, 1}, {mGuestFeature, 4, 1}, {mDeviceStatus, 1, 0xb}} {
		r.must(c, o.off, o.size, true, o.v)
	}
	r.must(c, mDeviceStatus, 1, false, 0)
	r.must(c, mQueueSelect, 2, true, 0)
	r.must(c, mQueueSize, 2, true, 16)
	r.must(c, mQueueDescLo, 4, true, rxDesc)
	r.must(c, mQueueAvailLo, 4, true, rxAvail)
	r.must(c, mQueueUsedLo, 4, true, rxUsed)
	r.must(c, mQueueEnable, 2, true, 1)
	var d [16]byte
	binary.LittleEndian.PutUint64(d[0:], txBuf)
	binary.LittleEndian.PutUint32(d[8:], 8)
	binary.LittleEndian.PutUint16(d[12:], virtio.DescFWrite)
	r.m.WriteBytes(rxDesc, d[:])
	r.m.Write16(rxAvail+2, 1)
	r.must(c, mNotify, 2, true, 0)
	if idx, _ := r.m.Read16(rxUsed + 2); idx != 0 {
		t.Fatal("serviced before DRIVER_OK")
	}
	r.must(c, mDeviceStatus, 1, true, 0xf)
	if idx, _ := r.m.Read16(rxUsed + 2); idx != 1 {
		t.Fatal("the early notification was lost at DRIVER_OK")
	}
}

// Console input over PCI: Poll fills a posted receive buffer and raises the
// console's line with ISR bit 0 (the Guest's keyboard in a 4.x boot).
func TestConsoleInputOverPCI(t *testing.T) {
	r := newRig(t)
	r.probeConsole()
	var d [16]byte
	binary.LittleEndian.PutUint64(d[0:], txBuf)
	binary.LittleEndian.PutUint32(d[8:], 8)
	binary.LittleEndian.PutUint16(d[12:], virtio.DescFWrite)
	r.m.WriteBytes(rxDesc, d[:])
	r.m.Write16(rxAvail+4, 0)
	r.m.Write16(rxAvail+2, 1)
	r.must(3, mNotify, 2, true, 0)
	if r.con.TryInput([]byte("ls\n")) != 3 {
		t.Fatal("input refused")
	}
	if err := r.b.Poll(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	r.m.ReadBytes(txBuf, got)
	if string(got) != "ls\n" || !slices.Equal(r.irqs, []int{3}) {
		t.Fatalf("received %q, irqs %v", got, r.irqs)
	}
	if n, _ := r.m.Read32(rxUsed + 8); n != 3 {
		t.Fatalf("used len %d", n)
	}
	if isr := r.must(3, mISR, 1, false, 0); isr != 1 {
		t.Fatalf("ISR %d", isr)
	}
}

// TestRestoreState: a bus saved before the Guest probed it and again with
// the console running comes back to each: after a reset and a restore the
// console transmits through the same ring at the next used index, and the
// bus saved before the probe refuses the same feature read a fresh bus
// does.
func TestRestoreState(t *testing.T) {
	r := newRig(t)
	fresh, freshMem := r.b.SaveState(), r.m.Capture(nil)
	r.probeConsole()
	var d [16]byte
	binary.LittleEndian.PutUint64(d[0:], txBuf)
	binary.LittleEndian.PutUint32(d[8:], 3)
	r.m.WriteBytes(txDesc, d[:])
	r.m.WriteBytes(txBuf, []byte("ab\n"))
	r.must(3, mQueueSelect, 2, true, 1) // the selected queue is in BAR0
	running, runningMem := r.b.SaveState(), r.m.Capture(freshMem)
	transmit := func(idx uint16) {
		t.Helper()
		r.m.Write16(txAvail+4+2*uint32(idx-1), 0)
		r.m.Write16(txAvail+2, idx)
		r.must(3, mNotify, 2, true, 1)
		if got, _ := r.m.Read16(txUsed + 2); got != idx {
			t.Fatalf("used idx %d, want %d", got, idx)
		}
	}
	transmit(1)
	transmit(2)
	r.must(3, mDeviceStatus, 1, true, 0) // reset: queues gone
	r.b.RestoreState(running)
	r.m.Restore(runningMem)
	r.out.Reset()
	if a := r.must(3, mQueueDescLo, 4, false, 0); a != txDesc {
		t.Fatalf("restored queue select shows desc %#x, want queue 1's %#x", a, txDesc)
	}
	transmit(1)
	if r.out.String() != "ab\n" {
		t.Fatalf("after restore the console sent %q", r.out.String())
	}
	r.b.RestoreState(fresh)
	r.m.Restore(freshMem)
	if st := r.must(3, mDeviceStatus, 1, false, 0); st != 0 {
		t.Fatalf("restored fresh bus: status %#x", st)
	}
	if _, res := r.mmio(3, mDeviceFeature, 4, false, 0); !strings.Contains(res.Fatal, "feature read before VIRTIO_CONFIG_S_DRIVER") {
		t.Fatalf("restored fresh bus answered a feature read: %+v", res)
	}
}
