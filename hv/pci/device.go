package pci

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/virtio"
)

// Device is one virtio-PCI function: its configuration space, its BAR0
// bytes (the Launcher's struct virtio_pci_mmio plus device config) and its
// queues.
type Device struct {
	name     string
	typ      uint8
	slot     int
	irq      int
	cfg      [configSize]byte
	mmio     []byte // BAR0 contents, mmioSize bytes
	mmioAddr uint32
	mmioSize uint32 // the Launcher's mmio_size (not rounded)
	features uint64
	accepted uint64
	queues   []*queue
	impl     virtio.Handler
	bus      *Bus
	running  bool
	// wroteFeaturesOK: FEATURES_OK was written and device_status not yet
	// read back (the Launcher's wrote_features_ok).
	wroteFeaturesOK bool
	console         bool // emerg_wr goes to the console output
}

// queue is one virtqueue: its saved common-config registers (the
// Launcher's vq->pci_config, offsets mQueueFirst..mQueueEnd) and, once
// enabled, its ring.
type queue struct {
	num     uint16
	saved   [mQueueEnd - mQueueFirst]byte
	q       *virtio.Queue
	pending bool // notified before DRIVER_OK: the eventfd count waits for the service thread
}

func (d *Device) initQueueRegs(vq *queue) {
	clear(vq.saved[:])
	put16(vq.saved[:], mQueueSize-mQueueFirst, vq.num)
	vq.q = nil
	vq.pending = false
}

// bad is bad_driver: "%s: bad driver: ...".
func (d *Device) bad(format string, args ...any) error {
	return fmt.Errorf("%s: bad driver: "+format, append([]any{d.name}, args...)...)
}

// badVQ is bad_driver_vq.
func (d *Device) badVQ(qi int, format string, args ...any) error {
	return fmt.Errorf("%s vq %d: bad driver: "+format, append([]any{d.name, qi}, args...)...)
}

func (d *Device) vq(n uint32) *queue {
	if n < uint32(len(d.queues)) {
		return d.queues[n]
	}
	return nil
}

// Queue, Trigger, Warn and SignalInput make the device its handler's
// virtio.Transport.
func (d *Device) Queue(i int) *virtio.Queue {
	if i < 0 || i >= len(d.queues) || !d.running {
		return nil
	}
	return d.queues[i].q
}

// Trigger is the 4.x trigger_irq: ISR bit 0 and the device's line.
func (d *Device) Trigger(i int) {
	q := d.queues[i].q
	if q == nil || !q.Trigger() {
		return
	}
	d.mmio[mISR] |= 1
	if d.bus.raise != nil {
		d.bus.raise(d.irq)
	}
}

func (d *Device) Warn(msg string) { d.bus.warn(msg) }
func (d *Device) SignalInput()    { d.bus.signalInput() }

// reset is the 4.x reset_device.
func (d *Device) reset() {
	d.accepted = 0
	d.running = false
	d.wroteFeaturesOK = false
	for _, vq := range d.queues {
		d.initQueueRegs(vq)
	}
	clear(d.mmio[:mDeviceConfig])
	put16(d.mmio, mNumQueues, uint16(len(d.queues)))
	d.restoreQueue(0)
	d.impl.Reset()
}

func (d *Device) saveQueue(n uint32) {
	if vq := d.vq(n); vq != nil {
		copy(vq.saved[:], d.mmio[mQueueFirst:mQueueEnd])
	}
}

func (d *Device) restoreQueue(n uint32) {
	if vq := d.vq(n); vq != nil {
		copy(d.mmio[mQueueFirst:mQueueEnd], vq.saved[:])
	}
}

