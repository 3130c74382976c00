package hv

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/lgdbg/lgdbg/hv/internal/host"
)

// M:120 Time travel. While history is on, the Machine checkpoints the whole
// machine between run slices, every interval instructions, and records the
// outside input (console bytes, real-time idle waits) by the virtual
// instant it was taken at. Any instant in history is then a restore of the
// nearest checkpoint before it and an exact replay up to it: the run loop
// exits only at instants the Guest chooses (host.run), so a replay takes
// the same path as the run it repeats, whatever the debugger did then.
//
// The interval adapts so checkpoints cost about checkpointShare of the run
// time; when history outgrows its budget the oldest checkpoint goes.

const (
	minInterval     = host.RunSlice
	maxInterval     = 64 * host.RunSlice
	checkpointShare = 0.04
)

// ErrNoHistory is returned by the time-travel calls when history is off.
var ErrNoHistory = errors.New("history is off (--history 0, or not an interactive run)")

type history struct {
	cps []*host.Checkpoint // oldest first, increasing ICount
	// near are scratch restore points a little behind where reverse
	// steps landed (nearMarks), so that gdb's loops of reverse-stepi
	// (reverse-step, reverse-next) replay thousands of instructions per
	// step, not up to a whole interval. They are on the recorded line
	// like cps, are dropped when the present changes, and are few.
	near     []*host.Checkpoint
	budget   int64
	used     int64
	interval uint64
	runStart time.Time // wall time of the last checkpoint, for adapting
}

// HistoryInfo describes the history kept.
type HistoryInfo struct {
	On          bool
	Oldest      uint64 // the first icount one can travel to
	Checkpoints int
	Bytes       int64  // memory held by the checkpoints (not the few near points)
	Budget      int64  // what it may grow to
	Interval    uint64 // instructions between checkpoints, now
}

// enableHistory starts recording with a budget of bytes; called by New
// before the first run.
func (m *Machine) enableHistory(budget int64) {
	m.h.RecordInput()
	m.hist = &history{budget: budget, interval: 4 * minInterval}
	m.checkpoint()
}

// History describes the history kept (On false when off). It does not
// wait for a running Guest: the description is refreshed at every
// checkpoint, so a UI can call it on its event loop.
func (m *Machine) History() HistoryInfo {
	if h := m.histInfo.Load(); h != nil {
		return *h
	}
	return HistoryInfo{}
}

// publishHistory refreshes what History returns; mu is held.
func (m *Machine) publishHistory() {
	hs := m.hist
	if hs == nil {
		m.histInfo.Store(&HistoryInfo{})
		return
	}
	m.histInfo.Store(&HistoryInfo{On: true, Oldest: hs.cps[0].ICount, Checkpoints: len(hs.cps), Bytes: hs.used, Budget: hs.budget, Interval: hs.interval})
}

// checkpoint saves the machine now; mu is held.
func (m *Machine) checkpoint() {
	hs := m.hist
	var prev *host.Checkpoint
	if n := len(hs.cps); n > 0 {
		prev = hs.cps[n-1]
	}
	t0 := time.Now()
	c := m.h.Checkpoint(prev)
	cost := time.Since(t0)
	hs.cps = append(hs.cps, c)
	hs.used += c.Bytes()
	for hs.used > hs.budget && len(hs.cps) > 1 {
		hs.used -= hs.cps[0].Release()
		hs.cps[0] = nil
		hs.cps = hs.cps[1:]
	}
	hs.dropNear(func(n *host.Checkpoint) bool { return n.ICount < hs.cps[0].ICount })
	// Adapt: keep the checkpoint's cost near checkpointShare of the run
	// time it follows.
	if !hs.runStart.IsZero() {
		run := t0.Sub(hs.runStart)
		switch {
		case float64(cost) > checkpointShare*float64(run) && hs.interval < maxInterval:
			// Straight to the interval the share allows (in powers of
			// two), not one doubling per checkpoint.
			for want := float64(hs.interval) * float64(cost) / (checkpointShare * float64(run)); float64(hs.interval) < want && hs.interval < maxInterval; {
				hs.interval *= 2
			}
		case float64(cost) < checkpointShare/4*float64(run) && hs.interval > minInterval:
			hs.interval /= 2
		}
	}
	hs.runStart = time.Now()
	m.publishHistory()
}

