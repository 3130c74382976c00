package hv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/internal/host"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// Provenance of guest page-table entries (issue 14 item 4). A guest entry
// is ordinary guest memory: any instruction of the Guest may store to it,
// and so may the Host (demand_page writes the accessed and dirty bits back
// into the Guest's PTE, spec §7.3; devices and hypercalls write guest
// memory too). Nothing logs those stores, so they are found on demand by
// replaying history with a write watch on the entries' physical bytes
// (mem.Phys.SetWatch): pages holding a watched entry take the slow store
// path, where every store, the Guest's or the Host's, is heard together
// with the instruction making it (cpu.CPU.Writer). The replay then puts
// the whole machine back to the present (a checkpoint of it taken first)
// and the event log as it was (event.Log.Preserve), so a query changes
// nothing a front end can see.

// PhysRange is the physical bytes [Addr, Addr+Len).
type PhysRange struct{ Addr, Len uint32 }

// EntryWriter is the last store to a range before the present.
type EntryWriter struct {
	Range PhysRange
	// Found: history holds the store. Otherwise Note says why not.
	Found bool
	// ICount is the instructions retired before the store: Goto(ICount)
	// lands just before the instruction that made it (for the Host, just
	// before what the Host was handling there).
	ICount uint64
	// EIP is the storing instruction's address; for the Host, where the
	// Guest was when the Host stored (the instruction that trapped, or
	// the one after a hypercall).
	EIP    uint32
	Symbol string // EIP's symbol, "sym+0x12", when the symbols know it
	// Guest: an instruction of the Guest stored; else the Host did, and
	// Cause names what it was handling when the log still says.
	Guest bool
	Cause string
	// Old and New are the range's bytes (little-endian) before and after
	// the store.
	Old, New uint64
	Note     string
	seq      uint64 // the event log's next sequence number at the store
}

// String is the writer in one line for the front ends: "@ICOUNT by ..."
// (By), or why there is none.
func (w EntryWriter) String() string {
	if !w.Found {
		return w.Note
	}
	return fmt.Sprintf("@%d by %s", w.ICount, w.By())
}

// By names the writer: "the Guest at EIP <sym> (old -> new)", or the Host
// with what it was handling and where the Guest was.
func (w EntryWriter) By() string {
	return fmt.Sprintf("%s (%#x -> %#x)", storer(w.EIP, w.Symbol, w.Guest, w.Cause), w.Old, w.New)
}

// storer names who made a store to a guest entry: "the Guest at EIP
// <sym>", or "the Host, CAUSE, guest at EIP <sym>".
func storer(eip uint32, symbol string, guest bool, cause string) string {
	at := fmt.Sprintf("%#x", eip)
	if symbol != "" {
		at += " <" + symbol + ">"
	}
	if guest {
		return "the Guest at " + at
	}
	by := "the Host"
	if cause != "" {
		by += ", " + cause
	}
	return by + ", guest at " + at
}

// LevelWriter is one level of the Guest's walk and its entry's last writer.
type LevelWriter struct {
	Level  pgtable.Level
	Writer EntryWriter
}

// GuestWriters finds, for each range (1 to 8 bytes of guest memory), the
// last store to it before the present: it replays the checkpoint
// intervals from the newest one before the present backwards until every
// range has its writer or history's start is reached. The machine is left
// exactly at the present. It needs history (ErrNoHistory) and a stopped
// Guest (ErrRunning).
func (m *Machine) GuestWriters(ranges []PhysRange) ([]EntryWriter, error) {
	if err := m.claimTravel(); err != nil {
		return nil, err
	}
	defer m.endQuery()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.guestWriters(ranges)
}

// GuestWalkWriters is GuestWriters for the entries of the Guest's walk of
// va at the present, one per level. Under linear_pages the Guest has no
// tables (the walk's entries are the Host's fakes): nil.
func (m *Machine) GuestWalkWriters(va uint32) ([]LevelWriter, error) {
	if err := m.claimTravel(); err != nil {
		return nil, err
	}
	defer m.endQuery()
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.h.Walk(va)
	if w.Guest.Linear {
		return nil, nil
	}
	var ranges []PhysRange
	for _, l := range w.Guest.Levels {
		ranges = append(ranges, PhysRange{l.EntryAddr, m.entrySize()})
	}
	ws, err := m.guestWriters(ranges)
	if err != nil {
		return nil, err
	}
	out := make([]LevelWriter, len(ws))
	for i, x := range ws {
		out[i] = LevelWriter{Level: w.Guest.Levels[i], Writer: x}
	}
	return out, nil
}

func (m *Machine) entrySize() uint32 {
	if m.h.PAE() {
		return 8
	}
	return 4
}

