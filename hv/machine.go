package hv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/lgdbg/lgdbg/hv/boot"
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// PAEMode chooses the paging mode. Host and Guest must agree and nothing
// in the ABI negotiates it (spec §0), so by default we ask the image.
type PAEMode int

const (
	PAEAuto PAEMode = iota // from the image when it says; non-PAE otherwise
	PAEOff
	PAEOn
)

// DefaultRAM is the Guest's memory when -m is not given.
const DefaultRAM = 64 << 20

// Config describes one Guest to launch.
type Config struct {
	Image     []byte // bzImage or ELF vmlinux
	RAM       uint32 // bytes of RAM (0 = DefaultRAM)
	Cmdline   string
	Initrd    []byte
	PAE       PAEMode
	Trace     io.Writer // JSONL event stream, or nil
	EventRing int       // events kept in memory (0 = 1<<16)
	// Until, if set, stops the run at the first event it accepts
	// (see ParseUntil).
	Until func(Event) bool
	// Symbols, if set, replace the image's own symbol table: a bzImage
	// has none, so a developer names the matching vmlinux (--symbols).
	Symbols []boot.Symbol
	// SwitcherAddr overrides where the Switcher lives (0 = default).
	SwitcherAddr uint32
	// IdleRealtime makes a halted Guest wait in real time for its next
	// clock event (or console input) instead of skipping straight to it.
	// Interactive front ends want it; it gives up run-to-run determinism
	// of the timing of console input, nothing else.
	IdleRealtime bool
}

// Machine is the one façade over a running Guest for the UI, the gdb stub
// and the CLI. All methods are safe to call from any goroutine; the Guest
// itself runs on the goroutine that calls Run, or on the background runner
// started by Resume.
type Machine struct {
	mu    sync.Mutex // held while the Guest executes a slice, and by accessors
	h     *Host
	image *boot.Image

	// Run control for the background runner.
	ctl      sync.Mutex
	cond     *sync.Cond
	running  bool
	pauseReq bool
	last     Stop
	stops    uint64 // incremented at every stop
	wake     chan struct{}

	bpRefs map[uint32]int // breakpoint address -> front ends that set it (under mu)
}

// New loads the image and builds the Guest exactly as the Launcher and
// LHREQ_INITIALIZE would (spec §13 items 1 and 2). The Guest does not run
// until Run or Resume.
func New(cfg Config) (*Machine, error) {
	img, err := boot.Parse(cfg.Image)
	if err != nil {
		return nil, err
	}
	if cfg.Symbols != nil {
		img.Symbols = cfg.Symbols
	}
	ram := cfg.RAM
	if ram == 0 {
		ram = DefaultRAM
	}
	pae := false
	switch cfg.PAE {
	case PAEOn:
		pae = true
	case PAEAuto:
		pae = img.PAE == boot.PAEYes
	}
	if img.PAE == boot.PAEYes && cfg.PAE == PAEOff {
		return nil, errors.New("the image is a PAE kernel; it cannot run on a non-PAE Host (drop --no-pae)")
	}
	if img.PAE == boot.PAENo && cfg.PAE == PAEOn {
		return nil, errors.New("the image is a non-PAE kernel; it cannot run on a PAE Host (drop --pae)")
	}

	h, err := newHost(hostConfig{ram: ram, pae: pae, trace: cfg.Trace, ring: cfg.EventRing, until: cfg.Until, switcherAddr: cfg.SwitcherAddr},
		func(m *mem.Phys) (uint32, error) {
			return boot.Load(m, img, boot.Config{RAM: ram, Cmdline: cfg.Cmdline, Initrd: cfg.Initrd})
		})
	if err != nil {
		return nil, err
	}
	entry := h.cpu.EIP()
	m := &Machine{h: h, image: img, wake: make(chan struct{}, 1)}
	h.wake = m.wake
	h.idleRealtime = cfg.IdleRealtime
	m.cond = sync.NewCond(&m.ctl)
	m.last = Stop{Reason: StopPaused, EIP: entry}
	return m, nil
}

// hostConfig is what newHost needs; the image loading is a callback so
// tests can place raw code instead of a kernel.
type hostConfig struct {
	ram          uint32
	pae          bool
	trace        io.Writer
	ring         int
	until        func(Event) bool
	switcherAddr uint32
}