// afterSlice takes a checkpoint when the run has gone interval past the
// newest one; mu is held.
func (m *Machine) afterSlice() {
	hs := m.hist
	if hs == nil {
		return
	}
	if m.h.CPU().ICount() >= hs.cps[len(hs.cps)-1].ICount+hs.interval {
		m.checkpoint()
	}
}

// changedPresent is called when a debugger changes the Guest's state
// (registers, memory): the recorded future no longer follows from the
// present, so it is forgotten. mu is held.
func (m *Machine) changedPresent() {
	hs := m.hist
	if hs == nil {
		return
	}
	ic := m.h.CPU().ICount()
	hs.dropNear(func(*host.Checkpoint) bool { return true })
	for len(hs.cps) > 1 && hs.cps[len(hs.cps)-1].ICount >= ic {
		n := len(hs.cps) - 1
		hs.used -= hs.cps[n].Release()
		hs.cps = hs.cps[:n]
	}
	m.h.ForgetFuture()
	if last := hs.cps[len(hs.cps)-1]; last.ICount >= ic {
		// Only the oldest is left and it is this instant: take it
		// again, with the change.
		hs.used -= last.Release()
		hs.cps = hs.cps[:0]
	}
	m.checkpoint()
}

// claimTravel claims the CPU for a journey in time: unlike a run, it is
// allowed on a dead Guest (its past is alive).
func (m *Machine) claimTravel() error {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	if m.hist == nil {
		return ErrNoHistory
	}
	if m.running {
		return ErrRunning
	}
	m.running = true
	m.done = make(chan struct{})
	m.h.ClearPause()
	return nil
}

// travelTo brings the machine to icount t: from the present if t is ahead
// of it and force is false, else from the newest restore point at or
// before t. It replays with breakpoints and until events off. The Stop is
// where it landed: StopPaused, or the Guest's death when t is its instant
// (the shutdown hypercall at icount t is made before a stop at t could
// be). mu is held.
func (m *Machine) travelTo(t uint64, force bool) (Stop, error) {
	hs := m.hist
	if t < hs.cps[0].ICount {
		return Stop{}, fmt.Errorf("icount %d is before the start of history (%d)", t, hs.cps[0].ICount)
	}
	ic := m.h.CPU().ICount()
	if force || t < ic || m.LastStop().Reason.Terminal() {
		m.h.Restore(hs.restorePoint(t))
	}
	return m.replayTo(t)
}

// replayTo runs from here to icount t (not before it), with the
// debugger's stops and until events off; see travelTo. mu is held.
func (m *Machine) replayTo(t uint64) (Stop, error) {
	resume := m.h.CPU().SuspendDebug()
	defer resume()
	m.h.SetRunUntil(nil)
	defer m.h.SwapUntil(m.h.SwapUntil(nil))
	at := Stop{Reason: StopPaused}
	for m.h.CPU().ICount() < t {
		slice := min(t, (m.h.CPU().ICount()/host.RunSlice+1)*host.RunSlice)
		s := m.h.Run(false, slice)
		m.afterSlice()
		if s.Reason != StopInstructionLimit && s.Reason != StopPaused {
			if m.h.CPU().ICount() < t {
				return at, fmt.Errorf("icount %d is beyond the end of the run (%s)", t, s)
			}
			if s.Reason.Terminal() {
				at = s
			}
			break
		}
	}
	return at, nil
}

// restorePoints are the checkpoints and the near points, by icount
// (oldest first; a checkpoint before a near point of the same icount).
func (hs *history) restorePoints() []*host.Checkpoint {
	pts := append([]*host.Checkpoint(nil), hs.cps...)
	for _, n := range hs.near {
		i := sort.Search(len(pts), func(i int) bool { return pts[i].ICount > n.ICount })
		pts = slices.Insert(pts, i, n)
	}
	return pts
}