// endQuery gives the CPU back after a query that left the machine at the
// present: no stop to report, the last one still holds. A cancellation
// asked for is used up.
func (m *Machine) endQuery() {
	m.queryCancel.Store(false)
	m.ctl.Lock()
	defer m.ctl.Unlock()
	m.running = false
	close(m.done)
}

// ErrCancelled is a provenance query's answer when CancelQuery stopped it.
var ErrCancelled = errors.New("the history query was cancelled")

// CancelQuery stops the provenance query running now (GuestWriters,
// GuestWalkWriters, GuestEntryHistory, MappingHistory,
// ShadowWritersInHistory), or the next one to start: it puts the machine
// back at the present and answers ErrCancelled. A query replays history
// and can take seconds on a long run; a front end that queued one calls
// this when the user asks for something else, so the user does not wait
// for an answer no longer wanted. Safe from any goroutine.
func (m *Machine) CancelQuery() { m.queryCancel.Store(true) }

func (m *Machine) checkRanges(ranges []PhysRange) error {
	lim := m.h.Mem().GuestLimit()
	for _, r := range ranges {
		if r.Len == 0 || r.Len > 8 || r.Addr >= lim || r.Len > lim-r.Addr {
			return fmt.Errorf("physical range %#x+%d: want 1 to 8 bytes of guest memory (below %#x)", r.Addr, r.Len, lim)
		}
	}
	return nil
}

// guestWriters is GuestWriters with the CPU claimed and mu held.
func (m *Machine) guestWriters(ranges []PhysRange) ([]EntryWriter, error) {
	if err := m.checkRanges(ranges); err != nil {
		return nil, err
	}
	out := make([]EntryWriter, len(ranges))
	for i, r := range ranges {
		out[i].Range = r
	}
	hs := m.hist
	m.preservingPresent(func(p present) {
		w := newWatcher(m, p)
		left := make([]int, len(ranges)) // the ranges still without a writer
		for i := range left {
			left[i] = i
		}
		top := p.checkpoint(hs.cps)
		for i := top; i >= 0 && len(left) > 0 && !m.queryCancel.Load(); i-- {
			m.h.Restore(hs.cps[i])
			sub := make([]PhysRange, len(left))
			for k, j := range left {
				sub[k] = ranges[j]
			}
			w.arm(sub)
			if i == top {
				m.replayWatched(p.icount, &p)
			} else {
				m.replayWatched(hs.cps[i+1].ICount, nil)
			}
			w.disarm()
			var still []int
			for k, j := range left {
				if h := w.last[k]; h.Found {
					h.Range = ranges[j]
					out[j] = h
				} else {
					still = append(still, j)
				}
			}
			left = still
		}
		for _, j := range left {
			out[j].Note = m.beforeHistory()
		}
	})
	if m.queryCancel.Load() {
		return nil, ErrCancelled
	}
	for i := range out {
		m.describe(&out[i])
	}
	return out, nil
}

// beforeHistory says why a range has no writer in history.
func (m *Machine) beforeHistory() string {
	if o := m.hist.cps[0].ICount; o > 0 {
		return fmt.Sprintf("not written since history starts (icount %d); older writes are forgotten", o)
	}
	return "not written since the Launcher loaded the image (icount 0)"
}

// describe names a writer's EIP and, for the Host, what it was handling:
// the trap it logs after handling it at the same icount, or the
// hypercall it logs before (the rule the TUI's shadow provenance uses).
func (m *Machine) describe(w *EntryWriter) {
	const reach = 256
	m.describeWith(w, m.h.Events().Range(max(w.seq, reach)-reach, w.seq+reach))
}

// describeWith is describe with the traps and hypercalls around the store
// given: the event log's, or those heard on a replay (entryHistory).
func (m *Machine) describeWith(w *EntryWriter, evs []Event) {
	if !w.Found {
		return
	}
	if n, ok := m.syms.Code(w.EIP); ok {
		w.Symbol = n.Base()
	}
	if w.Guest {
		return
	}
	// the first trap or hypercall at or after the store, and the last
	// one before it, at the store's icount
	var after, before *event.Event
	for i := range evs {
		e := &evs[i]
		if e.ICount != w.ICount || e.Kind != event.Trap && e.Kind != event.Hypercall {
			continue
		}
		if e.Seq < w.seq {
			before = e
		} else if after == nil {
			after = e
		}
	}
	trap, call := after, before
	if trap != nil && trap.Kind != event.Trap {
		trap = nil
	}
	if call != nil && call.Kind != event.Hypercall {
		call = nil
	}
	switch {
	case trap != nil:
		w.Cause = fmt.Sprintf("handling trap %d (%s)", trap.Nr, trap.Name)
		if trap.Nr == 14 {
			w.Cause += fmt.Sprintf(" cr2 %#x", trap.CR2)
		}
	case call != nil:
		w.Cause = "hcall " + call.Name
	}
}

// present is the instant a query starts from and comes back to.
type present struct{ icount, seq uint64 }