// newHost builds the Guest's world: memory with the lguest bus above RAM,
// the loaded image, the CPU, the Switcher pages, the shadow page tables in
// linear_pages mode, and the vCPU's initial state.
func newHost(cfg hostConfig, load func(*mem.Phys) (uint32, error)) (*Host, error) {
	ram, pae := cfg.ram, cfg.pae
	ring := cfg.ring
	if ring <= 0 {
		ring = 1 << 16
	}
	h := &Host{ram: ram, pae: pae, events: newEventLog(ring)}
	h.events.setTrace(cfg.trace)
	h.until = cfg.until
	// The lguest bus: the device page and rings sit right above RAM and
	// count towards pfn_limit (spec §2.2).
	var err error
	if h.bus, err = virtio.NewBus(ram); err != nil {
		return nil, fmt.Errorf("lguest bus: %w", err)
	}
	if h.con, err = h.bus.AddConsole(h.console); err != nil {
		return nil, fmt.Errorf("lguest bus: %w", err)
	}
	h.bus.SetIRQ(h.setInterrupt)

	// Shadow tables: 4 cached pgdirs, each up to a top page plus every
	// lower-level page (PAE: PDPT page, 4 PMDs, 2048 PTE pages), plus the
	// Switcher's three pages.
	pool := 4*(1+1024) + 16
	if pae {
		pool = 4*(1+4+2048) + 16
	}
	h.mem, err = mem.New(ram+h.bus.Pages()*mem.PageSize, pool)
	if err != nil {
		return nil, fmt.Errorf("guest memory: %w", err)
	}
	if err := h.bus.Install(h.mem); err != nil {
		return nil, fmt.Errorf("lguest bus: %w", err)
	}
	entry, err := load(h.mem)
	if err != nil {
		return nil, err
	}
	h.cpu = cpu.New(h.mem)
	h.switcherAddr = cfg.switcherAddr
	if h.switcherAddr == 0 {
		h.switcherAddr = DefaultSwitcherAddr
	}
	if !h.initSwitcherPages() {
		return nil, errors.New("cannot allocate the Switcher pages")
	}
	h.pt, err = pgtable.New(pgtable.Config{
		Mem:           h.mem,
		PAE:           pae,
		SwitcherAddr:  h.switcherAddr,
		SwitcherPages: h.switcherPages,
		MMU:           mmu{h.cpu, pae},
		Kill:          h.kill,
		OnChange:      h.onShadowChange,
		Seed:          1,
	})
	if err != nil {
		return nil, fmt.Errorf("shadow page tables: %w", err)
	}
	h.cpu.SetPaging(true, h.pt.CR3(), pae)
	if err := h.initVCPU(entry); err != nil {
		return nil, err
	}
	h.syncSwitcherRegs(256, 0)
	return h, nil
}

// Image is the parsed kernel image (symbols for the UI and gdb).
func (m *Machine) Image() *boot.Image { return m.image }

// PAE reports the paging mode the Host runs.
func (m *Machine) PAE() bool { return m.h.pae }

// RAM is the Guest's RAM size in bytes.
func (m *Machine) RAM() uint32 { return m.h.ram }

// Run runs the Guest on the calling goroutine until it stops: a terminal
// event, a breakpoint, the instruction limit (absolute count, 0 = none) or
// the Until event. This is what the headless CLI uses.
func (m *Machine) Run(limit uint64) Stop {
	for {
		m.mu.Lock()
		slice := m.h.cpu.ICount() + 4*runSlice
		if limit != 0 && limit < slice {
			slice = limit
		}
		s := m.h.run(runOpts{limit: slice})
		m.mu.Unlock()
		if s.Reason == StopInstructionLimit && (limit == 0 || s.ICount < limit) {
			continue
		}
		m.setStopped(s)
		return s
	}
}

// StepInstruction executes one Guest instruction (handling any trap it
// raises, as the Host would) and returns where it stopped.
func (m *Machine) StepInstruction() Stop {
	m.Pause()
	m.h.pauseReq.Store(false)
	m.mu.Lock()
	s := m.h.run(runOpts{step: true})
	m.mu.Unlock()
	m.setStopped(s)
	return s
}

func (m *Machine) setStopped(s Stop) {
	m.ctl.Lock()
	m.last = s
	m.stops++
	m.running = false
	m.cond.Broadcast()
	m.ctl.Unlock()
}

