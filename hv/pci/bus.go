package pci

import (
	"errors"
	"fmt"
	"io"

	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// Ports the 4.x Launcher's emulate_insn knows (4.x spec §4).
const (
	PortConfigAddr = 0xCF8
	PortConfigData = 0xCFC // ..0xCFF
	PortKbdStatus  = 0x64  // reads 1: "ready"
)

// MaxSlots bounds the devices on bus 0 (5 device-number bits).
const MaxSlots = 32

// Bus is PCI bus 0 as the 4.x Launcher presents it.
type Bus struct {
	slots      [MaxSlots]*Device // [0] the host bridge
	nextMMIO   uint32
	mmioBase   uint32
	nextIRQ    int
	addr       uint32 // pci_config_addr
	m          *mem.Phys
	guestLimit uint32
	raise      func(irq int)
	warnf      func(string)
	out        func([]byte)
	ready      chan struct{}
	signal     func()
	eip        uint32 // of the instruction being emulated, for messages
}

// NewBus makes bus 0 with its host bridge; device BARs are allocated from
// mmioBase (the Launcher's guest_mmio: mem + DEVICE_PAGES pages) upwards.
func NewBus(mmioBase uint32) (*Bus, error) {
	if mmioBase%mem.PageSize != 0 {
		return nil, fmt.Errorf("pci: MMIO base %#x is not page-aligned", mmioBase)
	}
	b := &Bus{nextMMIO: mmioBase, mmioBase: mmioBase, nextIRQ: 1, ready: make(chan struct{}, 1)}
	// Slot 0: the host bridge Linux's bus scan expects (init_pci_host_bridge;
	// its IDs are not in the 4.x spec: class 6, subclass 0 = host bridge).
	hb := &Device{name: "host bridge", bus: b}
	initConfig(hb.cfg[:], 0, 0x06, 0x00, 0)
	b.slots[0] = hb
	return b, nil
}

// SetIRQ installs the Host's set_interrupt.
func (b *Bus) SetIRQ(raise func(irq int)) { b.raise = raise }

// SetWarn installs where the Launcher's non-fatal messages go.
func (b *Bus) SetWarn(warn func(string)) { b.warnf = warn }

// InputReady is signalled when console input arrives (see hv/virtio).
func (b *Bus) InputReady() <-chan struct{} { return b.ready }

func (b *Bus) warn(s string) {
	if b.warnf != nil {
		b.warnf(s)
	}
}

// SetInputSignal makes console input wake f instead of InputReady (the
// Host shares one wake-up between its transports).
func (b *Bus) SetInputSignal(f func()) { b.signal = f }

func (b *Bus) signalInput() {
	if b.signal != nil {
		b.signal()
		return
	}
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *Bus) emerg(c byte) {
	if b.out != nil {
		b.out([]byte{c})
	}
}

// MMIOBase and DeviceLimit bound the BARs: the 4.x Host's device_limit.
func (b *Bus) MMIOBase() uint32    { return b.mmioBase }
func (b *Bus) DeviceLimit() uint32 { return b.nextMMIO }

// addDevice is new_pci_device + init_pci_config + add_pci_virtqueue +
// set_device_config.
func (b *Bus) addDevice(name string, typ, class, subclass uint8, nq int, features []uint, config []byte, impl virtio.Handler) (*Device, error) {
	if b.m != nil {
		return nil, fmt.Errorf("pci: cannot add %s after Install", name)
	}
	slot := 0
	for i := 1; i < MaxSlots; i++ {
		if b.slots[i] == nil {
			slot = i
			break
		}
	}
	if slot == 0 {
		return nil, fmt.Errorf("pci: %s: no free slot on bus 0", name)
	}
	if b.nextIRQ >= 32 {
		return nil, fmt.Errorf("pci: %s: no IRQ line left", name)
	}
	d := &Device{name: name, typ: typ, slot: slot, irq: b.nextIRQ, impl: impl, bus: b}
	d.features = 1 << FeatureVersion1
	for _, f := range features {
		d.features |= 1 << f
	}
	initConfig(d.cfg[:], typ, class, subclass, len(config))
	d.cfg[cfgIRQLine] = uint8(d.irq)
	d.cfg[cfgIRQPin] = 1
	d.mmioSize = mDeviceConfig + uint32(len(config))
	// get_mmio_region: the size rounded up to a power of two.
	size := uint32(1)
	for size < d.mmioSize {
		size <<= 1
	}
	if uint64(b.nextMMIO)+uint64(size) > 1<<32 {
		return nil, fmt.Errorf("pci: %s: no address space left for BAR0", name)
	}
	d.mmioAddr = b.nextMMIO
	b.nextMMIO += size
	put32(d.cfg[:], cfgBAR0, d.mmioAddr)
	d.mmio = make([]byte, d.mmioSize)
	copy(d.mmio[mDeviceConfig:], config)
	for range nq {
		vq := &queue{num: virtio.QueueNum}
		d.initQueueRegs(vq)
		d.queues = append(d.queues, vq)
	}
	put16(d.mmio, mNumQueues, uint16(nq))
	d.restoreQueue(0)
	b.nextIRQ++
	b.slots[slot] = d
	return d, nil
}

// AddConsole adds the virtio console (class 7: simple communication) with
// VIRTIO_CONSOLE_F_EMERG_WRITE; out gets the Guest's bytes, transmitq and
// emerg_wr alike.
func (b *Bus) AddConsole(out func([]byte)) (*virtio.Console, error) {
	c := virtio.NewConsole(out)
	cfg := make([]byte, 12) // cols, rows, max_nr_ports, emerg_wr
	d, err := b.addDevice("console", virtio.TypeConsole, 0x07, 0x00, 2, []uint{2}, cfg, c)
	if err != nil {
		return nil, err
	}
	d.console = true
	b.out = out
	c.Attach(d)
	return c, nil
}

// AddBlock adds a virtio block device (class 1 subclass 0x80) with the
// 4.x Launcher's request parsing.
func (b *Bus) AddBlock(f virtio.BlockFile, size int64, ro bool) (*virtio.Block, error) {
	if f == nil {
		return nil, errors.New("pci: block: no backing file")
	}
	blk, features, cfg := virtio.NewBlock(f, size, ro, true)
	// The whole struct virtio_blk_config of 4.9 (36 bytes), beyond
	// capacity/size_max/seg_max all zero.
	cfg = append(cfg, make([]byte, 36-len(cfg))...)
	d, err := b.addDevice("block", virtio.TypeBlock, 0x01, 0x80, 1, features, cfg, blk)
	if err != nil {
		return nil, err
	}
	blk.Attach(d)
	return blk, nil
}

// AddRNG adds a virtio entropy device (class 0xff).
func (b *Bus) AddRNG(src io.Reader) (*virtio.RNG, error) {
	if src == nil {
		return nil, errors.New("pci: rng: no entropy source")
	}
	r := virtio.NewRNG(src)
	d, err := b.addDevice("rng", virtio.TypeRNG, 0xff, 0x00, 1, nil, nil, r)
	if err != nil {
		return nil, err
	}
	r.Attach(d)
	return r, nil
}

// Install attaches guest memory: rings must end at or below guestLimit
// (the Launcher's guest_limit, 4.x: RAM only).
func (b *Bus) Install(m *mem.Phys, guestLimit uint32) error {
	if m == nil || guestLimit > m.GuestLimit() {
		return errors.New("pci: Install: no memory, or a guest limit beyond it")
	}
	if guestLimit > b.mmioBase {
		return fmt.Errorf("pci: guest memory %#x overlaps the BARs at %#x", guestLimit, b.mmioBase)
	}
	b.m, b.guestLimit = m, guestLimit
	return nil
}

// Poll moves Host input into running devices (console keystrokes).
func (b *Bus) Poll() error {
	for _, d := range b.slots[1:] {
		if d != nil && d.running {
			if err := d.impl.Poll(); err != nil {
				return err
			}
		}
	}
	return nil
}

// devAndReg is dev_and_reg: the addressed device and config word, or nil.
func (b *Bus) devAndReg() (*Device, uint32) {
	a := b.addr
	enabled, bus, dev, fn, reg := a>>31, a>>16&0xFF, a>>11&0x1F, a>>8&7, a>>2&0x3F
	if enabled == 0 || fn != 0 || bus != 0 || reg*4 >= configSize {
		return nil, 0
	}
	return b.slots[dev], reg
}

func (d *Device) word(reg uint32) uint32 { return get32(d.cfg[:], int(reg*4)) }
func (d *Device) setWord(reg, v uint32)  { put32(d.cfg[:], int(reg*4), v) }

// configRead is pci_data_ioread.
func (b *Bus) configRead(port uint16, mask uint32) (uint32, error) {
	d, reg := b.devAndReg()
	if d == nil {
		return 0xFFFFFFFF & mask, nil
	}
	if reg*4 == cfgAccessData {
		l := uint32(d.cfg[cfgAccessLen])
		if !d.validBarAccess() {
			return 0, d.bad("Invalid cfg_access to bar%d, offset %d len %d", d.cfg[cfgAccessBAR], get32(d.cfg[:], cfgAccessOff), get32(d.cfg[:], cfgAccessLen))
		}
		v, err := d.mmioRead(get32(d.cfg[:], cfgAccessOff), uint32(1<<(8*l)-1))
		if err != nil {
			return 0, err
		}
		d.setWord(reg, v)
	}
	return ioRead(uint32(port-PortConfigData), d.word(reg), mask), nil
}

// validBarAccess is valid_bar_access.
func (d *Device) validBarAccess() bool {
	bar, off, l := d.cfg[cfgAccessBAR], get32(d.cfg[:], cfgAccessOff), get32(d.cfg[:], cfgAccessLen)
	if bar != 0 || off >= d.mmioSize || uint64(off)+uint64(l) > uint64(d.mmioSize) {
		return false
	}
	if l != 1 && l != 2 && l != 4 {
		return false
	}
	return off%l == 0
}

// configWrite is pci_data_iowrite; false means "not writable": the
// Launcher warns and reflects #GP.
func (b *Bus) configWrite(port uint16, mask, val uint32) (bool, error) {
	d, reg := b.devAndReg()
	if d == nil {
		return false, nil
	}
	portoff := uint32(port - PortConfigData)
	off := reg * 4
	switch {
	case off == cfgBAR0:
		// Sizing: the OS writes all ones and sees which bits stick.
		v := ioWrite(portoff, val, mask, d.word(reg))
		for i := uint32(0); 1<<i < d.mmioSize; i++ {
			v &^= 1 << i
		}
		d.setWord(reg, v)
		return true, nil
	case off > cfgBAR0 && off <= cfgBAR6End, off == cfgExpROM:
		d.setWord(reg, ioWrite(portoff, val, mask, d.word(reg)))
		return true, nil
	case off == cfgCacheLine:
		// Only the first two fields (cacheline size, latency timer).
		if mask == 0xFFFFFFFF {
			mask = 0xFFFF
		}
		d.setWord(reg, ioWrite(portoff, val, mask, d.word(reg)))
		return true, nil
	case off == cfgCommand && mask == 0xFFFF:
		return true, nil // command writes are ignored
	case off == cfgAccessBAR, off == cfgAccessLen, off == cfgAccessOff:
		if d.slot == 0 {
			return false, nil
		}
		d.setWord(reg, ioWrite(portoff, val, mask, d.word(reg)))
		return true, nil
	case off == cfgAccessData:
		if d.slot == 0 || !d.validBarAccess() {
			return false, nil
		}
		d.setWord(reg, ioWrite(portoff, val, mask, d.word(reg)))
		// The write's size is cap.length's, not this access's.
		l := uint32(d.cfg[cfgAccessLen])
		return true, d.mmioWrite(get32(d.cfg[:], cfgAccessOff), d.word(reg), uint32(1<<(8*l)-1))
	}
	return false, nil
}

// Devices lists the functions for the UI and the monitor.
type DeviceInfo struct {
	Slot     int
	Name     string
	Vendor   uint16
	DeviceID uint16
	IRQ      int
	BAR0     uint32
	Size     uint32
	Status   uint8
	Running  bool
	Features uint64
	Accepted uint64
	Queues   int
}

// Devices snapshots the bus (slot 0 excluded).
func (b *Bus) Devices() []DeviceInfo {
	var out []DeviceInfo
	for _, d := range b.slots[1:] {
		if d == nil {
			continue
		}
		out = append(out, DeviceInfo{Slot: d.slot, Name: d.name, Vendor: get16(d.cfg[:], cfgVendor), DeviceID: get16(d.cfg[:], cfgDevice),
			IRQ: d.irq, BAR0: d.mmioAddr, Size: d.mmioSize, Status: d.mmio[mDeviceStatus], Running: d.running,
			Features: d.features, Accepted: d.accepted, Queues: len(d.queues)})
	}
	return out
}