// restorePoint is the newest restore point at or before icount t (t is
// not before the oldest checkpoint).
func (hs *history) restorePoint(t uint64) *host.Checkpoint {
	c := hs.cps[0]
	for _, p := range hs.restorePoints() {
		if p.ICount <= t {
			c = p
		}
	}
	return c
}

// Near points: after a journey back to t, points at t minus 4 Ki, 64 Ki
// and 1 Mi instructions (those after where the replay started), each one
// a capture of memory, a few milliseconds. The next reverse-stepi replays
// at most 4 Ki instructions, a reverse-continue over a short distance
// (gdb's reverse-next over a call, reverse-finish) little more.
const (
	nearMax   = 4
	nearFirst = 1 << 12
	nearRatio = 16
	nearSteps = 3
)

// travelBackMarking is travelTo(t, true) that leaves near points behind
// t on its way. mu is held.
func (m *Machine) travelBackMarking(t uint64) (Stop, error) {
	hs := m.hist
	if t < hs.cps[0].ICount {
		return Stop{}, fmt.Errorf("icount %d is before the start of history (%d)", t, hs.cps[0].ICount)
	}
	from := hs.restorePoint(t)
	m.h.Restore(from)
	var marks []uint64
	for k, d := 0, uint64(nearFirst); k < nearSteps; k, d = k+1, d*nearRatio {
		if t > d && t-d > from.ICount {
			marks = append(marks, t-d)
		}
	}
	slices.Sort(marks)
	for _, mk := range marks {
		if _, err := m.replayTo(mk); err != nil {
			return Stop{}, err
		}
		hs.addNear(m.h.Checkpoint(from), t)
	}
	return m.replayTo(t)
}

// addNear keeps n as a near point, dropping the one farthest from t when
// there are too many.
func (hs *history) addNear(n *host.Checkpoint, t uint64) {
	hs.near = append(hs.near, n)
	if len(hs.near) <= nearMax {
		return
	}
	far, dist := 0, uint64(0)
	for i, p := range hs.near {
		d := max(p.ICount, t) - min(p.ICount, t)
		if d >= dist {
			far, dist = i, d
		}
	}
	hs.near[far].Release()
	hs.near = slices.Delete(hs.near, far, far+1)
}

// dropNear releases the near points drop says so of.
func (hs *history) dropNear(drop func(*host.Checkpoint) bool) {
	hs.near = slices.DeleteFunc(hs.near, func(n *host.Checkpoint) bool {
		if drop(n) {
			n.Release()
			return true
		}
		return false
	})
}

// travelStop ends a journey: the CPU continues forward from here even if a
// breakpoint is set at EIP, and subscribers learn where the Guest now is.
func (m *Machine) travelStop(s Stop) Stop {
	m.h.CPU().ResumeAtBreakpoint()
	s.ICount, s.EIP = m.h.CPU().ICount(), m.h.CPU().EIP()
	m.finish(s)
	return s
}

