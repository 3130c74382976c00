package virtio

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

const tRAM = 0x10000 // 64 KiB of "RAM" under the bus tests

// With the console alone: descriptor page at 0x10000, receiveq ring at
// pfn 0x11 (3 pages), transmitq ring at pfn 0x14 (3 pages), guest_limit
// 0x17000 (spec §2.2).
const (
	tRxAddr    = 0x11000
	tTxAddr    = 0x14000
	tConsLimit = 0x17000
)

// dummyDev records what the bus asks of a device type.
type dummyDev struct {
	kicks  []int
	polls  int
	resets int
	err    error
}

func (d *dummyDev) Kick(qi int) error { d.kicks = append(d.kicks, qi); return d.err }
func (d *dummyDev) Poll() error       { d.polls++; return nil }
func (d *dummyDev) Reset()            { d.resets++ }

type consoleRig struct {
	bus  *Bus
	m    *mem.Phys
	cons *Console
	out  bytes.Buffer
	irqs []int
	rx   *guestRing
	tx   *guestRing
}

func newConsoleRig(t testing.TB) *consoleRig {
	t.Helper()
	r := &consoleRig{}
	b, err := NewBus(tRAM)
	if err != nil {
		t.Fatal(err)
	}
	r.cons, err = b.AddConsole(func(p []byte) { r.out.Write(p) })
	if err != nil {
		t.Fatal(err)
	}
	if b.Pages() != 7 || b.GuestLimit() != tConsLimit {
		t.Fatalf("Pages %d GuestLimit %#x, want 7 and %#x", b.Pages(), b.GuestLimit(), tConsLimit)
	}
	r.m = newMem(t, b.GuestLimit())
	if err := b.Install(r.m); err != nil {
		t.Fatal(err)
	}
	b.SetIRQ(func(irq int) { r.irqs = append(r.irqs, irq) })
	r.bus = b
	r.rx = newGuestRing(t, r.m, tRxAddr, QueueNum)
	r.tx = newGuestRing(t, r.m, tTxAddr, QueueNum)
	return r
}

// setStatus is the Guest's lg_set_status/lg_reset + status_notify.
func (r *consoleRig) setStatus(t testing.TB, st uint8) NotifyResult {
	t.Helper()
	r.m.Write8(tRAM+4, st)
	return r.bus.Notify(tRAM)
}

func (r *consoleRig) start(t testing.TB) {
	t.Helper()
	if res := r.setStatus(t, StatusAcknowledge|StatusDriver); res.Fatal != "" || res.Kind != NotifyStatus {
		t.Fatalf("start: %+v", res)
	}
}

func TestNewBusErrors(t *testing.T) {
	for _, ram := range []uint32{0, 0x1234, 0xffff0000} {
		if _, err := NewBus(ram); err == nil {
			t.Errorf("NewBus(%#x) accepted", ram)
		}
	}
}

// The descriptor page, byte for byte as spec §2.7 lays it out: the console
// (type 3, two 256-entry queues with IRQs 1 and 2, no features, no config),
// then a second device with features and config, then the zero terminator.
func TestDescriptorPageLayout(t *testing.T) {
	b, err := NewBus(tRAM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddConsole(nil); err != nil {
		t.Fatal(err)
	}
	// An rng-like device offering feature bits 0 and 9 (feature_len 2) and
	// three config bytes, to pin the packing of the variable parts.
	if _, err := b.addDevice("rng", TypeRNG, 1, []uint{0, 9}, []byte{0xaa, 0xbb, 0xcc}, &dummyDev{}); err != nil {
		t.Fatal(err)
	}
	if b.Pages() != 10 || b.GuestLimit() != tRAM+10*4096 {
		t.Fatalf("Pages %d GuestLimit %#x", b.Pages(), b.GuestLimit())
	}
	m := newMem(t, b.GuestLimit())
	// Garbage where the rings go: Install must zero them.
	m.WriteBytes(tRxAddr, bytes.Repeat([]byte{0xee}, 9*4096))
	if err := b.Install(m); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		// console @0: type, num_vq, feature_len, config_len, status
		3, 2, 0, 0, 0,
		// vq0 {num 256, irq 1, pfn 0x11}
		0x00, 0x01, 0x01, 0x00, 0x11, 0x00, 0x00, 0x00,
		// vq1 {num 256, irq 2, pfn 0x14}
		0x00, 0x01, 0x02, 0x00, 0x14, 0x00, 0x00, 0x00,
		// rng @21: type 4, 1 vq, feature_len 2, config_len 3, status 0
		4, 1, 2, 3, 0,
		// vq0 {num 256, irq 3, pfn 0x17}
		0x00, 0x01, 0x03, 0x00, 0x17, 0x00, 0x00, 0x00,
		// offered: bit 0 -> byte0 0x01, bit 9 -> byte1 0x02; accepted: zero
		0x01, 0x02, 0x00, 0x00,
		// config
		0xaa, 0xbb, 0xcc,
		// terminator: type 0
		0,
	}
	got := make([]byte, 4096)
	m.ReadBytes(tRAM, got)
	if !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("descriptor page\n got % x\nwant % x", got[:len(want)], want)
	}
	if i := bytes.IndexFunc(got[len(want):], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("descriptor page not zero after the entries, at %#x", len(want)+i)
	}
	rings := make([]byte, 9*4096)
	m.ReadBytes(tRxAddr, rings)
	if bytes.IndexByte(rings, 0xee) >= 0 {
		t.Fatal("Install left ring pages dirty")
	}
	devs := b.Devices()
	if len(devs) != 2 || devs[0].Name != "console" || devs[1].Addr != tRAM+21 ||
		!bytes.Equal(devs[1].Offered, []byte{1, 2}) || !bytes.Equal(devs[1].Config, []byte{0xaa, 0xbb, 0xcc}) {
		t.Fatalf("Devices() = %+v", devs)
	}
	if q := devs[0].Queues[1]; q.IRQ != 2 || q.PFN != 0x14 || q.Num != 256 || q.Bound {
		t.Fatalf("console tx queue info %+v", q)
	}
}

