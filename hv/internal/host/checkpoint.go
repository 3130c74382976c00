package host

import (
	"reflect"

	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/internal/fieldcopy"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// Checkpoints of the whole machine, for time travel: the Host's own state
// (every plain field of Host, by reflection, so new fields are captured),
// the CPU's architectural state, the shadow pgdir cache, the bus's device
// state, physical memory (guest RAM and the Host pool, incremental by
// page) and the event log's position. Replaying from one is exact because
// the only inputs from outside — console input and the real time an idle
// Guest waited — are recorded (inputRecord) and replayed by the instant
// (virtual time) they were taken at.

var hostPlan = fieldcopy.Must(reflect.TypeOf(Host{}),
	[]string{"loadAlias", "mem", "cpu", "pt", "bus", "con", "blocks", "pci", "con4", "abi4x",
		"events", "until", "runUntil", "untilHit", "idleRealtime", "wake", "pauseReq", "rec"},
	[]string{"unimpl"}) // set once, never mutated

// HistoryUnsupported says why this machine cannot be checkpointed, or "":
// block and rng devices keep state outside it (the disk file, the random
// stream), and the 4.x ABI's virtio-pci transport state is not saved.
func (h *Host) HistoryUnsupported() string {
	switch {
	case len(h.blocks) > 0 || len(h.bus.Devices()) > 1:
		return "block and rng devices keep state outside the machine"
	case h.abi4x.Load():
		return "the 4.x ABI's virtio-pci state is not checkpointed"
	}
	return ""
}

// Checkpoint is the machine at one instant between two slices of the run
// loop.
type Checkpoint struct {
	ICount uint64
	Seq    uint64 // the event log's next sequence number
	host   Host
	cpu    *cpu.State
	mem    *mem.Image
	pt     *pgtable.State
	bus    *virtio.State
}

// Bytes is what the checkpoint added to history: its new memory pages and
// its bookkeeping.
func (c *Checkpoint) Bytes() int64 { return c.mem.New + c.overhead() }

func (c *Checkpoint) overhead() int64 {
	return c.mem.Overhead() + int64(reflect.TypeOf(Host{}).Size()) + int64(reflect.TypeOf(cpu.State{}).Size())
}

// Release drops the checkpoint and returns the bytes freed.
func (c *Checkpoint) Release() int64 { return c.mem.Release() + c.overhead() }

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
		cpu:    h.cpu.SaveState(),
		mem:    h.mem.Capture(pm),
		pt:     h.pt.SaveState(),
		bus:    h.bus.SaveState(h.con),
	}
	hostPlan.Copy(&c.host, h)
	return c
}

// Restore puts the machine back to the checkpoint. The events after it are
// forgotten (a replay regenerates them); recorded outside input is kept,
// so going forward again replays it.
func (h *Host) Restore(c *Checkpoint) {
	h.mem.Restore(c.mem)
	h.cpu.RestoreState(c.cpu)
	h.pt.RestoreState(c.pt)
	h.bus.RestoreState(c.bus, h.con)
	hostPlan.Copy(h, &c.host)
	h.untilHit = nil
	h.events.Truncate(c.Seq)
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

// RecordInput starts recording outside input (history on).
func (h *Host) RecordInput() {
	if h.rec == nil {
		h.rec = &inputRecord{admits: map[uint64][]byte{}, sleeps: map[uint64]uint64{}, idleAdmits: map[uint64][]byte{}}
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
			h.con.AdmitRecorded(p)
		}
		return
	}
	p := h.con.Admit()
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
			h.con.AdmitRecorded(p)
		}
		return ok
	}
	p := h.con.Admit()
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
