// Package host is lgdbg's lguest Host: the hypervisor and Launcher rebuilt
// around a software CPU, kept behind hv.Machine.
//
// The original lguest is three parts — a Launcher in user space, a Host
// kernel module and a page of Switcher assembly (spec §1). Here the first
// two collapse into this package and the third into the CPU returning an
// Exit. The journey through the code follows the Host's: the run loop
// (run.go) runs the Guest until it exits, the Host handles hypercalls
// (hypercalls.go), reflects traps and injects interrupts (traps.go), keeps
// the Guest's GDT and IDT honest (segments.go), keeps the Switcher's pages
// current (switcher.go), and hv/pgtable keeps the shadow page tables.
// Every step appends a typed event (hv/event); hv.Machine is the one
// façade the UI, the gdb stub and the headless CLI drive.
package host

import (
	"fmt"
	"sync/atomic"

	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pci"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// Virtual time, for determinism: one retired instruction is one
// nanosecond, and the TSC ticks once per nanosecond, so the Guest sees a
// 1 GHz constant-rate TSC and tsc_khz = 1000000. HALT skips virtual time
// forward to the next clock event.
const (
	TSCkHz = 1000000
	// bootEpochNS is the wall-clock time the Guest boots at: fixed, so
	// runs are reproducible (2026-01-01T00:00:00Z).
	bootEpochNS = 1767225600 * 1e9
	// runSlice bounds one CPU run so the loop notices timers, pauses and
	// console input promptly.
	runSlice = 1 << 20
)

// Host is one lguest Guest and everything the Host keeps about it: the
// union of lguest's struct lguest and struct lg_cpu for our single vCPU.
type Host struct {
	// loadAlias maps an unmapped kernel link address to its load
	// address for debugger accesses (view.go); nil = none.
	loadAlias func(va uint32) (uint32, bool)

	mem *mem.Phys
	cpu *cpu.CPU
	pt  *pgtable.Tables
	bus *virtio.Bus
	con *virtio.Console
	// blocks are the --block devices, synced by Machine.Close, and rngs
	// the --rng ones (one of each per transport: lguest bus and PCI).
	blocks []*virtio.Block
	rngs   []*virtio.RNG
	// The 4.x Launcher's PCI bus and console (abi4x.go), used once the
	// Guest turns out to speak the 4.x ABI.
	pci   *pci.Bus
	con4  *virtio.Console
	abi4x atomic.Bool

	ram          uint32
	pae          bool
	paeSource    PAESource // why pae is what it is (paging.go)
	switcherAddr uint32
	// [0] text, [1] regs page, [2] read-only state (spec §9.1).
	switcherPages [3]uint32
	switcherDirty bool

	events *event.Log
	// argArena is where hypercall events' argument words are stored
	// (eventArgs).
	argArena []uint32

	// lguest_data and what we cached from it at INIT (spec §3.3.2).
	haveLguestData bool
	lguestData     uint32
	noirqStart     uint32
	noirqEnd       uint32
	noirqIret      uint32 // 4.x (abi4x.go)
	kernelAddress  uint32

	// Hypercalls (spec §3).
	hcall         hcallArgs
	hcallPending  bool
	nextHcall     int
	pendingNotify uint32

	// Interrupts and time (spec §5.5, §8).
	irqsPending   uint32
	halted        bool
	timerArmed    bool
	timerDeadline uint64 // virtual ns
	skew          uint64 // ns skipped while halted
	lastPagefault uint32
	ts            uint32

	// SET_STACK (spec §3.3.7).
	ss1        uint16
	esp1       uint32
	stackPages uint32

	// The Guest's GDT and IDT as it gave them to us (spec §5.6, §6).
	gdt        [gdtEntries]uint64
	idt        [256]uint64
	gdtChanged bool
	tlsChanged bool
	idtChanged bool

	// Death (spec §0 kill_guest): only the first reason is kept.
	dead        bool
	deathReason string
	powerOff    bool
	restart     bool
	shutdownMsg string
	unimpl      *cpu.Exit

	until    func(Event) bool // Config.Until: for every run
	runUntil func(Event) bool // the current run's own (Machine.RunUntil)
	untilHit *Event

	// Interactive pacing (Config.IdleRealtime): the driver's wake-up
	// channel and pause request, seen while the Guest idles.
	idleRealtime bool
	wake         chan struct{}
	pauseReq     atomic.Bool

	// Exits at instants of the Host's own choosing only (run.go): the
	// CPU's current slice ends at cpuEnd, and midRun says a stop of the
	// driver's (a step, a breakpoint, a limit, a pause) interrupted it, so
	// the next run continues the slice without an extra Host iteration.
	cpuEnd uint64
	midRun bool
	// admitNext: console input is admitted once per instant (see
	// admitInput); rec records outside input while history is on.
	admitNext uint64
	rec       *inputRecord
}

func (h *Host) now() uint64 { return h.cpu.ICount() + h.skew }

func (h *Host) wallclockNS() uint64 { return bootEpochNS + h.now() }

// kill is kill_guest: the Guest will never run again, for the first reason
// given. The caller carries on to the end of its operation, as in lguest.
func (h *Host) kill(reason string) {
	if h.dead {
		return
	}
	h.dead = true
	h.deathReason = reason
	h.emit(Event{Kind: EvKill, Text: reason, EIP: h.cpu.EIP()})
}

func (h *Host) emit(e Event) {
	e.ICount = h.cpu.ICount()
	h.events.Add(e)
	if h.untilHit == nil && (h.until != nil && h.until(e) || h.runUntil != nil && h.runUntil(e)) {
		hit := e
		h.untilHit = &hit
	}
}

// console sends Guest text to the console stream.
func (h *Host) console(text []byte) {
	if len(text) > 0 {
		h.emit(Event{Kind: EvConsole, Text: string(text)})
	}
}

// mmu adapts the CPU to what the shadow page-table code needs of it.
type mmu struct {
	c   *cpu.CPU
	pae *bool // the Host's mode, which the first NEW_PGTABLE may switch
}

func (m mmu) SetRoot(cr3 uint32)        { m.c.SetPaging(true, cr3, *m.pae) }
func (m mmu) FlushTLB()                 { m.c.FlushTLB() }
func (m mmu) FlushTLBPage(vaddr uint32) { m.c.FlushTLBPage(vaddr) }

func (h *Host) onShadowChange(c pgtable.Change) {
	h.emit(Event{Kind: EvShadow, Slot: c.Slot, Level: c.Level.String(), Index: c.Index, VAddr: c.VAddr, Old: c.Old, New: c.New, Why: c.Why})
}

// initVCPU sets the state LHREQ_INITIALIZE leaves the vCPU in (spec §2.5).
func (h *Host) initVCPU(entry uint32) error {
	h.gdt[gdtKernelCS] = guestKernelCSDesc
	h.gdt[gdtKernelDS] = guestKernelDSDesc
	for i := 0; i < gdtEntries; i++ {
		h.cpu.SetGDTEntry(i, h.liveGDTEntry(i))
	}
	h.idtChanged = true
	h.syncIDT()
	c := h.cpu
	for _, l := range []struct {
		s   cpu.SReg
		sel uint16
	}{{cpu.CS, kernelCS | guestPL}, {cpu.SS, kernelDS | guestPL}, {cpu.DS, kernelDS | guestPL}, {cpu.ES, kernelDS | guestPL}, {cpu.FS, 0}, {cpu.GS, 0}} {
		if v, e, ok := c.LoadSeg(l.s, l.sel); !ok {
			return fmt.Errorf("initial segment %d selector %#x does not load: vector %d error %#x", l.s, l.sel, v, e)
		}
	}
	for r := cpu.EAX; r <= cpu.EDI; r++ {
		c.SetReg(r, 0)
	}
	c.SetEIP(entry)
	c.SetEFLAGS(0x202)
	return nil
}

// serviceNotify hands the Guest's NOTIFY to the Launcher's side, the lguest
// bus (spec §5.1 step 2), and prints what the console device produced.
func (h *Host) serviceNotify() {
	addr := h.pendingNotify
	h.pendingNotify = 0
	r := h.bus.Notify(addr)
	if len(r.Text) > 0 {
		h.console(r.Text)
	}
	if r.Fatal != "" {
		// The Launcher would exit with this message; we kill the
		// Guest instead and stay up, with every log intact.
		h.kill(r.Fatal)
	}
}

func (h *Host) checkTimer() {
	if h.timerArmed && h.now() >= h.timerDeadline {
		h.timerArmed = false
		h.setInterrupt(0)
	}
}
