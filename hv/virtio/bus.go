package virtio

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// Virtio device IDs used on the lguest bus (spec §2.7).
const (
	TypeNet     = 1
	TypeBlock   = 2
	TypeConsole = 3
	TypeRNG     = 4
)

// Virtio status bits the Launcher looks at.
const (
	StatusAcknowledge = 1
	StatusDriver      = 2
	StatusDriverOK    = 4
	StatusFailed      = 0x80 // VIRTIO_CONFIG_S_FAILED
)

const (
	// DevicePages is the Launcher's DEVICE_PAGES: at most 256 pages (the
	// descriptor page and every ring) above RAM (spec §2.2).
	DevicePages = 256
	// lguestIRQs is LGUEST_IRQS (spec §0.1): the Host refuses LHREQ_IRQ
	// for a line >= 32, so a queue must not be numbered beyond it.
	lguestIRQs = 32
	entryHdr   = 5 // type, num_vq, feature_len, config_len, status
	vqConfig   = 8 // struct lguest_vqconfig { u16 num; u16 irq; u32 pfn; }
)

// Handler is what one device type adds to a transport (this lguest bus, or
// virtio-PCI in hv/pci): one file per type (console.go, block.go, rng.go)
// implements it over a Transport.
type Handler interface {
	// Kick services queue qi after a Guest notification on it while the
	// device runs (the Launcher's service thread woken by its eventfd).
	Kick(qi int) error
	// Poll moves Host-side input into the device's queues; it is called
	// only while the device runs.
	Poll() error
	// Reset drops device-private state on a Guest reset.
	Reset()
}

// Transport is what a device type needs of the bus it sits on.
type Transport interface {
	// Queue is queue i's ring, nil while the Guest has not set it up.
	Queue(i int) *Queue
	// Trigger raises queue i's interrupt if the ring asks for one
	// (trigger_irq).
	Trigger(i int)
	// Warn logs a non-fatal Launcher message.
	Warn(msg string)
	// SignalInput wakes a Host idling in HALT: Host input is waiting.
	SignalInput()
}

// device is one entry of the descriptor page plus the Launcher's private
// copy of what it told the Guest (struct device in the Launcher).
type device struct {
	name       string
	typ        uint8
	off        uint32 // offset of the entry in the descriptor page
	featureLen uint32
	offered    []byte
	config     []byte
	queues     []*vqueue
	running    bool
	impl       Handler
	bus        *Bus
}

// device is its handler's Transport on the lguest bus.
func (d *device) Queue(i int) *Queue {
	if i < 0 || i >= len(d.queues) {
		return nil
	}
	return d.queues[i].q
}
func (d *device) Trigger(i int)   { d.bus.trigger(d.queues[i]) }
func (d *device) Warn(msg string) { d.bus.warn(msg) }
func (d *device) SignalInput()    { d.bus.signalInput() }

// vqueue is one virtqueue: its lguest_vqconfig and, after Install, the ring.
type vqueue struct {
	num uint32
	irq int
	pfn uint32
	q   *Queue
	// bound records that the device was started once, i.e. an eventfd is
	// attached to this ring address in the Host (spec §3.3.15). The Host
	// never detaches eventfds, so after a reset a kick is still swallowed
	// by it rather than reaching the Launcher's handle_output.
	bound bool
}

// Bus is the lguest device bus (spec §2.7): the descriptor page at gpa ram,
// the virtqueue rings after it, and the Launcher's NOTIFY handling. All
// methods except Console.Input/TryInput/Close and InputReady must be called
// from the Host goroutine; the bus starts no goroutines, so the same Guest
// actions always give the same results.
type Bus struct {
	ram     uint32
	pages   uint32 // device page + ring pages handed out so far
	descEnd uint32 // bytes of the descriptor page used by entries
	nextIRQ int
	devs    []*device
	m       *mem.Phys
	raise   func(irq int)
	warnf   func(msg string)
	ready   chan struct{}
}

