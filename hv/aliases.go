package hv

import (
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/internal/host"
)

// The Machine's vocabulary, defined where it belongs (the Host's stops
// and state in hv/internal/host, the events in hv/event) and named here.
// Event kinds are hv/event's (event.Hypercall), hypercall numbers and
// names hv/hcall's (hcall.NewPgtable).

type (
	Stop       = host.Stop
	StopReason = host.StopReason
	Regs       = host.Regs
	HostState  = host.HostState
	Walks      = host.Walks
	Memory     = host.Memory
	Event      = event.Event
	EventKind  = event.Kind
)

const (
	StopPaused           = host.StopPaused
	StopStep             = host.StopStep
	StopBreakpoint       = host.StopBreakpoint
	StopWatchpoint       = host.StopWatchpoint
	StopKilled           = host.StopKilled
	StopPowerOff         = host.StopPowerOff
	StopCrash            = host.StopCrash
	StopRestart          = host.StopRestart
	StopUnimplemented    = host.StopUnimplemented
	StopInstructionLimit = host.StopInstructionLimit
	StopUntil            = host.StopUntil
	StopHaltedForever    = host.StopHaltedForever
	StopHistoryStart     = host.StopHistoryStart
)

// TSCkHz is the Guest's TSC rate: one instruction is one nanosecond.
const TSCkHz = host.TSCkHz

// DefaultSwitcherAddr is where the Switcher lives unless Config says.
const DefaultSwitcherAddr = host.DefaultSwitcherAddr

// MatchEvent turns an event word, "KIND" or "KIND:ARG" (see event.Words),
// into a predicate for RunUntil and Config.Until.
func MatchEvent(spec string) (func(Event) bool, error) { return event.Match(spec) }