// Resume starts the Guest on a background goroutine (continue). It returns
// at once; WaitStop or Pause learn where it stopped.
func (m *Machine) Resume() {
	m.ctl.Lock()
	if m.running || m.last.Reason.Terminal() {
		m.ctl.Unlock()
		return
	}
	m.running = true
	m.pauseReq = false
	m.h.pauseReq.Store(false)
	m.ctl.Unlock()
	go m.runner()
}

func (m *Machine) runner() {
	for {
		m.mu.Lock()
		s := m.h.run(runOpts{limit: m.h.cpu.ICount() + runSlice})
		m.mu.Unlock()
		m.ctl.Lock()
		paused := m.pauseReq
		m.ctl.Unlock()
		switch {
		case s.Reason == StopInstructionLimit && !paused:
			continue // just a slice boundary: let accessors in, go on
		case s.Reason == StopPaused && !paused:
			continue // a stop request that raced with another stop
		case s.Reason == StopHaltedForever && !paused:
			// Only an outside event (console input, a pause) can
			// wake the Guest now.
			<-m.wake
			continue
		case s.Reason == StopInstructionLimit:
			s.Reason = StopPaused
		}
		m.setStopped(s)
		return
	}
}

// Pause stops a running Guest at the next instruction boundary and
// returns where it stopped; on a stopped Guest it returns the last stop.
func (m *Machine) Pause() Stop {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	if !m.running {
		return m.last
	}
	m.pauseReq = true
	m.h.pauseReq.Store(true)
	m.h.cpu.RequestStop()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	for m.running {
		m.cond.Wait()
	}
	return m.last
}

// WaitStop blocks until the Guest is stopped (or ctx ends).
func (m *Machine) WaitStop(ctx context.Context) (Stop, error) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			m.ctl.Lock()
			m.cond.Broadcast()
			m.ctl.Unlock()
		case <-done:
		}
	}()
	defer close(done)
	m.ctl.Lock()
	defer m.ctl.Unlock()
	for m.running {
		if ctx.Err() != nil {
			return Stop{}, ctx.Err()
		}
		m.cond.Wait()
	}
	return m.last, nil
}

// Running reports whether the background runner is executing the Guest.
func (m *Machine) Running() bool {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	return m.running
}

// LastStop is the most recent stop.
func (m *Machine) LastStop() Stop {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	return m.last
}

// Events returns the events with sequence number >= seq still kept, and the
// sequence number to ask for next.
func (m *Machine) Events(seq uint64) ([]Event, uint64) { return m.h.events.since(seq) }

// SetEventHook installs a function called for every event, on the Guest's
// goroutine (the headless CLI prints console text with it). Keep it fast.
func (m *Machine) SetEventHook(f func(Event)) {
	m.h.events.mu.Lock()
	m.h.events.hook = f
	m.h.events.mu.Unlock()
}

// TraceError reports a failure writing the --trace stream, if any.
func (m *Machine) TraceError() error {
	m.h.events.mu.Lock()
	defer m.h.events.mu.Unlock()
	return m.h.events.werr
}

// ConsoleInput queues bytes for the Guest's virtio console. It blocks
// while much input is already waiting for the Guest to take it (a stdin
// reader wants that back-pressure); TryConsoleInput does not.
func (m *Machine) ConsoleInput(p []byte) {
	m.h.con.Input(p)
	m.kick()
}

// TryConsoleInput queues what fits without blocking and says how much.
func (m *Machine) TryConsoleInput(p []byte) int {
	n := m.h.con.TryInput(p)
	m.kick()
	return n
}

// CloseConsoleInput releases a blocked ConsoleInput (end of stdin).
func (m *Machine) CloseConsoleInput() { m.h.con.Close() }

func (m *Machine) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Regs is a snapshot of the Guest's registers.
type Regs struct {
	GPR       [8]uint32 // eax ecx edx ebx esp ebp esi edi
	EIP       uint32
	EFLAGS    uint32
	Seg       [6]cpu.Segment // es cs ss ds fs gs
	CPL       int
	CR2       uint32 // the last page fault the Host saw
	CR3       uint32 // the Guest's own top-level table (NEW_PGTABLE), 0 in linear mode
	ShadowCR3 uint32
	ICount    uint64
}