// NewBus makes an empty bus whose descriptor page will sit at gpa ram (the
// RAM size reported in e820, page-aligned).
func NewBus(ram uint32) (*Bus, error) {
	if ram == 0 || ram%mem.PageSize != 0 {
		return nil, fmt.Errorf("virtio: RAM size %#x is not a positive multiple of the page size", ram)
	}
	if uint64(ram)+DevicePages*mem.PageSize > 1<<32 {
		return nil, fmt.Errorf("virtio: RAM size %#x leaves no room for %d device pages below 4 GiB", ram, DevicePages)
	}
	// IRQ 0 is the timer; the Launcher numbers queues from 1 (spec §2.7).
	return &Bus{ram: ram, pages: 1, nextIRQ: 1, ready: make(chan struct{}, 1)}, nil
}

// Pages is the number of pages above RAM: the descriptor page plus every
// ring. Guest memory (pfn_limit*4096) must be RAM + Pages()*4096.
func (b *Bus) Pages() uint32 { return b.pages }

// GuestLimit is the Launcher's guest_limit: RAM + Pages()*4096.
func (b *Bus) GuestLimit() uint32 { return b.ram + b.pages*mem.PageSize }

// DescAddr is the gpa of the descriptor page.
func (b *Bus) DescAddr() uint32 { return b.ram }

// SetIRQ installs the Host's set_interrupt, called when a queue's
// interrupt is raised (LHREQ_IRQ).
func (b *Bus) SetIRQ(raise func(irq int)) { b.raise = raise }

// SetWarn installs where non-fatal Launcher messages go (the Launcher
// prints them on stderr and carries on: "Scsi commands unsupported").
func (b *Bus) SetWarn(warn func(msg string)) { b.warnf = warn }

func (b *Bus) warn(msg string) {
	if b.warnf != nil {
		b.warnf(msg)
	}
}

// InputReady is signalled (without blocking, coalesced) whenever a device
// receives Host input, so a Host idling in HALT can wake and call Poll.
// Safe from any goroutine.
func (b *Bus) InputReady() <-chan struct{} { return b.ready }

// SignalInput wakes whoever waits on InputReady (another transport's
// console shares the Host's wake-up this way). Safe from any goroutine.
func (b *Bus) SignalInput() { b.signalInput() }

func (b *Bus) signalInput() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// addDevice is the Launcher's new_device + add_virtqueue + add_feature +
// set_config: it reserves the entry and the ring pages. Devices are added
// before Install; the order is bus order and IRQ order.
func (b *Bus) addDevice(name string, typ uint8, nq int, features []uint, config []byte, impl Handler) (*device, error) {
	if b.m != nil {
		return nil, fmt.Errorf("virtio: cannot add %s after Install", name)
	}
	if nq < 1 || nq > 255 {
		return nil, fmt.Errorf("virtio: %s: %d virtqueues", name, nq)
	}
	featureLen := uint32(0)
	for _, f := range features {
		featureLen = max(featureLen, uint32(f/8)+1)
	}
	if featureLen > 255 || len(config) > 255 {
		return nil, fmt.Errorf("virtio: %s: feature_len %d / config_len %d do not fit a byte", name, featureLen, len(config))
	}
	size := entryHdr + vqConfig*uint32(nq) + 2*featureLen + uint32(len(config))
	if b.descEnd+size > mem.PageSize {
		return nil, fmt.Errorf("virtio: %s: Too many devices", name)
	}
	ringPages := VringPages(QueueNum)
	if b.pages+uint32(nq)*ringPages > DevicePages {
		return nil, fmt.Errorf("virtio: %s: Not enough memory for devices", name)
	}
	if b.nextIRQ+nq > lguestIRQs {
		return nil, fmt.Errorf("virtio: %s: %d more virtqueue IRQs exceed the %d lguest IRQ lines", name, nq, lguestIRQs)
	}
	d := &device{
		name:       name,
		typ:        typ,
		off:        b.descEnd,
		featureLen: featureLen,
		offered:    make([]byte, featureLen),
		config:     append([]byte(nil), config...),
		impl:       impl,
		bus:        b,
	}
	for _, f := range features {
		d.offered[f/8] |= 1 << (f % 8)
	}
	for range nq {
		d.queues = append(d.queues, &vqueue{
			num: QueueNum,
			irq: b.nextIRQ,
			pfn: b.ram/mem.PageSize + b.pages,
		})
		b.nextIRQ++
		b.pages += ringPages
	}
	b.descEnd += size
	b.devs = append(b.devs, d)
	return d, nil
}

