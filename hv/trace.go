package hv

// DetachTrace stops writing the --trace stream; later events are kept in
// the ring only. The CLI calls it before flushing and closing the file at
// exit, so that a Guest still running (a gdb step, a run not yet stopped)
// cannot append half a line behind the final flush. Each event is written
// whole under the log's lock, so the file ends on a complete line.
func (m *Machine) DetachTrace() { m.h.Events().SetTrace(nil) }
