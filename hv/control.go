package hv

import (
	"context"
	"errors"
	"fmt"

	"github.com/lgdbg/lgdbg/hv/internal/host"
)

// M:100 Run control is one small state machine: at any moment the CPU is either
// stopped or owned by exactly one run.
//
//	stopped --Resume, ResumeUntil--> running on a background goroutine
//	stopped --Run, RunUntil--------> running on the caller's goroutine
//	stopped --Step-----------------> running for one instruction
//	running --Pause, RequestPause--> stopped at the next instruction boundary
//	running --a stop of its own----> stopped (breakpoint, until, limit, death)
//
// Every transition to stopped happens in finish, under the Host lock: it
// records the Stop, closes the run's done channel (what Pause and WaitStop
// wait on) and hands the Stop to every subscriber, so front ends learn of
// stops without polling and without a goroutine per wait.

// ErrDead is returned when a run is asked of a Guest that can never run
// again (killed, powered off, crashed, restarted, unimplemented).
var ErrDead = errors.New("the guest is dead")

// ErrRunning is returned by RunUntil and ResumeUntil while another run
// owns the CPU.
var ErrRunning = errors.New("the guest is already running")

// runRequest is one run's bounds.
type runRequest struct {
	until func(Event) bool // stop at the first event it accepts (besides Config.Until)
	limit uint64           // absolute instruction count to stop at; 0 = none
	// idle: a Guest halted with nothing armed waits for outside input
	// (console, a pause) instead of stopping. Background runs want it;
	// the headless CLI stops and feeds stdin itself.
	idle bool
	step bool // one instruction (or the trap it raised)
}

// claimLocked makes the caller the CPU's owner. ctl is held.
func (m *Machine) claimLocked() error {
	if m.running {
		return ErrRunning
	}
	if m.last.Reason.Terminal() {
		return fmt.Errorf("%w: %s", ErrDead, m.last)
	}
	m.running = true
	m.done = make(chan struct{})
	// A pause asked of the previous run is spent; the CPU's own stop
	// request, if it is still set, ends the first slice as a spurious
	// StopPaused, which drive ignores.
	m.h.ClearPause()
	return nil
}

func (m *Machine) claim() error {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	return m.claimLocked()
}

// drive runs r on the calling goroutine, which has claimed the CPU, until
// it stops, and returns the stop.
func (m *Machine) drive(r runRequest) Stop {
	for first := true; ; first = false {
		m.mu.Lock()
		if first {
			m.h.SetRunUntil(r.until)
		}
		var s Stop
		if r.step {
			s = m.h.Run(true, 0)
		} else {
			// Slices let accessors in between and bound how long a
			// Snapshot waits for a running Guest.
			// At multiples of RunSlice: where a run started must not
			// move the instants the Host exits at (host.run).
			slice := (m.h.CPU().ICount()/host.RunSlice + 1) * host.RunSlice
			if r.limit != 0 && r.limit < slice {
				slice = r.limit
			}
			s = m.h.Run(false, slice)
		}
		m.afterSlice()
		paused := m.h.PauseRequested()
		below := r.limit == 0 || s.ICount < r.limit
		switch {
		case r.step && s.Reason == StopPaused:
			// A stop request (stale, or a pause asked meanwhile)
			// beat the instruction; the CPU has consumed it. A step
			// is one instruction: do it.
			m.mu.Unlock()
			continue
		case r.step:
		case s.Reason == StopInstructionLimit && below && !paused,
			s.Reason == StopPaused && !paused, // a stale stop request
			// a link address's load alias where the kernel no longer runs (loadalias.go)
			m.passOver(s):
			m.mu.Unlock()
			continue
		case s.Reason == StopHaltedForever && r.idle && !paused:
			m.mu.Unlock()
			<-m.wake // only an outside event can wake the Guest now
			continue
		case s.Reason == StopInstructionLimit && below:
			s.Reason = StopPaused
		}
		m.h.SetRunUntil(nil)
		m.finish(s)
		m.mu.Unlock()
		return s
	}
}

// finish is the transition to stopped; mu is held, so a Snapshot never
// sees a stopped Guest still marked running.
func (m *Machine) finish(s Stop) {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	m.last = s
	m.running = false
	close(m.done)
	for ch := range m.subs {
		// One slot per subscriber, newest stop wins: a slow front
		// end misses intermediate stops, never the latest.
		select {
		case <-ch:
		default:
		}
		ch <- s
	}
}

