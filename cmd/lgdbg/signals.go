package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/lgdbg/lgdbg/hv"
)

// The signals that end a run cleanly in every mode: Ctrl-C at a shell
// (SIGINT; in the TUI Ctrl-C is a key and pauses the guest), kill and
// service managers (SIGTERM), a closed terminal or ssh session (SIGHUP).
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// interrupter turns the first of interruptSignals into a clean end of the
// run: the guest is stopped at an instruction boundary (RequestPause, which
// does not wait, so it is safe whatever the run is doing), and the run
// functions see fired() and finish as for any other stop (summary line,
// trace flushed and closed, terminal restored). A second signal means the
// clean end is not coming: we exit at once.
type interrupter struct {
	ch     chan os.Signal
	quit   chan struct{} // closed at the first signal
	stderr io.Writer

	mu  sync.Mutex
	sig syscall.Signal
}

// watchSignals starts listening; stop undoes it.
func watchSignals(m *hv.Machine, stderr io.Writer) *interrupter {
	i := &interrupter{ch: make(chan os.Signal, 2), quit: make(chan struct{}), stderr: stderr}
	signal.Notify(i.ch, interruptSignals...)
	go i.loop(m)
	return i
}

func (i *interrupter) loop(m *hv.Machine) {
	s, ok := <-i.ch
	if !ok {
		return
	}
	i.mu.Lock()
	i.sig = s.(syscall.Signal)
	i.mu.Unlock()
	close(i.quit)
	// Ask again until the run is over: a signal that lands between two
	// runs (or before the first) finds no run to stop, and the next one
	// would start with the request already spent.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		m.RequestPause()
		select {
		case s2, ok := <-i.ch:
			if !ok {
				return // stop: the run is over
			}
			fmt.Fprintf(i.stderr, "lgdbg: %s again: exiting without cleaning up\n", signalName(s2.(syscall.Signal)))
			os.Exit(exitCodeFor(s2.(syscall.Signal)))
		case <-tick.C:
		}
	}
}

// stop restores the default signal handling.
func (i *interrupter) stop() {
	signal.Stop(i.ch)
	close(i.ch)
}

// fired reports the signal that interrupted the run, if one did.
func (i *interrupter) fired() (syscall.Signal, bool) {
	if i == nil {
		return 0, false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.sig, i.sig != 0
}

// done is closed at the first signal (nil-safe: a nil interrupter never fires).
func (i *interrupter) done() <-chan struct{} {
	if i == nil {
		return nil
	}
	return i.quit
}

// reason is the summary's "why it ended" for an interrupted run.
func (i *interrupter) reason() string {
	s, _ := i.fired()
	return "interrupted by " + signalName(s)
}

// exitCode is what an interrupted run exits with: 128 + the signal number,
// the status a shell reports for a process the signal killed (130 for
// SIGINT, 143 for SIGTERM, 129 for SIGHUP), so scripts that test for it
// keep working; the summary line on stderr says the end was a clean one.
func (i *interrupter) exitCode() int {
	s, _ := i.fired()
	return exitCodeFor(s)
}

func exitCodeFor(s syscall.Signal) int { return 128 + int(s) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}
