package host

import (
	"fmt"
	"reflect"

	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/internal/fieldcopy"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pci"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// Checkpoints of the whole machine, for time travel: the Host's own state
// (every plain field of Host, by reflection, so new fields are captured),
// the CPU's architectural state, the shadow pgdir cache, the device state
// of both transports (the lguest bus; the 4.x PCI bus with its config
// space, BARs and queues), physical memory (guest RAM and the Host pool,
// incremental by page), the disks (copy-on-write by disk page, the file
// kept at the present: hv/virtio/blockhist.go), each entropy device's
// place on its tape, and the event log's position. Replaying from one is
// exact because the only inputs from outside — console input, the real
// time an idle Guest waited and the entropy source — are recorded
// (inputRecord; the RNG's tape) and replayed by the instant (virtual time)
// or stream position they were taken at.

var hostPlan = fieldcopy.Must(reflect.TypeOf(Host{}),
	[]string{"loadAlias", "mem", "cpu", "pt", "bus", "con", "blocks", "rngs", "pci", "con4", "abi4x",
		"events", "until", "runUntil", "untilHit", "idleRealtime", "wake", "pauseReq", "rec",
		"argArena"}, // events' storage, not state: restored events keep theirs
	[]string{"unimpl"}) // set once, never mutated

// Checkpoint is the machine at one instant between two slices of the run
// loop.
type Checkpoint struct {
	ICount uint64
	Seq    uint64 // the event log's next sequence number
	host   Host
	abi4x  bool
	cpu    *cpu.State
	mem    *mem.Image
	pt     *pgtable.State
	bus    *virtio.State
	pci    *pci.State // nil: no PCI bus
	con4   []byte     // the 4.x console's admitted input
	disks  []*virtio.DiskState
	rngs   []virtio.RNGState
	// taped is the entropy on tape at this instant and tapeNew what it
	// grew by since the previous checkpoint, charged to this one. The
	// tape itself is kept whole (a few bytes per Guest request), so what
	// Release gives back for it is an estimate, as for disk pages.
	taped, tapeNew int64
}

// Bytes is what the checkpoint added to history: its new memory and disk
// pages, the entropy taped since the previous one, and its bookkeeping.
func (c *Checkpoint) Bytes() int64 { return c.mem.New + c.diskNew() + c.tapeNew + c.overhead() }

// diskNew is the disk pages written since the previous checkpoint. Like
// memory pages they are shared with later checkpoints while unchanged, so
// what Release gives back is an estimate when they outlive it.
func (c *Checkpoint) diskNew() int64 {
	var n int64
	for _, d := range c.disks {
		n += d.New
	}
	return n
}

func (c *Checkpoint) overhead() int64 {
	return c.mem.Overhead() + int64(reflect.TypeOf(Host{}).Size()) + int64(reflect.TypeOf(cpu.State{}).Size())
}

// Release drops the checkpoint and returns the bytes freed.
func (c *Checkpoint) Release() int64 {
	return c.mem.Release() + c.diskNew() + c.tapeNew + c.overhead()
}

// Checkpoint saves the machine, sharing unchanged memory pages with prev
// (nil: none).
func (h *Host) Checkpoint(prev *Checkpoint) *Checkpoint {
	var pm *mem.Image
	if prev != nil {
		pm = prev.mem
	}
	c := &Checkpoint{
		ICount: h.cpu.ICount(),
		Seq:    h.events.Next(),
		abi4x:  h.abi4x.Load(),
		cpu:    h.cpu.SaveState(),
		mem:    h.mem.Capture(pm),
		pt:     h.pt.SaveState(),
		bus:    h.bus.SaveState(h.con),
	}
	if h.pci != nil {
		c.pci = h.pci.SaveState()
		c.con4 = h.con4.Ready()
	}
	for _, b := range h.blocks {
		c.disks = append(c.disks, b.SaveDisk())
	}
	for _, r := range h.rngs {
		c.rngs = append(c.rngs, r.SaveRNG())
		c.taped += r.Taped()
	}
	c.tapeNew = c.taped
	if prev != nil {
		c.tapeNew -= prev.taped
	}
	hostPlan.Copy(&c.host, h)
	return c
}

// Restore puts the machine back to the checkpoint: the disk files too, so
// they show the instant travelled to. The events after it are forgotten
// (a replay regenerates them); recorded outside input is kept, so going
// forward again replays it.
func (h *Host) Restore(c *Checkpoint) {
	h.mem.Restore(c.mem)
	h.cpu.RestoreState(c.cpu)
	h.pt.RestoreState(c.pt)
	h.bus.RestoreState(c.bus, h.con)
	if h.pci != nil {
		h.pci.RestoreState(c.pci)
		h.con4.SetReady(c.con4)
	}
	var diskErr error
	for i, b := range h.blocks {
		if err := b.RestoreDisk(c.disks[i]); err != nil && diskErr == nil {
			diskErr = err
		}
	}
	for i, r := range h.rngs {
		r.RestoreRNG(c.rngs[i])
	}
	h.abi4x.Store(c.abi4x)
	hostPlan.Copy(h, &c.host)
	h.untilHit = nil
	h.events.Truncate(c.Seq)
	if diskErr != nil {
		h.launcherWarning(fmt.Sprintf("travelling in time: the disk file could not be rewritten: %v", diskErr))
	}
}

// inputRecord is the outside input a run took, keyed by the virtual time
// (now) it was taken at: console bytes admitted and real-time idle waits.
// Decisions at a now below a frontier were taken before and are replayed;
// from the frontier on they are live and recorded. It lives outside the
// checkpointed state: going back in time keeps the future's input.
type inputRecord struct {
	admitFrontier uint64
	admits        map[uint64][]byte
	sleepFrontier uint64
	sleeps        map[uint64]uint64
	// Input that woke a Guest halted with nothing armed: time stands
	// still there, so it is keyed by the instant it waited at.
	idleFrontier uint64
	idleAdmits   map[uint64][]byte
}

// RecordInput starts recording outside input (history on): console
// input and idle waits here, the entropy devices' streams on their tapes,
// the disks' past writes.
func (h *Host) RecordInput() {
	if h.rec == nil {
		h.rec = &inputRecord{admits: map[uint64][]byte{}, sleeps: map[uint64]uint64{}, idleAdmits: map[uint64][]byte{}}
	}
	for _, b := range h.blocks {
		b.Record()
	}
	for _, r := range h.rngs {
		r.Record()
	}
}

// ForgetFuture drops recorded input from now on: the present was changed
// (a debugger wrote a register or memory), so the old future is gone.
func (h *Host) ForgetFuture() {
	if h.rec == nil {
		return
	}
	n := h.now()
	for k := range h.rec.admits {
		if k >= n {
			delete(h.rec.admits, k)
		}
	}
	for k := range h.rec.sleeps {
		if k >= n {
			delete(h.rec.sleeps, k)
		}
	}
	for k := range h.rec.idleAdmits {
		if k >= n {
			delete(h.rec.idleAdmits, k)
		}
	}
	h.rec.idleFrontier = min(h.rec.idleFrontier, n)
	h.rec.admitFrontier = min(h.rec.admitFrontier, n)
	h.rec.sleepFrontier = min(h.rec.sleepFrontier, n)
	h.events.Diverge()
}

// admitInput is the one point where console input from outside becomes
// Guest-visible: once per instant of virtual time (the run loop may pass
// the same instant several times, and a replay must take the same bytes
// at the same pass).
func (h *Host) admitInput() {
	n := h.now()
	if n < h.admitNext {
		return
	}
	h.admitNext = n + 1
	if h.rec != nil && n < h.rec.admitFrontier {
		if p, ok := h.rec.admits[n]; ok {
			h.consoleIn().AdmitRecorded(p)
		}
		return
	}
	p := h.consoleIn().Admit()
	if h.rec != nil {
		if len(p) > 0 {
			h.rec.admits[n] = p
		}
		h.rec.admitFrontier = n + 1
	}
}

// admitWhileIdle admits input for a Guest halted with nothing armed, where
// virtual time stands still, so admitInput's once-per-instant pass has
// gone: it reports whether input came (the loop goes round to deliver
// it) or the Guest must wait for some (StopHaltedForever).
func (h *Host) admitWhileIdle() bool {
	n := h.now()
	if h.rec != nil && n < h.rec.idleFrontier {
		p, ok := h.rec.idleAdmits[n]
		if ok {
			h.consoleIn().AdmitRecorded(p)
		}
		return ok
	}
	p := h.consoleIn().Admit()
	if len(p) == 0 {
		return false
	}
	if h.rec != nil {
		h.rec.idleAdmits[n] = p
		h.rec.idleFrontier = n + 1
	}
	return true
}

// idleWait is how long an idle Guest sleeps towards its clock event, ns
// away: in real time when interactive (recorded), replayed when that
// instant was lived before, and all of it otherwise.
func (h *Host) idleWait(ns uint64) uint64 {
	if !h.idleRealtime {
		return ns
	}
	n := h.now()
	if h.rec != nil && n < h.rec.sleepFrontier {
		if s, ok := h.rec.sleeps[n]; ok {
			return s
		}
		return ns
	}
	// At least 1 ns, so every wait moves virtual time on and the next
	// decision has an instant of its own.
	s := max(h.sleepReal(ns), 1)
	if h.rec != nil {
		h.rec.sleeps[n] = s
		h.rec.sleepFrontier = n + 1
	}
	return s
}