// Install writes the descriptor page (spec §2.7) and zeroes the rings in m,
// whose guest memory must be exactly GuestLimit() bytes (pfn_limit covers
// RAM, the descriptor page and the rings, spec §2.2). Call it once, after
// all devices are added and before the Guest runs.
func (b *Bus) Install(m *mem.Phys) error {
	if m == nil {
		return fmt.Errorf("virtio: Install: no memory")
	}
	if b.m != nil {
		return fmt.Errorf("virtio: Install called twice")
	}
	if m.GuestLimit() != b.GuestLimit() {
		return fmt.Errorf("virtio: guest memory is %#x bytes, the bus needs RAM %#x + %d device pages = %#x",
			m.GuestLimit(), b.ram, b.pages, b.GuestLimit())
	}
	page := make([]byte, b.pages*mem.PageSize)
	for _, d := range b.devs {
		e := page[d.off:]
		e[0], e[1], e[2], e[3], e[4] = d.typ, uint8(len(d.queues)), uint8(d.featureLen), uint8(len(d.config)), 0
		p := e[entryHdr:]
		for _, vq := range d.queues {
			le16(p[0:], uint16(vq.num))
			le16(p[2:], uint16(vq.irq))
			le32(p[4:], vq.pfn)
			p = p[vqConfig:]
		}
		copy(p, d.offered) // the accepted half that follows stays zero
		copy(p[2*d.featureLen:], d.config)
	}
	if !m.WriteBytes(b.ram, page) {
		return fmt.Errorf("virtio: device pages %#x+%#x outside physical memory", b.ram, len(page))
	}
	for _, d := range b.devs {
		for _, vq := range d.queues {
			q, err := NewQueue(m, b.GuestLimit(), vq.pfn*mem.PageSize, vq.num)
			if err != nil {
				return fmt.Errorf("virtio: %s: %w", d.name, err)
			}
			vq.q = q
		}
	}
	b.m = m
	return nil
}