func TestInstallErrors(t *testing.T) {
	b, _ := NewBus(tRAM)
	if _, err := b.AddConsole(nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Install(nil); err == nil {
		t.Error("Install(nil) accepted")
	}
	if err := b.Install(newMem(t, tConsLimit+4096)); err == nil || !strings.Contains(err.Error(), "device pages") {
		t.Errorf("Install with wrong guest size: %v", err)
	}
	if err := b.Install(newMem(t, tConsLimit)); err != nil {
		t.Fatal(err)
	}
	if err := b.Install(newMem(t, tConsLimit)); err == nil {
		t.Error("second Install accepted")
	}
	if _, err := b.AddConsole(nil); err == nil {
		t.Error("AddConsole after Install accepted")
	}
}

func TestAddDeviceLimits(t *testing.T) {
	// 15 consoles use IRQs 1..30; the 16th would need 31 and 32.
	b, _ := NewBus(tRAM)
	for i := range 15 {
		if _, err := b.AddConsole(nil); err != nil {
			t.Fatalf("console %d: %v", i, err)
		}
	}
	if _, err := b.AddConsole(nil); err == nil || !strings.Contains(err.Error(), "IRQ") {
		t.Fatalf("16th console: %v", err)
	}
	// Ring pages: 1 + 85*3 = 256 fits; one more queue does not.
	b, _ = NewBus(tRAM)
	for i := range 85 {
		if _, err := b.addDevice("rng", TypeRNG, 1, nil, nil, &dummyDev{}); err != nil {
			t.Fatalf("rng %d: %v", i, err)
		}
		b.nextIRQ = 1 // isolate the page limit from the IRQ limit
	}
	if _, err := b.addDevice("rng", TypeRNG, 1, nil, nil, &dummyDev{}); err == nil || !strings.Contains(err.Error(), "Not enough memory for devices") {
		t.Fatalf("page overflow: %v", err)
	}
	// Descriptor page: a big config fills it.
	b, _ = NewBus(tRAM)
	for i := range 15 { // 15 entries of 5+8+255 bytes = 4020
		if _, err := b.addDevice("net", TypeNet, 1, nil, make([]byte, 255), &dummyDev{}); err != nil {
			t.Fatalf("net %d: %v", i, err)
		}
		b.nextIRQ = 1
	}
	if _, err := b.addDevice("net", TypeNet, 1, nil, make([]byte, 255), &dummyDev{}); err == nil || !strings.Contains(err.Error(), "Too many devices") {
		t.Fatalf("descriptor page overflow: %v", err)
	}
}

func TestNotifyStatusTransitions(t *testing.T) {
	r := newConsoleRig(t)

	// Reset before start (register_virtio_device does it): fine.
	if res := r.setStatus(t, 0); res.Kind != NotifyStatus || res.Fatal != "" || res.Device != "console" {
		t.Fatalf("initial reset: %+v", res)
	}
	// Features finalized (ACK|DRIVER) -> started.
	r.start(t)
	if d := r.bus.Devices()[0]; !d.Running || !d.Queues[0].Bound || d.Status != 3 {
		t.Fatalf("after start: %+v", d)
	}
	// Again -> fatal, word for word.
	if res := r.setStatus(t, StatusAcknowledge|StatusDriver|StatusDriverOK); res.Fatal != "Device console features finalized twice" {
		t.Fatalf("finalize twice: %+v", res)
	}

	// Use the tx ring, then FAILED while running: warning + reset.
	writeStr(t, r.m, 0x3000, "x")
	r.tx.desc(0, 0x3000, 1, 0, 0)
	r.tx.publish(0)
	if res := r.bus.Notify(tTxAddr); res.Fatal != "" || res.Kind != NotifyKick {
		t.Fatalf("kick: %+v", res)
	}
	res := r.setStatus(t, StatusAcknowledge|StatusFailed)
	if res.Warning != "Device console configuration FAILED" || res.Fatal != "" {
		t.Fatalf("FAILED: %+v", res)
	}
	d := r.bus.Devices()[0]
	if d.Running || d.Queues[1].LastAvail != 0 || d.Queues[1].AvailIdx != 0 || d.Queues[1].UsedIdx != 0 {
		t.Fatalf("FAILED while running did not reset: %+v", d)
	}
	// FAILED while stopped: warning only, the rings are left alone.
	r.tx.publish(0)
	res = r.setStatus(t, StatusFailed)
	if res.Warning == "" || r.tx.availIdx() != 1 {
		t.Fatalf("FAILED while stopped: %+v, avail.idx %d", res, r.tx.availIdx())
	}
	// Start again after a reset is allowed.
	r.setStatus(t, 0)
	r.start(t)
	if !r.bus.Devices()[0].Running {
		t.Fatal("restart after reset failed")
	}
}

// Reset clears the accepted feature bits in guest memory.
func TestResetClearsAcceptedFeatures(t *testing.T) {
	b, _ := NewBus(tRAM)
	dd := &dummyDev{}
	if _, err := b.addDevice("block", TypeBlock, 1, []uint{1, 6, 9}, []byte{1, 2, 3, 4}, dd); err != nil {
		t.Fatal(err)
	}
	m := newMem(t, b.GuestLimit())
	if err := b.Install(m); err != nil {
		t.Fatal(err)
	}
	// Entry: hdr 5 + vq 8, offered 2 bytes at 13, accepted at 15, config at 17.
	m.WriteBytes(tRAM+15, []byte{0x42, 0x02})
	m.Write8(tRAM+4, 3)
	b.Notify(tRAM)
	if got := b.Devices()[0].Accepted; !bytes.Equal(got, []byte{0x42, 0x02}) {
		t.Fatalf("accepted before reset % x", got)
	}
	m.Write8(tRAM+4, 0)
	b.Notify(tRAM)
	acc := make([]byte, 2)
	m.ReadBytes(tRAM+15, acc)
	off := make([]byte, 2)
	m.ReadBytes(tRAM+13, off)
	cfg := make([]byte, 4)
	m.ReadBytes(tRAM+17, cfg)
	if !bytes.Equal(acc, []byte{0, 0}) || !bytes.Equal(off, []byte{0x42, 0x02}) || !bytes.Equal(cfg, []byte{1, 2, 3, 4}) {
		t.Fatalf("after reset accepted % x offered % x config % x", acc, off, cfg)
	}
	if dd.resets != 1 {
		t.Fatalf("device reset hook called %d times", dd.resets)
	}
}

func TestNotifyDispatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		started bool
		setup   func(r *consoleRig)
		addr    uint32
		kind    NotifyKind
		text    string
		fatal   string
	}{
		{name: "zero is ignored", addr: 0, kind: NotifyIgnored},
		{name: "kick rx before setup", addr: tRxAddr, kind: NotifyKick,
			fatal: "Notification on console before setup!"},
		{name: "kick tx before setup", addr: tTxAddr, kind: NotifyKick,
			fatal: "Notification on console before setup!"},
		{name: "early console string", addr: 0x2000, kind: NotifyEarlyConsole, text: "Hello",
			setup: func(r *consoleRig) { writeStr(r.rx.t, r.m, 0x2000, "Hello\x00junk") }},
		{name: "empty early console string", addr: 0x2000, kind: NotifyEarlyConsole, text: ""},
		{name: "string runs to guest_limit without NUL", addr: tConsLimit - 3, kind: NotifyEarlyConsole, text: "abc",
			setup: func(r *consoleRig) { writeStr(r.rx.t, r.m, tConsLimit-3, "abc") }},
		{name: "string inside a ring page is still a string", addr: tTxAddr + 8, kind: NotifyEarlyConsole, text: "ok",
			setup: func(r *consoleRig) { writeStr(r.rx.t, r.m, tTxAddr+8, "ok\x00") }},
		{name: "address at guest_limit", addr: tConsLimit, kind: NotifyEarlyConsole, fatal: "Bad NOTIFY 0x17000"},
		{name: "address far beyond", addr: 0xfffff000, kind: NotifyEarlyConsole, fatal: "Bad NOTIFY 0xfffff000"},
		{name: "status entry", addr: tRAM, kind: NotifyStatus},
		{name: "kick after start", started: true, addr: tTxAddr, kind: NotifyKick},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newConsoleRig(t)
			if tc.started {
				r.start(t)
			}
			if tc.setup != nil {
				tc.setup(r)
			}
			res := r.bus.Notify(tc.addr)
			if res.Kind != tc.kind || res.Fatal != tc.fatal || string(res.Text) != tc.text {
				t.Fatalf("Notify(%#x) = %+v (text %q), want kind %v text %q fatal %q",
					tc.addr, res, res.Text, tc.kind, tc.text, tc.fatal)
			}
		})
	}
}

