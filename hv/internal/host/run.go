package host

import (
	"fmt"
	"strings"
	"time"

	"github.com/lgdbg/lgdbg/hv/cpu"
)

// StopReason says why the Host loop handed control back to its driver.
type StopReason int

const (
	StopPaused           StopReason = iota // Pause was requested
	StopStep                               // a single step completed
	StopBreakpoint                         // an execution breakpoint was reached
	StopWatchpoint                         // a watchpoint fired
	StopKilled                             // kill_guest: the Guest is dead
	StopPowerOff                           // the Guest powered off (SHUTDOWN "Power down")
	StopCrash                              // the Guest crashed (SHUTDOWN with another message: a panic)
	StopRestart                            // the Guest asked for a reboot
	StopUnimplemented                      // the CPU met an instruction it does not implement
	StopInstructionLimit                   // --max-instructions reached
	StopUntil                              // the --until event happened
	StopHaltedForever                      // halted with no timer armed and nothing pending
	StopHistoryStart                       // travelling back reached the oldest checkpoint
)

var stopNames = [...]string{"paused", "step", "breakpoint", "watchpoint", "killed", "power-off", "crash", "restart", "unimplemented", "instruction-limit", "until", "halted", "history-start"}

func (r StopReason) String() string {
	if int(r) < len(stopNames) {
		return stopNames[r]
	}
	return fmt.Sprintf("stop(%d)", int(r))
}

// Terminal reports whether the Guest can never run again after this stop.
func (r StopReason) Terminal() bool {
	switch r {
	case StopKilled, StopPowerOff, StopCrash, StopRestart, StopUnimplemented:
		return true
	}
	return false
}

// Stop describes where and why the Host loop stopped.
type Stop struct {
	Reason StopReason
	ICount uint64
	EIP    uint32
	Text   string   // kill reason, shutdown message, unimplemented detail
	Exit   cpu.Exit // the CPU exit behind breakpoint/watchpoint/unimplemented stops
	Event  *Event   // the --until event
}

func (s Stop) String() string {
	switch s.Reason {
	case StopPowerOff:
		return fmt.Sprintf("power-off: the guest said %q (icount %d)", strings.TrimPrefix(s.Text, "CRASH: "), s.ICount)
	case StopKilled, StopCrash, StopRestart, StopUnimplemented:
		return fmt.Sprintf("%s: %s (icount %d)", s.Reason, s.Text, s.ICount)
	case StopUntil:
		return fmt.Sprintf("until %s at icount %d", s.Event, s.ICount)
	}
	return fmt.Sprintf("%s at eip %#x (icount %d)", s.Reason, s.EIP, s.ICount)
}

// runOpts bounds one call of the Host loop.
type runOpts struct {
	step  bool   // stop after one Guest instruction (or the trap it raised)
	limit uint64 // absolute instruction count to stop at; 0 = none
}

func (h *Host) stopHere(r StopReason, text string) Stop {
	return Stop{Reason: r, ICount: h.cpu.ICount(), EIP: h.cpu.EIP(), Text: text}
}

func (h *Host) deathStop() Stop {
	switch {
	case h.unimpl != nil:
		s := h.stopHere(StopUnimplemented, h.deathReason)
		s.Exit = *h.unimpl
		return s
	case h.restart:
		return h.stopHere(StopRestart, h.deathReason)
	case h.powerOff && h.shutdownMsg == "Power down":
		return h.stopHere(StopPowerOff, h.deathReason)
	case h.powerOff:
		return h.stopHere(StopCrash, h.deathReason)
	}
	return h.stopHere(StopKilled, h.deathReason)
}

// H:100 run is lguest's run_guest (spec §5.1): hypercalls first, then
// notifications, then interrupts, then the Guest runs until it traps, and
// the trap is handled completely before we go round again.
func (h *Host) run(o runOpts) Stop {
	stepped := false
	for {
		if h.dead {
			return h.deathStop()
		}
		if h.midRun {
			// The driver stopped the CPU inside the Host's slice; carry on
			// with it as if it had never stopped, so where the driver
			// stops never changes what the Guest sees.
			if o.limit != 0 && h.cpu.ICount() >= o.limit {
				return h.stopHere(StopInstructionLimit, "")
			}
			h.midRun = false
		} else {
			s, next := h.iterate(o, stepped)
			switch next {
			case passStop:
				return s
			case passAgain:
				continue
			}
		}

		// 8. Run the Guest until it traps or its time slice ends.
		var x cpu.Exit
		if o.step {
			x = h.cpu.Step()
		} else {
			budget := h.cpuEnd - h.cpu.ICount()
			if o.limit != 0 {
				budget = min(budget, o.limit-h.cpu.ICount())
			}
			x = h.cpu.Run(budget)
		}
		// mid: the Host's slice has not ended; a stop now is the driver's.
		mid := h.cpu.ICount() < h.cpuEnd

		// 9. Handle the exit.
		switch x.Reason {
		case cpu.ExitTrap:
			h.syncSwitcherRegs(x.Vector, x.ErrCode)
			retry := h.handleTrap(x)
			// A step that ended in a trap is done once the trap was
			// handled, unless the instruction has not run yet.
			if o.step && !retry {
				stepped = true
			}
		case cpu.ExitBudget:
			if mid {
				h.midRun = true
				return h.stopHere(StopInstructionLimit, "")
			}
		case cpu.ExitStep:
			if mid {
				h.midRun = true
				return h.stopHere(StopStep, "")
			}
			stepped = true
		case cpu.ExitStop:
			h.midRun = mid
			return h.stopHere(StopPaused, "")
		case cpu.ExitBreakpoint:
			h.midRun = mid
			s := h.stopHere(StopBreakpoint, "")
			s.Exit = x
			return s
		case cpu.ExitWatchpoint:
			h.midRun = mid
			s := h.stopHere(StopWatchpoint, "")
			s.Exit = x
			return s
		case cpu.ExitUnimplemented:
			reason := fmt.Sprintf("unimplemented instruction at %#x: % x", x.InsnAddr, x.Insn)
			h.emit(Event{Kind: EvUnimplemented, EIP: x.InsnAddr, Text: reason})
			h.kill(reason)
			// A copy: &x would move x to the heap on every exit.
			u := x
			h.unimpl = &u
		}
	}
}