func le16(p []byte, v uint16) { p[0], p[1] = byte(v), byte(v>>8) }
func le32(p []byte, v uint32) { p[0], p[1], p[2], p[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }

// NotifyKind classifies a NOTIFY.
type NotifyKind int

const (
	// NotifyIgnored: NOTIFY(0) (indistinguishable from no notify, spec
	// §3.3.15), or a kick swallowed by a stale eventfd after a reset.
	NotifyIgnored NotifyKind = iota
	// NotifyStatus: a status write to a device's descriptor entry.
	NotifyStatus
	// NotifyKick: a kick on a virtqueue's ring address.
	NotifyKick
	// NotifyEarlyConsole: any other address, an early-console string.
	NotifyEarlyConsole
)

func (k NotifyKind) String() string {
	switch k {
	case NotifyIgnored:
		return "ignored"
	case NotifyStatus:
		return "status"
	case NotifyKick:
		return "kick"
	case NotifyEarlyConsole:
		return "early-console"
	}
	return fmt.Sprintf("NotifyKind(%d)", int(k))
}

// NotifyResult says what a NOTIFY did.
type NotifyResult struct {
	Kind   NotifyKind
	Device string // Status, Kick: the device's name ("console")
	Queue  int    // Kick: the queue index within the device
	Status uint8  // Status: the status byte the Guest wrote
	// Text is the early-console string: at most guest_limit-addr bytes,
	// up to (not including) the first NUL. Print it as the Launcher would.
	Text []byte
	// Warning is a non-fatal Launcher message ("Device %s configuration
	// FAILED"), for the log.
	Warning string
	// Fatal, when set, is the Launcher's fatal message: the Host must kill
	// the Guest with it as the reason.
	Fatal string
}

// L:200 Notify handles LHCALL_NOTIFY(addr): the Host's eventfd fast path (a kick on
// a started device's ring is serviced synchronously, before the Guest runs
// again) and then the Launcher's handle_output, spec §2.7.
func (b *Bus) Notify(addr uint32) NotifyResult {
	if b.m == nil {
		return NotifyResult{Kind: NotifyIgnored, Fatal: "virtio: NOTIFY before the bus was installed"}
	}
	if addr == 0 {
		return NotifyResult{Kind: NotifyIgnored}
	}
	// The eventfd path (spec §3.3.15): the Host looks the value up among the
	// eventfds attached when devices started, before the Launcher sees it.
	for _, d := range b.devs {
		for qi, vq := range d.queues {
			if !vq.bound || addr != vq.pfn*mem.PageSize {
				continue
			}
			r := NotifyResult{Kind: NotifyKick, Device: d.name, Queue: qi}
			if !d.running {
				// Reset stopped the service thread but the eventfd stays
				// attached: the kick is consumed and nobody services it.
				r.Kind = NotifyIgnored
				return r
			}
			if err := d.impl.Kick(qi); err != nil {
				r.Fatal = err.Error()
			}
			return r
		}
	}
	// handle_output, in the Launcher's order: per device, the entry
	// address, then its rings.
	for _, d := range b.devs {
		if addr == b.ram+d.off {
			return b.updateStatus(d)
		}
		for qi, vq := range d.queues {
			if addr == vq.pfn*mem.PageSize {
				return NotifyResult{Kind: NotifyKick, Device: d.name, Queue: qi,
					Fatal: fmt.Sprintf("Notification on %s before setup!", d.name)}
			}
		}
	}
	limit := b.GuestLimit()
	if addr >= limit {
		return NotifyResult{Kind: NotifyEarlyConsole, Fatal: fmt.Sprintf("Bad NOTIFY %s", cHex(uint64(addr)))}
	}
	// strnlen(addr, guest_limit - addr): the string may run to the end of
	// guest memory without a NUL.
	s := b.m.Bytes()[addr:limit]
	for i, c := range s {
		if c == 0 {
			s = s[:i]
			break
		}
	}
	return NotifyResult{Kind: NotifyEarlyConsole, Text: append([]byte(nil), s...)}
}

// updateStatus is the Launcher's update_device_status (spec §2.7).
func (b *Bus) updateStatus(d *device) NotifyResult {
	st, _ := b.m.Read8(b.ram + d.off + 4)
	r := NotifyResult{Kind: NotifyStatus, Device: d.name, Status: st}
	switch {
	case st == 0:
		b.resetDevice(d)
	case st&StatusFailed != 0:
		r.Warning = fmt.Sprintf("Device %s configuration FAILED", d.name)
		if d.running {
			b.resetDevice(d)
		}
	default:
		if d.running {
			r.Fatal = fmt.Sprintf("Device %s features finalized twice", d.name)
			return r
		}
		// start_device: the service "threads" are our kick/poll handlers;
		// attaching the eventfd is marking the ring address bound.
		for _, vq := range d.queues {
			vq.bound = true
		}
		d.running = true
	}
	return r
}

// resetDevice is the Launcher's reset_device: clear the accepted features,
// stop servicing, zero the rings and their last_avail_idx.
func (b *Bus) resetDevice(d *device) {
	acc := b.ram + d.off + entryHdr + vqConfig*uint32(len(d.queues)) + d.featureLen
	b.m.WriteBytes(acc, make([]byte, d.featureLen))
	for _, vq := range d.queues {
		vq.q.Reset()
	}
	d.impl.Reset()
	d.running = false
}

// Poll moves queued Host input (console keystrokes) into the running
// devices' receive queues and raises their interrupts. The Host calls it on
// its own goroutine at each exit. The error's text is a fatal Launcher
// message: kill the Guest with it.
func (b *Bus) Poll() error {
	if b.m == nil {
		return nil
	}
	for _, d := range b.devs {
		if !d.running {
			continue
		}
		if err := d.impl.Poll(); err != nil {
			return err
		}
	}
	return nil
}

// trigger raises vq's interrupt if the ring says so (trigger_irq).
func (b *Bus) trigger(vq *vqueue) {
	if vq.q.Trigger() && b.raise != nil {
		b.raise(vq.irq)
	}
}

// QueueInfo describes one virtqueue for the UI and the gdb monitor.
type QueueInfo struct {
	Num        uint32
	IRQ        int
	PFN        uint32
	LastAvail  uint16 // the Host's last_avail_idx
	AvailIdx   uint16 // avail.idx as the Guest last wrote it
	AvailFlags uint16
	UsedIdx    uint16
	Bound      bool // an eventfd is attached (the device was started once)
}

// DeviceInfo describes one bus device for the UI and the gdb monitor.
type DeviceInfo struct {
	Name     string
	Type     uint8
	Addr     uint32 // gpa of the descriptor entry (the status NOTIFY value)
	Status   uint8  // as the Guest last wrote it
	Running  bool
	Offered  []byte // host feature bits
	Accepted []byte // guest feature bits (as in guest memory)
	Config   []byte // as in guest memory
	Queues   []QueueInfo
}

// Devices snapshots the bus. Call it on the Host goroutine.
func (b *Bus) Devices() []DeviceInfo {
	out := make([]DeviceInfo, 0, len(b.devs))
	for _, d := range b.devs {
		di := DeviceInfo{
			Name:    d.name,
			Type:    d.typ,
			Addr:    b.ram + d.off,
			Running: d.running,
			Offered: append([]byte(nil), d.offered...),
		}
		for _, vq := range d.queues {
			qi := QueueInfo{Num: vq.num, IRQ: vq.irq, PFN: vq.pfn, Bound: vq.bound}
			if vq.q != nil {
				qi.LastAvail, qi.AvailIdx = vq.q.LastAvail(), vq.q.AvailIdx()
				qi.AvailFlags, qi.UsedIdx = vq.q.AvailFlags(), vq.q.UsedIdx()
			}
			di.Queues = append(di.Queues, qi)
		}
		if b.m != nil {
			base := b.ram + d.off
			di.Status, _ = b.m.Read8(base + 4)
			f := base + entryHdr + vqConfig*uint32(len(d.queues))
			di.Accepted = make([]byte, d.featureLen)
			b.m.ReadBytes(f+d.featureLen, di.Accepted)
			di.Config = make([]byte, len(d.config))
			b.m.ReadBytes(f+2*d.featureLen, di.Config)
		} else {
			di.Accepted = make([]byte, d.featureLen)
			di.Config = append([]byte(nil), d.config...)
		}
		out = append(out, di)
	}
	return out
}

// queueNames names a device type's virtqueues in the Guest driver's order
// (virtio_console: receiveq then transmitq; virtio_blk and virtio_rng
// have one).
var queueNames = map[uint8][]string{
	TypeConsole: {"receiveq", "transmitq"},
	TypeBlock:   {"requestq"},
	TypeRNG:     {"inputq"},
}

// NotifyName says what a NOTIFY address is on this bus, for people: a
// device's status entry ("console status"), a queue's ring ("console queue
// 1 (transmitq)"), an early-console string, or a bad address (what
// Notify would do with it, spec §2.7, §3.3.15); "" for 0. It reads only
// the layout fixed before Install, so any goroutine may call it while the
// Guest runs.
func (b *Bus) NotifyName(addr uint32) string {
	if addr == 0 {
		return ""
	}
	for _, d := range b.devs {
		if addr == b.ram+d.off {
			return d.name + " status"
		}
		for qi, vq := range d.queues {
			if addr == vq.pfn*mem.PageSize {
				if n := queueNames[d.typ]; qi < len(n) {
					return fmt.Sprintf("%s queue %d (%s)", d.name, qi, n[qi])
				}
				return fmt.Sprintf("%s queue %d", d.name, qi)
			}
		}
	}
	if addr >= b.GuestLimit() {
		return "bad address"
	}
	return "early console string"
}