// After a reset the Host still holds the eventfd for the ring address, so a
// kick is swallowed rather than reaching handle_output (spec §3.3.15).
func TestKickAfterResetIsSwallowed(t *testing.T) {
	r := newConsoleRig(t)
	r.start(t)
	r.setStatus(t, 0)
	writeStr(t, r.m, 0x3000, "lost")
	r.tx.desc(0, 0x3000, 4, 0, 0)
	r.tx.publish(0)
	res := r.bus.Notify(tTxAddr)
	if res.Kind != NotifyIgnored || res.Fatal != "" {
		t.Fatalf("kick after reset: %+v", res)
	}
	if r.out.Len() != 0 || r.tx.usedIdx() != 0 {
		t.Fatalf("stopped device serviced a kick: out %q used %d", r.out.String(), r.tx.usedIdx())
	}
}

func TestNotifyBeforeInstall(t *testing.T) {
	b, _ := NewBus(tRAM)
	if res := b.Notify(0x1000); res.Fatal == "" {
		t.Fatalf("Notify before Install: %+v", res)
	}
	if err := b.Poll(); err != nil {
		t.Fatalf("Poll before Install: %v", err)
	}
}

// The device-type hooks: kick reaches the right queue index, poll runs
// only while the device runs, and a kick error becomes the Fatal reason.
func TestDeviceHooks(t *testing.T) {
	b, _ := NewBus(tRAM)
	dd := &dummyDev{}
	if _, err := b.addDevice("net", TypeNet, 2, nil, nil, dd); err != nil {
		t.Fatal(err)
	}
	m := newMem(t, b.GuestLimit())
	if err := b.Install(m); err != nil {
		t.Fatal(err)
	}
	b.Poll()
	if dd.polls != 0 {
		t.Fatal("poll ran on a stopped device")
	}
	m.Write8(tRAM+4, 3)
	b.Notify(tRAM)
	b.Poll()
	b.Notify(tTxAddr)
	b.Notify(tRxAddr)
	if dd.polls != 1 || len(dd.kicks) != 2 || dd.kicks[0] != 1 || dd.kicks[1] != 0 {
		t.Fatalf("polls %d kicks %v", dd.polls, dd.kicks)
	}
	dd.err = errString("Write past end 1+2")
	if res := b.Notify(tTxAddr); res.Fatal != "Write past end 1+2" || res.Device != "net" || res.Queue != 1 {
		t.Fatalf("kick error: %+v", res)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestNotifyName(t *testing.T) {
	r := newConsoleRig(t)
	for _, tc := range []struct {
		addr uint32
		want string
	}{
		{tRAM, "console status"},
		{tRxAddr, "console queue 0 (receiveq)"},
		{tTxAddr, "console queue 1 (transmitq)"},
		{tTxAddr + 8, "early console string"}, // inside a ring page
		{0x2000, "early console string"},
		{tConsLimit, "bad address"},
		{0, ""},
	} {
		if got := r.bus.NotifyName(tc.addr); got != tc.want {
			t.Errorf("NotifyName(%#x) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