// Goto travels to icount t (back or forward) and stops there.
func (m *Machine) Goto(t uint64) (Stop, error) {
	if err := m.claimTravel(); err != nil {
		return m.LastStop(), err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	at, err := m.travelTo(t, false)
	if err != nil {
		return m.travelStop(m.last), err
	}
	return m.travelStop(at), nil
}

// ReverseStep goes one instruction back: to the instant before the last
// instruction retired, or, when the Host handled a trap at this icount
// (the instruction did not retire), to the instant before that trap. A
// replay to this icount (from a near point, leaving new ones behind):
// where it lands is the answer when it is not the present (the trap came
// after it); when it is, a replay (from the near point) to icount-1 is.
// Two restores and short replays cost less than a scratch checkpoint:
// both a restore and a capture compare all of memory.
func (m *Machine) ReverseStep() (Stop, error) {
	if err := m.claimTravel(); err != nil {
		return m.LastStop(), err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ic, eip, seq := m.h.CPU().ICount(), m.h.CPU().EIP(), m.h.Events().Next()
	if oldest := m.hist.cps[0]; ic == oldest.ICount && seq == oldest.Seq {
		return m.travelStop(Stop{Reason: StopHistoryStart}), nil
	}
	if ic == m.hist.cps[0].ICount {
		// A trap was handled at the oldest instant: before it is the
		// oldest checkpoint itself.
		m.h.Restore(m.hist.cps[0])
		return m.travelStop(Stop{Reason: StopStep}), nil
	}
	if _, err := m.travelBackMarking(ic); err != nil {
		return m.travelStop(m.last), err
	}
	if m.h.CPU().EIP() == eip && m.h.Events().Next() == seq {
		if _, err := m.travelBackMarking(ic - 1); err != nil {
			return m.travelStop(m.last), err
		}
	}
	return m.travelStop(Stop{Reason: StopStep}), nil
}

// ReverseContinue runs back to the most recent breakpoint or watchpoint
// hit before the present, or to the start of history (StopHistoryStart).
// It replays each checkpoint interval before the present with the
// breakpoints on, newest interval first, and keeps the last hit.
//
// A watchpoint going backwards stops where a reverse debugger stops (rr,
// gdb's own record target): before the instruction that made the access,
// so gdb reads the value from before a write and prints the present one
// as "Old value" and that one as "New value", and one stepi makes the
// write again. So the instruction just before the present counts (its
// stop is at the present's icount), and the landing is one instruction
// before the stop the replay saw (landBefore).
func (m *Machine) ReverseContinue() (Stop, error) {
	if err := m.claimTravel(); err != nil {
		return m.LastStop(), err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	hs := m.hist
	end := m.h.CPU().ICount()
	m.h.SetRunUntil(nil)
	defer m.h.SwapUntil(m.h.SwapUntil(nil))
	pts := hs.restorePoints()
	for i := len(pts) - 1; i >= 0; i-- {
		c := pts[i]
		if c.ICount >= end {
			continue
		}
		var hit *Stop
		m.h.Restore(c)
		for m.h.CPU().ICount() < end {
			slice := min(end, (m.h.CPU().ICount()/host.RunSlice+1)*host.RunSlice)
			s := m.h.Run(false, slice)
			switch {
			// a load alias where the kernel no longer runs does not
			// count, as in a forward run (loadalias.go)
			case s.Reason == StopBreakpoint && s.ICount < end && !m.passOver(s),
				// after the access: the instruction before the present counts
				s.Reason == StopWatchpoint && s.ICount <= end:
				hit = &s
				continue
			case s.Reason == StopBreakpoint || s.Reason == StopWatchpoint:
				continue
			}
			if s.Reason != StopInstructionLimit && s.Reason != StopPaused {
				break
			}
		}
		if hit != nil {
			if err := m.landOn(*hit); err != nil {
				return m.travelStop(m.last), err
			}
			return m.travelStop(*hit), nil
		}
		end = c.ICount
	}
	m.h.Restore(hs.cps[0])
	return m.travelStop(Stop{Reason: StopHistoryStart}), nil
}

// landOn brings the machine to a breakpoint hit a replay saw, or to just
// before the instruction behind a watchpoint hit: a replay with the
// debugger's stops off to the instant before it, then single steps with
// them on, each from a scratch checkpoint, until the step that stops as
// the hit did. A breakpoint stops before its instruction, so the step's
// end is the answer (the Host's work a step does first, an interrupt's
// delivery, included); a watchpoint stops after, so the answer is the
// checkpoint before the step. (An instruction that also accesses the
// watched bytes just before a REP that stops mid-way at the same icount
// and EIP is mistaken for it: the landing is then at that earlier access,
// a real hit still.) mu is held.
func (m *Machine) landOn(hit Stop) error {
	start := hit.ICount
	if hit.Reason == StopWatchpoint && start > m.hist.cps[0].ICount {
		start--
	}
	if _, err := m.travelTo(start, true); err != nil {
		return err
	}
	same := func(s Stop) bool {
		return s.Reason == hit.Reason && s.ICount == hit.ICount && s.EIP == hit.EIP &&
			(s.Reason != StopWatchpoint || s.Exit.WatchHit == hit.Exit.WatchHit && s.Exit.WatchAddr == hit.Exit.WatchAddr)
	}
	// The bound only stops a hit that does not come again (it must).
	for k := 0; k < 64 && m.h.CPU().ICount() <= hit.ICount; k++ {
		before := m.h.Checkpoint(m.hist.cps[len(m.hist.cps)-1])
		s := m.h.Run(true, 0)
		if same(s) {
			if hit.Reason == StopWatchpoint {
				m.h.Restore(before)
			}
			before.Release()
			return nil
		}
		before.Release()
		if s.Reason.Terminal() {
			break
		}
	}
	_, err := m.travelTo(hit.ICount, true)
	return err
}

// Checkpoints lists the icounts of the checkpoints kept, oldest first.
func (m *Machine) Checkpoints() []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hist == nil {
		return nil
	}
	out := make([]uint64, len(m.hist.cps))
	for i, c := range m.hist.cps {
		out[i] = c.ICount
	}
	return out
}

// MemoryHash hashes all of physical memory, to compare two instants.
func (m *Machine) MemoryHash() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.Mem().Hash()
}

// GotoBefore travels to the instant just before event e: the last instant
// a stop can land on where e has not happened yet (Events().Next() is
// still at most e.Seq). A run stops only at instruction boundaries, and
// the Host's work at a slice boundary (hypercalls, interrupts, host.run
// steps 1-4) comes with the instruction that reached it, so that instant
// is before the instruction that trapped (a fault, a hypercall) or the
// one that ended the slice. One replay to e.ICount-1, where no event of
// e.ICount has been made yet, then single steps, each from a scratch
// checkpoint, until the step that makes e; the answer is that step's
// checkpoint. e must be an event of this history (seq and icount as the
// log gave them).
func (m *Machine) GotoBefore(e Event) (Stop, error) {
	if err := m.claimTravel(); err != nil {
		return m.LastStop(), err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	hs := m.hist
	if oldest := hs.cps[0]; e.ICount < oldest.ICount || e.Seq < oldest.Seq {
		// Events made before the oldest checkpoint: the Host's setup
		// (the Switcher's mapping) or ones history forgot.
		return m.travelStop(m.last), fmt.Errorf("event %d (icount %d) was made before history starts (icount %d, event %d)", e.Seq, e.ICount, oldest.ICount, oldest.Seq)
	}
	past := e.Seq < m.h.Events().Next()
	if e.ICount == 0 || e.ICount-1 < hs.cps[0].ICount {
		if past || m.LastStop().Reason.Terminal() {
			m.h.Restore(hs.cps[0])
		}
	} else if _, err := m.travelTo(e.ICount-1, past); err != nil {
		return m.travelStop(m.last), err
	}
	if m.h.Events().Next() > e.Seq {
		// Only a restore of the oldest checkpoint gets here: e was made
		// at its very instant, before anything we can stop at.
		return m.travelStop(m.last), fmt.Errorf("event %d (icount %d) happened at the start of history", e.Seq, e.ICount)
	}
	resume := m.h.CPU().SuspendDebug()
	defer resume()
	m.h.SetRunUntil(nil)
	defer m.h.SwapUntil(m.h.SwapUntil(nil))
	// A few steps reach e: the instruction to e.ICount, then at most
	// the retries of a trap at it. The bound only stops a wrong e.
	for m.h.CPU().ICount() <= e.ICount+16 {
		before := m.h.Checkpoint(hs.cps[len(hs.cps)-1])
		s := m.h.Run(true, 0)
		if m.h.Events().Next() > e.Seq {
			m.h.Restore(before)
			before.Release()
			return m.travelStop(Stop{Reason: StopPaused}), nil
		}
		before.Release()
		if s.Reason.Terminal() || s.Reason == StopHaltedForever {
			break
		}
	}
	return m.travelStop(Stop{Reason: StopPaused}), fmt.Errorf("event %d (icount %d) did not happen again: the past was changed since", e.Seq, e.ICount)
}
