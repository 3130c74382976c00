package host

import (
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// What the Machine (package hv) drives the Host with. The Host itself
// stays behind the Machine: this package is internal to hv.

// The event names the Host code uses, from hv/event.
type (
	Event     = event.Event
	EventKind = event.Kind
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
	EvLauncher      = event.Launcher
	EvPaging        = event.Paging
)

// Hypercall numbers (spec §3.2), from hv/hcall.
const (
	HcallFlushAsync     = hcall.FlushAsync
	HcallLguestInit     = hcall.LguestInit
	HcallShutdown       = hcall.Shutdown
	HcallNewPgtable     = hcall.NewPgtable
	HcallFlushTLB       = hcall.FlushTLB
	HcallLoadIDTEntry   = hcall.LoadIDTEntry
	HcallSetStack       = hcall.SetStack
	HcallTS             = hcall.TS
	HcallSetClockevent  = hcall.SetClockevent
	HcallHalt           = hcall.Halt
	HcallSetPMD         = hcall.SetPMD
	HcallSetPTE         = hcall.SetPTE
	HcallSetPGD         = hcall.SetPGD
	HcallLoadTLS        = hcall.LoadTLS
	HcallNotify         = hcall.Notify
	HcallLoadGDTEntry   = hcall.LoadGDTEntry
	HcallSendInterrupts = hcall.SendInterrupts
)

// HcallName: see event.HcallName.
func HcallName(nr int) string { return event.HcallName(nr) }

// RunSlice bounds one run of the Host loop, so its driver can let
// accessors in and notice pauses between slices.
const RunSlice = runSlice

// Run runs the Host loop once: one instruction (step) or until limit
// (an absolute instruction count; 0 = none) or another stop.
func (h *Host) Run(step bool, limit uint64) Stop {
	return h.run(runOpts{step: step, limit: limit})
}

// SetRunUntil sets the current run's own stop event (nil: none), besides
// Config.Until.
func (h *Host) SetRunUntil(f func(Event) bool) { h.runUntil = f }

// RequestPause asks the loop to stop at the next instruction boundary
// (an idle Guest's real-time sleep included); any goroutine.
func (h *Host) RequestPause() {
	h.pauseReq.Store(true)
	h.cpu.RequestStop()
}

// ClearPause forgets a pause request (a new run starts).
func (h *Host) ClearPause() { h.pauseReq.Store(false) }

// PauseRequested reports whether a pause was asked since ClearPause.
func (h *Host) PauseRequested() bool { return h.pauseReq.Load() }

// SetWake gives the Host the driver's wake-up channel, which cuts an idle
// Guest's real-time sleep short.
func (h *Host) SetWake(ch chan struct{}) { h.wake = ch }

func (h *Host) CPU() *cpu.CPU            { return h.cpu }
func (h *Host) Tables() *pgtable.Tables  { return h.pt }
func (h *Host) Mem() *mem.Phys           { return h.mem }
func (h *Host) Console() *virtio.Console { return h.con }
func (h *Host) Bus() *virtio.Bus         { return h.bus }
func (h *Host) Events() *event.Log       { return h.events }
func (h *Host) PAE() bool                { return h.pae }
func (h *Host) RAM() uint32              { return h.ram }
func (h *Host) SwitcherAddr() uint32     { return h.switcherAddr }
func (h *Host) GuestCR3() uint32         { return h.guestCR3() }

// LastPagefault is the last #PF address the Host saw (lguest's cr2).
func (h *Host) LastPagefault() uint32 { return h.lastPagefault }

// SwapUntil replaces Config.Until (a replay must not stop on it) and
// returns the old one.
func (h *Host) SwapUntil(f func(Event) bool) func(Event) bool {
	old := h.until
	h.until = f
	return old
}