// Regs snapshots the registers.
func (m *Machine) Regs() Regs {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.h.cpu
	var r Regs
	for i := range r.GPR {
		r.GPR[i] = c.Reg(cpu.Reg(i))
	}
	r.EIP, r.EFLAGS, r.CPL = c.EIP(), c.EFLAGS(), c.CPL()
	for i := range r.Seg {
		r.Seg[i] = c.Seg(cpu.SReg(i))
	}
	r.CR2 = m.h.lastPagefault
	r.CR3 = m.h.guestCR3()
	r.ShadowCR3 = c.CR3()
	r.ICount = c.ICount()
	return r
}

func (h *Host) guestCR3() uint32 {
	if h.pt.LinearPages() {
		return 0
	}
	for _, s := range h.pt.Slots() {
		if s.Current {
			return s.GPgdir
		}
	}
	return 0
}

// SetReg writes a general register or EIP/EFLAGS (names as gdb's i386:
// eax..edi, eip, eflags).
func (m *Machine) SetReg(name string, v uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.h.cpu
	for i, n := range []string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"} {
		if n == name {
			c.SetReg(cpu.Reg(i), v)
			return nil
		}
	}
	switch name {
	case "eip":
		c.SetEIP(v)
	case "eflags":
		c.SetEFLAGS(v)
	default:
		return fmt.Errorf("register %q cannot be written", name)
	}
	return nil
}

// VirtToPhys translates a Guest virtual address as a kernel developer
// expects: through the Guest's own page tables (or 1:1 while linear_pages
// is set), not through the shadow, which may simply not have faulted the
// page in yet. Addresses in the Switcher area resolve to its Host pages.
func (m *Machine) VirtToPhys(va uint32) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.virtToPhys(va)
}

func (h *Host) virtToPhys(va uint32) (uint32, bool) {
	if va >= h.switcherAddr {
		page := (va - h.switcherAddr) / mem.PageSize
		if page < 3 {
			return h.switcherPages[page] + va&0xFFF, true
		}
		return 0, false
	}
	if h.pt.LinearPages() {
		return va, va < h.mem.GuestLimit()
	}
	w := h.pt.WalkGuest(h.guestCR3(), va)
	return w.PA, w.Mapped
}

// ReadVirt reads Guest memory at a virtual address (see VirtToPhys).
func (m *Machine) ReadVirt(va uint32, dst []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(dst); {
		pa, ok := m.h.virtToPhys(va + uint32(i))
		if !ok {
			return fmt.Errorf("virtual address %#x is not mapped", va+uint32(i))
		}
		n := min(len(dst)-i, int(mem.PageSize-(va+uint32(i))&0xFFF))
		if !m.h.mem.ReadBytes(pa, dst[i:i+n]) {
			return fmt.Errorf("physical address %#x is outside memory", pa)
		}
		i += n
	}
	return nil
}

// WriteVirt writes Guest memory at a virtual address. The CPU's decode
// cache notices writes to code.
func (m *Machine) WriteVirt(va uint32, src []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(src); {
		pa, ok := m.h.virtToPhys(va + uint32(i))
		if !ok {
			return fmt.Errorf("virtual address %#x is not mapped", va+uint32(i))
		}
		n := min(len(src)-i, int(mem.PageSize-(va+uint32(i))&0xFFF))
		if !m.h.mem.WriteBytes(pa, src[i:i+n]) {
			return fmt.Errorf("physical address %#x is outside memory", pa)
		}
		i += n
	}
	return nil
}

// ReadPhys reads physical memory (Guest memory and the Host pool).
func (m *Machine) ReadPhys(pa uint32, dst []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.h.mem.ReadBytes(pa, dst) {
		return fmt.Errorf("physical range %#x+%d is outside memory", pa, len(dst))
	}
	return nil
}

// WritePhys writes physical memory.
func (m *Machine) WritePhys(pa uint32, src []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.h.mem.WriteBytes(pa, src) {
		return fmt.Errorf("physical range %#x+%d is outside memory", pa, len(src))
	}
	return nil
}

// LinearPages reports the Host's linear_pages flag.
func (m *Machine) LinearPages() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.pt.LinearPages()
}

// Walks is the guest-versus-shadow view of one virtual address.
type Walks struct {
	Guest  pgtable.Walk
	Shadow pgtable.Walk
	Linear bool
	Slot   int
}

// Walk walks va through the Guest's current table and the current shadow.
func (m *Machine) Walk(va uint32) Walks {
	m.mu.Lock()
	defer m.mu.Unlock()
	slot := m.h.pt.CurrentSlot()
	return Walks{
		Guest:  m.h.pt.WalkGuest(m.h.guestCR3(), va),
		Shadow: m.h.pt.WalkShadow(slot, va),
		Linear: m.h.pt.LinearPages(),
		Slot:   slot,
	}
}