// start is start_device: the service "threads" run from now; notifications
// that arrived before are serviced.
func (d *Device) start() error {
	d.running = true
	for i, vq := range d.queues {
		if vq.pending && vq.q != nil {
			vq.pending = false
			if err := d.impl.Kick(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// mmioWrite is the 4.x Launcher's emulate_mmio_write.
func (d *Device) mmioWrite(off, val, mask uint32) error {
	status := d.mmio[mDeviceStatus]
	switch off {
	case mDeviceFeatureSelect:
		switch val {
		case 0:
			put32(d.mmio, mDeviceFeature, uint32(d.features))
		case 1:
			put32(d.mmio, mDeviceFeature, uint32(d.features>>32))
		default:
			put32(d.mmio, mDeviceFeature, 0)
		}
		return d.featureWrite(off, val, mask)
	case mGuestFeatureSelect:
		if val > 1 {
			return d.bad("Unexpected driver select %d", val)
		}
		return d.featureWrite(off, val, mask)
	case mGuestFeature:
		if get32(d.mmio, mGuestFeatureSelect) == 0 {
			d.accepted = d.accepted&^0xFFFFFFFF | uint64(val)
		} else {
			d.accepted = d.accepted&0xFFFFFFFF | uint64(val)<<32
		}
		// 2.2.1: "The driver MUST NOT accept a feature which the device
		// did not offer."
		if d.accepted&^d.features != 0 {
			return d.bad("over-accepted features %#x of %#x", d.accepted, d.features)
		}
		return d.featureWrite(off, val, mask)
	case mDeviceStatus:
		if val == 0 {
			d.reset()
			return d.through(off, val, mask, 0xFF)
		}
		if uint32(status)&^val != 0 {
			return d.bad("unset of device status bit %#x -> %#x", status, val)
		}
		if val&StatusDriverOK != 0 && status&StatusDriverOK == 0 {
			if err := d.start(); err != nil {
				return err
			}
		}
		var prev uint8
		switch uint8(val) &^ status {
		case StatusDriverOK:
			prev |= StatusFeaturesOK
			fallthrough
		case StatusFeaturesOK:
			prev |= StatusDriver
			fallthrough
		case StatusDriver:
			prev |= StatusAcknowledge
		case StatusAcknowledge:
		case StatusFailed:
			prev = status
		default:
			return d.bad("unknown device status bit %#x -> %#x", status, val)
		}
		if status != prev {
			return d.bad("unexpected status transition %#x -> %#x", status, val)
		}
		switch uint8(val) &^ status {
		case StatusFeaturesOK:
			d.wroteFeaturesOK = true
		case StatusDriverOK:
			if d.wroteFeaturesOK {
				return d.bad("did not re-read FEATURES_OK")
			}
		}
		return d.through(off, val, mask, 0xFF)
	case mQueueSelect:
		vq := d.vq(val)
		if vq == nil {
			put16(d.mmio, mQueueSize, 0)
			return d.through(off, val, mask, 0xFFFF)
		}
		if get16(d.mmio, mQueueSize) != 0 {
			d.saveQueue(uint32(get16(d.mmio, mQueueSelect)))
		}
		d.restoreQueue(val)
		return d.through(off, val, mask, 0xFFFF)
	case mQueueSize:
		if val&(val-1) != 0 {
			return d.bad("invalid queue size %d", val)
		}
		if get16(d.mmio, mQueueEnable) != 0 {
			return d.bad("changing queue size on live device")
		}
		return d.through(off, val, mask, 0xFFFF)
	case mQueueMSIXVector:
		return d.bad("attempt to set MSIX vector to %d", val)
	case mQueueEnable:
		sel := uint32(get16(d.mmio, mQueueSelect))
		vq := d.vq(sel)
		if val != 1 {
			return d.bad("setting queue_enable to %d", val)
		}
		if status&StatusDriverOK != 0 {
			return d.bad("enabling vq after DRIVER_OK")
		}
		if vq == nil {
			// The Launcher dereferences a NULL vq here; we refuse.
			return d.bad("enabling vq %d, which does not exist", sel)
		}
		if err := d.through(off, val, mask, 0xFFFF); err != nil {
			return err
		}
		d.saveQueue(sel)
		return d.checkQueue(int(sel), vq)
	case mQueueNotifyOff:
		return d.bad("attempt to write to queue_notify_off")
	case mQueueDescLo, mQueueDescHi, mQueueAvailLo, mQueueAvailHi, mQueueUsedLo, mQueueUsedHi:
		if get16(d.mmio, mQueueEnable) != 0 {
			return d.bad("changing queue on live device")
		}
		if status&StatusFeaturesOK == 0 {
			return d.bad("setting up vq before FEATURES_OK")
		}
		if d.wroteFeaturesOK {
			return d.bad("didn't re-read FEATURES_OK before setup")
		}
		return d.through(off, val, mask, 0xFFFFFFFF)
	case mNotify:
		vq := d.vq(val)
		if vq == nil {
			return d.bad("Invalid vq notification on %d", val)
		}
		if err := d.through(off, val, mask, 0xFFFF); err != nil {
			return err
		}
		// The eventfd write: serviced now if the device runs, else when
		// DRIVER_OK starts its thread.
		if !d.running || vq.q == nil {
			vq.pending = true
			return nil
		}
		return d.impl.Kick(int(val))
	case mISR:
		return d.bad("Unexpected write to isr")
	case mDeviceConfig + 8: // virtio_console_config.emerg_wr
		if d.console {
			d.bus.emerg(byte(val))
			return d.through(off, val, mask, 0xFFFFFFFF)
		}
	}
	return d.bad("Unexpected write to offset %d", off)
}

// featureWrite is the Launcher's feature_write_through32.
func (d *Device) featureWrite(off, val, mask uint32) error {
	st := d.mmio[mDeviceStatus]
	if st&StatusDriver == 0 {
		return d.bad("feature write before VIRTIO_CONFIG_S_DRIVER")
	}
	if st&StatusFeaturesOK != 0 {
		return d.bad("feature write after VIRTIO_CONFIG_S_FEATURES_OK")
	}
	return d.through(off, val, mask, 0xFFFFFFFF)
}

// through is write_through8/16/32: the natural access size or a bad driver.
func (d *Device) through(off, val, mask, want uint32) error {
	if mask != want {
		return d.bad("non-%d-bit write to offset %d (%#x)", bitsOf(want), off, d.bus.eip)
	}
	for i := uint32(0); i < uint32(bitsOf(want)/8); i++ {
		d.mmio[off+i] = byte(val >> (8 * i))
	}
	return nil
}

func bitsOf(mask uint32) int {
	switch mask {
	case 0xFF:
		return 8
	case 0xFFFF:
		return 16
	}
	return 32
}

// checkQueue is check_virtqueue: 32-bit addresses, virtio 1.0 alignment,
// every part inside guest memory, used.flags initially 0.
func (d *Device) checkQueue(qi int, vq *queue) error {
	r := vq.saved[:]
	at := func(o int) uint32 { return get32(r, o-mQueueFirst) }
	if at(mQueueDescHi) != 0 || at(mQueueAvailHi) != 0 || at(mQueueUsedHi) != 0 {
		return d.badVQ(qi, "invalid 64-bit queue address")
	}
	num := uint32(get16(r, mQueueSize-mQueueFirst))
	q, err := virtio.NewQueueSplit(d.bus.m, d.bus.guestLimit, at(mQueueDescLo), at(mQueueAvailLo), at(mQueueUsedLo), num)
	if err != nil {
		return d.badVQ(qi, "%v", err)
	}
	if f, _ := d.bus.m.Read16(at(mQueueUsedLo)); f != 0 {
		return d.badVQ(qi, "invalid initial used.flags %#x", f)
	}
	vq.q = q
	return nil
}

// mmioRead is the 4.x Launcher's emulate_mmio_read.
func (d *Device) mmioRead(off, mask uint32) (uint32, error) {
	st := d.mmio[mDeviceStatus]
	want := uint32(0xFFFFFFFF)
	switch off {
	case mDeviceFeatureSelect, mDeviceFeature, mGuestFeatureSelect, mGuestFeature:
		if st&StatusDriver == 0 {
			return 0, d.bad("feature read before VIRTIO_CONFIG_S_DRIVER")
		}
	case mMSIXConfig:
		return 0, d.bad("read of msix_config")
	case mNumQueues:
		want = 0xFFFF
	case mDeviceStatus:
		d.wroteFeaturesOK = false
		want = 0xFF
	case mConfigGeneration:
		// None of our devices changes its config: always 0.
		want = 0xFF
	case mNotify:
		if st&StatusDriverOK == 0 {
			return 0, d.bad("notify before VIRTIO_CONFIG_S_DRIVER_OK")
		}
		want = 0xFFFF
	case mISR:
		if mask != 0xFF {
			return 0, d.bad("non-8-bit read from offset %d (%#x)", off, d.bus.eip)
		}
		// 4.1.4.5.1: "The device MUST reset ISR status to 0 on driver read."
		isr := d.mmio[mISR]
		d.mmio[mISR] = 0
		return uint32(isr), nil
	case mPadding:
		return 0, d.bad("read from padding (%#x)", d.bus.eip)
	default:
		// Every other offset, the queue registers included, is read as
		// "device config" in the Launcher.
		if off > d.mmioSize-4 {
			return 0, d.bad("read past end (%#x)", d.bus.eip)
		}
		if st&StatusDriver == 0 {
			return 0, d.bad("config read before VIRTIO_CONFIG_S_DRIVER")
		}
		want = mask
	}
	if mask != want {
		return 0, d.bad("non-%d-bit read to offset %d (%#x)", bitsOf(want), off, d.bus.eip)
	}
	var v uint32
	for i := uint32(0); i < uint32(bitsOf(want)/8); i++ {
		v |= uint32(d.mmio[off+i]) << (8 * i)
	}
	return v, nil
}
