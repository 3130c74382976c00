package hv

import (
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/internal/host"
)

// The Machine's vocabulary, defined where it belongs (the Host's stops
// and state in hv/internal/host, the events in hv/event) and named here
// so front ends need only hv.

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
)

const (
	EvHypercall     = event.Hypercall
	EvTrap          = event.Trap
	EvInterrupt     = event.Interrupt
	EvShadow        = event.Shadow
	EvLinearOff     = event.LinearOff
	EvPgdirSwitch   = event.PgdirSwitch
	EvConsole       = event.Console
	EvKill          = event.Kill
	EvShutdown      = event.Shutdown
	EvRestart       = event.Restart
	EvHalt          = event.Halt
	EvUnimplemented = event.Unimplemented
)

// Hypercall numbers (spec §3.2).
const (
	HcallFlushAsync     = event.HcallFlushAsync
	HcallLguestInit     = event.HcallLguestInit
	HcallShutdown       = event.HcallShutdown
	HcallNewPgtable     = event.HcallNewPgtable
	HcallFlushTLB       = event.HcallFlushTLB
	HcallLoadIDTEntry   = event.HcallLoadIDTEntry
	HcallSetStack       = event.HcallSetStack
	HcallTS             = event.HcallTS
	HcallSetClockevent  = event.HcallSetClockevent
	HcallHalt           = event.HcallHalt
	HcallSetPMD         = event.HcallSetPMD
	HcallSetPTE         = event.HcallSetPTE
	HcallSetPGD         = event.HcallSetPGD
	HcallLoadTLS        = event.HcallLoadTLS
	HcallNotify         = event.HcallNotify
	HcallLoadGDTEntry   = event.HcallLoadGDTEntry
	HcallSendInterrupts = event.HcallSendInterrupts
)

// TSCkHz is the Guest's TSC rate: one instruction is one nanosecond.
const TSCkHz = host.TSCkHz

// DefaultSwitcherAddr is where the Switcher lives unless Config says.
const DefaultSwitcherAddr = host.DefaultSwitcherAddr

// HcallName is the LHCALL_ name of a hypercall number without its prefix.
func HcallName(nr int) string { return event.HcallName(nr) }

// HcallNumber is the inverse of HcallName.
func HcallNumber(name string) (int, bool) { return event.HcallNumber(name) }

// MatchEvent turns an event word, "KIND" or "KIND:ARG" (see event.Words),
// into a predicate for RunUntil and Config.Until.
func MatchEvent(spec string) (func(Event) bool, error) { return event.Match(spec) }