// ShadowSlots lists the pgdir cache.
func (m *Machine) ShadowSlots() []pgtable.SlotInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.pt.Slots()
}

// HostState is what the Host knows about the Guest beyond its registers.
type HostState struct {
	LguestData     uint32
	HaveLguestData bool
	KernelAddress  uint32
	SwitcherAddr   uint32
	IrqsPending    uint32
	Halted         bool
	TimerArmed     bool
	TimerDeadline  uint64
	Now            uint64
	TS             bool
	SS1            uint16
	ESP1           uint32
	Dead           bool
	DeathReason    string
}

// Host snapshots the Host-side state.
func (m *Machine) Host() HostState {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.h
	return HostState{
		LguestData: h.lguestData, HaveLguestData: h.haveLguestData, KernelAddress: h.kernelAddress,
		SwitcherAddr: h.switcherAddr, IrqsPending: h.irqsPending, Halted: h.halted,
		TimerArmed: h.timerArmed, TimerDeadline: h.timerDeadline, Now: h.now(), TS: h.ts != 0,
		SS1: h.ss1, ESP1: h.esp1, Dead: h.dead, DeathReason: h.deathReason,
	}
}

// SetBreakpoint and friends are engine breakpoints on linear addresses.
// Several front ends (the TUI and a gdb session) may set one at the same
// address; it stays in the engine until each has cleared it, so each front
// end must set an address once and clear it once.
func (m *Machine) SetBreakpoint(va uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bpRefs == nil {
		m.bpRefs = map[uint32]int{}
	}
	if m.bpRefs[va] == 0 {
		m.h.cpu.SetBreakpoint(va)
	}
	m.bpRefs[va]++
}

// ClearBreakpoint drops one front end's breakpoint at va.
func (m *Machine) ClearBreakpoint(va uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.bpRefs[va] {
	case 0:
		return
	case 1:
		delete(m.bpRefs, va)
		m.h.cpu.ClearBreakpoint(va)
	default:
		m.bpRefs[va]--
	}
}

// SetWatchpoint watches n bytes at va.
func (m *Machine) SetWatchpoint(va, n uint32, kind cpu.WatchKind) {
	m.mu.Lock()
	m.h.cpu.SetWatchpoint(va, n, kind)
	m.mu.Unlock()
}

// ClearWatchpoint removes a watchpoint.
func (m *Machine) ClearWatchpoint(va, n uint32, kind cpu.WatchKind) {
	m.mu.Lock()
	m.h.cpu.ClearWatchpoint(va, n, kind)
	m.mu.Unlock()
}

// ParseUntil turns an --until word into an event matcher: "KIND" (hcall,
// trap, linear-off, pgdir, shutdown, kill, console, ...) or "KIND:NAME",
// where NAME is a hypercall name (hcall:NEW_PGTABLE), a trap vector or name
// (trap:14, trap:#PF), or text the console printed (console:login).
func ParseUntil(s string) (func(Event) bool, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	k := EventKind(kind)
	switch k {
	case EvHypercall, EvTrap, EvInterrupt, EvShadow, EvLinearOff, EvPgdirSwitch, EvConsole, EvKill, EvShutdown, EvRestart, EvHalt, EvUnimplemented:
	default:
		return nil, fmt.Errorf("--until %q: unknown event kind %q (want hcall, trap, irq, shadow, linear-off, pgdir, console, kill, shutdown, restart, halt)", s, kind)
	}
	if !hasArg {
		return func(e Event) bool { return e.Kind == k }, nil
	}
	switch k {
	case EvHypercall:
		nr, ok := HcallNumber(arg)
		if !ok {
			return nil, fmt.Errorf("--until %q: unknown hypercall %q", s, arg)
		}
		return func(e Event) bool { return e.Kind == k && e.Nr == nr }, nil
	case EvTrap, EvInterrupt:
		var v int
		if _, err := fmt.Sscanf(arg, "%v", &v); err != nil {
			return func(e Event) bool { return e.Kind == k && e.Name == arg }, nil
		}
		return func(e Event) bool { return e.Kind == k && e.Nr == v }, nil
	default:
		return func(e Event) bool { return e.Kind == k && strings.Contains(e.Text, arg) }, nil
	}
}