// checkpoint is the index of the newest checkpoint not after p.
func (p present) checkpoint(cps []*host.Checkpoint) int {
	i := len(cps) - 1
	for i > 0 && (cps[i].ICount > p.icount || cps[i].ICount == p.icount && cps[i].Seq > p.seq) {
		i--
	}
	return i
}

// preservingPresent runs f, which replays history, and then puts the
// machine back exactly at the present: registers, memory, Host and
// devices from a checkpoint taken first, the event log as it was, the
// debugger's breakpoints and where it resumes past one. The replays run
// without breakpoints or until events. mu is held.
func (m *Machine) preservingPresent(f func(p present)) {
	h := m.h
	p := present{h.CPU().ICount(), h.Events().Next()}
	resumeAt := h.CPU().SaveResume()
	scratch := h.Checkpoint(m.hist.cps[len(m.hist.cps)-1])
	restoreLog := h.Events().Preserve()
	resume := h.CPU().SuspendDebug()
	h.SetRunUntil(nil)
	until := h.SwapUntil(nil)
	defer func() {
		h.Mem().SetWatch(nil, nil)
		h.Events().SetObserver(nil)
		h.SwapUntil(until)
		resume()
		h.Restore(scratch)
		restoreLog()
		scratch.Release()
		h.CPU().RestoreResume(resumeAt)
	}()
	f(p)
}

// replayWatched runs the restored machine to icount end: a checkpoint's
// instant, or the present p's, where it also redoes the Host's work at
// that icount that the present had seen (a trap handled there) by
// single steps until the event log is where the present's was.
func (m *Machine) replayWatched(end uint64, p *present) {
	h := m.h
	for h.CPU().ICount() < end {
		if m.queryCancel.Load() {
			return // the query's answer is no longer wanted (CancelQuery)
		}
		slice := min(end, (h.CPU().ICount()/host.RunSlice+1)*host.RunSlice)
		s := h.Run(false, slice)
		if s.Reason != StopInstructionLimit && s.Reason != StopPaused {
			return // the Guest's death or a halt for good: history ends here
		}
	}
	if p == nil || m.queryCancel.Load() {
		return
	}
	for i := 0; i < 16 && h.CPU().ICount() == p.icount && h.Events().Next() < p.seq; i++ {
		if s := h.Run(true, 0); s.Reason.Terminal() || s.Reason == StopHaltedForever {
			return
		}
	}
}

// watcher hears the stores to a set of ranges during a replay.
type watcher struct {
	m      *Machine
	p      present
	ranges []PhysRange
	cur    []uint64      // each range's bytes now
	last   []EntryWriter // each range's last store in this replay
	// change, if set, hears every store to range k as it happens, and
	// after once per store that touched a range (it may re-arm).
	change func(k int, w EntryWriter)
	after  func()
}

func newWatcher(m *Machine, p present) *watcher { return &watcher{m: m, p: p} }

// arm watches ranges from the machine's current state on.
func (w *watcher) arm(ranges []PhysRange) {
	w.ranges = ranges
	w.cur = make([]uint64, len(ranges))
	w.last = make([]EntryWriter, len(ranges))
	pr := make([][2]uint32, len(ranges))
	for k, r := range ranges {
		w.cur[k] = w.read(r)
		pr[k] = [2]uint32{r.Addr, r.Len}
	}
	w.m.h.Mem().SetWatch(pr, w.note)
	for _, r := range ranges {
		w.m.h.CPU().DropWriteTLB(r.Addr)
		w.m.h.CPU().DropWriteTLB(r.Addr + r.Len - 1)
	}
}

func (w *watcher) disarm() { w.m.h.Mem().SetWatch(nil, nil) }

func (w *watcher) read(r PhysRange) uint64 {
	var b [8]byte
	w.m.h.Mem().ReadBytes(r.Addr, b[:r.Len])
	return binary.LittleEndian.Uint64(b[:])
}

// note is the memory's watch callback: a store to [pa, pa+n) on a
// watched page.
func (w *watcher) note(pa, n uint32) {
	ic, eip, guest := w.m.h.CPU().Writer()
	seq := w.m.h.Events().Next()
	if ic > w.p.icount || ic == w.p.icount && seq > w.p.seq {
		return // past the present (the last replay's final steps)
	}
	hit := false
	for k, r := range w.ranges {
		if pa >= r.Addr+r.Len || r.Addr >= pa+n {
			continue
		}
		now := w.read(r)
		x := EntryWriter{Range: r, Found: true, ICount: ic, EIP: eip, Guest: guest, Old: w.cur[k], New: now, seq: seq}
		w.cur[k], w.last[k] = now, x
		hit = true
		if w.change != nil {
			w.change(k, x)
		}
	}
	if hit && w.after != nil {
		w.after()
	}
}