// RunUntil runs the Guest on the calling goroutine until it stops: a
// terminal event, a breakpoint, a pause from another front end, the
// instruction limit (absolute count, 0 = none), the Config's Until event or
// until's (nil = none). A Guest halted with nothing armed stops with
// StopHaltedForever. It fails at once if the Guest is dead or running.
func (m *Machine) RunUntil(until func(Event) bool, limit uint64) (Stop, error) {
	if err := m.claim(); err != nil {
		return m.LastStop(), err
	}
	return m.drive(runRequest{until: until, limit: limit}), nil
}

// Run is RunUntil(nil, limit) for a caller that owns the Machine (the
// headless CLI, tests): when the Guest cannot run it returns the last stop.
func (m *Machine) Run(limit uint64) Stop {
	s, _ := m.RunUntil(nil, limit)
	return s
}

// ResumeUntil starts the Guest on a background goroutine and returns at
// once; the stop arrives on Subscribe's channels (and WaitStop). until and
// limit are as for RunUntil; a Guest halted with nothing armed waits for
// console input or a pause.
func (m *Machine) ResumeUntil(until func(Event) bool, limit uint64) error {
	if err := m.claim(); err != nil {
		return err
	}
	go m.drive(runRequest{until: until, limit: limit, idle: true})
	return nil
}

// Resume is continue: ResumeUntil with no bounds. Resuming a running Guest
// is not an error; resuming a dead one is (ErrDead).
func (m *Machine) Resume() error {
	err := m.ResumeUntil(nil, 0)
	if errors.Is(err, ErrRunning) {
		return nil
	}
	return err
}

// Step executes one Guest instruction (handling any trap it raises, as the
// Host would) and returns where it stopped. A running Guest is paused
// first; pausing and claiming the CPU for the step are one transition, so
// no other front end's resume slips in between.
func (m *Machine) Step() (Stop, error) {
	for {
		m.ctl.Lock()
		if !m.running {
			err := m.claimLocked()
			m.ctl.Unlock()
			if err != nil {
				return m.LastStop(), err
			}
			return m.drive(runRequest{step: true}), nil
		}
		m.requestPauseLocked()
		done := m.done
		m.ctl.Unlock()
		<-done
	}
}

// Pause stops a running Guest at the next instruction boundary and
// returns where it stopped; on a stopped Guest it returns the last stop.
// It must not be called on the Guest's own goroutine (an event hook): use
// RequestPause there.
func (m *Machine) Pause() Stop {
	m.ctl.Lock()
	if !m.running {
		defer m.ctl.Unlock()
		return m.last
	}
	m.requestPauseLocked()
	done := m.done
	m.ctl.Unlock()
	<-done
	return m.LastStop()
}

// RequestPause asks a running Guest to stop at the next instruction
// boundary and returns at once; the stop arrives as any other. Unlike
// Pause it may be called from an event hook, on the Guest's goroutine.
func (m *Machine) RequestPause() {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	if m.running {
		m.requestPauseLocked()
	}
}

func (m *Machine) requestPauseLocked() {
	m.h.RequestPause()
	m.kick()
}

// WaitStop blocks until the Guest is stopped (or ctx ends) and returns the
// last stop.
func (m *Machine) WaitStop(ctx context.Context) (Stop, error) {
	m.ctl.Lock()
	if !m.running {
		defer m.ctl.Unlock()
		return m.last, nil
	}
	done := m.done
	m.ctl.Unlock()
	select {
	case <-done:
		return m.LastStop(), nil
	case <-ctx.Done():
		return Stop{}, ctx.Err()
	}
}

// Subscribe returns a channel that receives every stop from now on (one
// slot: a reader that falls behind sees the newest) and a cancel function
// that ends the subscription. The channel is never closed.
func (m *Machine) Subscribe() (stops <-chan Stop, cancel func()) {
	ch := make(chan Stop, 1)
	m.ctl.Lock()
	if m.subs == nil {
		m.subs = map[chan Stop]struct{}{}
	}
	m.subs[ch] = struct{}{}
	m.ctl.Unlock()
	return ch, func() {
		m.ctl.Lock()
		delete(m.subs, ch)
		m.ctl.Unlock()
	}
}

// Running reports whether a run owns the CPU.
func (m *Machine) Running() bool {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	return m.running
}

// LastStop is the most recent stop (before the first run: paused at the
// entry point).
func (m *Machine) LastStop() Stop {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	return m.last
}
