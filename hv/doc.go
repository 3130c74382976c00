// Package hv is lgdbg's hypervisor as its front ends see it: one Machine
// per Guest, the façade the TUI (ui), the gdb stub (gdbstub) and the
// headless CLI (cmd/lgdbg) drive.
//
// The Machine is organised by concern: machine.go builds it (the
// Launcher's part, spec §13), control.go is run control (one state
// machine: Resume, ResumeUntil, Run, RunUntil, Step, Pause, Subscribe),
// state.go is what a front end draws (Snapshot, under one lock), memory.go
// reads and writes Guest memory, debug.go holds breakpoints and registers.
// Behind it, hv/internal/host is the lguest Host itself, hv/event the event
// log and its words, hv/pgtable the shadow page tables, hv/cpu the CPU.
//
// Where to start reading: docs/ARCHITECTURE.md has the data-flow picture
// and the guided tour, comments tagged L:, H:, S: and M: in reading
// order, starting at L:100 (New, in machine.go).
package hv