// pass says what the loop does after one pass of the Host's side.
type pass int

const (
	passRun   pass = iota // run the CPU until h.cpuEnd
	passAgain             // go round again (the Guest died or idles)
	passStop              // return the stop to the driver
)

// iterate is one pass of the Host's side of the loop, steps 1 to 7.
func (h *Host) iterate(o runOpts, stepped bool) (Stop, pass) {
	{
		// 1. A hypercall the last exit asked for.
		if h.hcallPending {
			h.doHypercalls()
		}
		// 2. A NOTIFY goes to the Launcher's handler: the lguest bus.
		if h.pendingNotify != 0 {
			h.serviceNotify()
		}
		if h.dead {
			return Stop{}, passAgain
		}
		// 3. Device work that arrived from outside (console input), which
		// becomes Guest-visible here and only here (admitInput). A
		// malformed ring found here kills the Guest, as the Launcher's
		// service thread would abort.
		h.admitInput()
		if err := h.pollDevices(); err != nil {
			h.kill(err.Error())
			return Stop{}, passAgain
		}
		// 4. Interrupts: the timer first becomes pending if its time
		// has come, then the lowest unblocked IRQ is offered.
		h.checkTimer()
		if irq := h.interruptPending(); irq < 32 {
			h.tryDeliverInterrupt(irq)
		}
		if h.dead {
			return Stop{}, passAgain
		}
		// 5. Stops the driver asked for: the --until event, the end of
		// a step.
		if h.untilHit != nil {
			s := h.stopHere(StopUntil, "")
			s.Event = h.untilHit
			h.untilHit = nil
			return s, passStop
		}
		if stepped {
			return h.stopHere(StopStep, ""), passStop
		}
		// 6. A halted Guest sleeps until an interrupt it has not
		// blocked is pending. Our clock is virtual, so sleeping means
		// jumping to the timer's deadline.
		if h.halted {
			if h.interruptPending() < 32 {
				return Stop{}, passAgain
			}
			if h.timerArmed {
				if d := h.timerDeadline; d > h.now() {
					skipped := d - h.now()
					if h.idleRealtime {
						// Interactive runs let real time pass while
						// the Guest idles, so a person at the console
						// can type before the next tick; input or a
						// pause cuts the sleep short.
						if h.pauseReq.Load() {
							return h.stopHere(StopPaused, ""), passStop
						}
					}
					skipped = h.idleWait(skipped)
					h.skew += skipped
					h.cpu.SetTSCOffset(h.skew)
					h.emit(Event{Kind: EvHalt, Text: fmt.Sprintf("slept %d ns", skipped)})
				}
				return Stop{}, passAgain
			}
			if h.admitWhileIdle() {
				return Stop{}, passAgain
			}
			return h.stopHere(StopHaltedForever, "halted with no clock event armed"), passStop
		}
		// 7. The Switcher reloads the GDT, IDT and segment registers on
		// entry; changes the Guest made take effect now.
		h.syncGDT()
		h.syncIDT()
		if h.dead {
			return Stop{}, passAgain
		}
		if o.limit != 0 && h.cpu.ICount() >= o.limit {
			return h.stopHere(StopInstructionLimit, ""), passStop
		}
		// The CPU's slice ends at an instant that depends on the Guest
		// alone (the next multiple of runSlice, or its clock event), never
		// on where the driver last stopped it: exits are where the Host
		// delivers interrupts, so they must not move when a debugger steps.
		ic := h.cpu.ICount()
		h.cpuEnd = (ic/runSlice + 1) * runSlice
		if h.timerArmed {
			h.cpuEnd = min(h.cpuEnd, ic+max(h.timerDeadline-min(h.timerDeadline, h.now()), 1))
		}
		return Stop{}, passRun

	}
}

// sleepReal waits up to ns of real time for the Guest's next clock event,
// returning early when console input arrives or the driver wants the Guest
// back; it returns how long it waited.
func (h *Host) sleepReal(ns uint64) uint64 {
	start := time.Now()
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
		return ns
	case <-h.bus.InputReady():
	case <-h.wake:
	}
	return min(ns, uint64(time.Since(start)))
}
