// Package event is the Host's journal: every step of the Guest's journey
// (a hypercall, a trap and what the Host did with it, a shadow page-table
// change, console text, a death) is one typed, instruction-count-stamped
// Event, kept in a bounded ring (Log) and optionally written as JSON
// lines. The kinds are also the words a user types after --until and
// ":until" (words.go).
package event

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Kind names what happened. The names are the words a user types after
// --until and greps for in a --trace file, so they never change meaning.
type Kind string

// Event kinds.
const (
	Hypercall     Kind = "hcall"         // a hypercall (sync or from the async ring) with decoded args
	Trap          Kind = "trap"          // a trap exit and what the Host did with it
	Interrupt     Kind = "irq"           // a virtual interrupt delivered into the Guest
	Shadow        Kind = "shadow"        // a shadow page-table change, with its reason
	LinearOff     Kind = "linear-off"    // linear_pages cleared by the first NEW_PGTABLE
	PgdirSwitch   Kind = "pgdir"         // the current shadow pgdir changed
	Console       Kind = "console"       // text the Guest printed
	Kill          Kind = "kill"          // kill_guest: the Guest is dead, with the reason
	Shutdown      Kind = "shutdown"      // LHCALL_SHUTDOWN power-off
	Restart       Kind = "restart"       // LHCALL_SHUTDOWN restart request
	Halt          Kind = "halt"          // the Guest halted; virtual time skipped to the next event
	Unimplemented Kind = "unimplemented" // the CPU met an instruction it does not implement
	Launcher      Kind = "launcher"      // a non-fatal Launcher message (its stderr): "Scsi commands unsupported"
	Paging        Kind = "paging"        // the Host adopted the paging mode of the Guest's first page table
)

// Event is one typed, instruction-count-stamped record of the Host's journey.
// Only the fields of its kind are set; the JSON form (MarshalJSON) carries
// exactly those.
type Event struct {
	Seq    uint64 `json:"seq"`
	ICount uint64 `json:"icount"`
	Kind   Kind   `json:"kind"`

	// Hypercall: Nr, Name, Args (ebx ecx edx esi), Async, Detail.
	// Trap: Nr = vector, Name, EIP, ErrCode, CR2, Outcome.
	// Interrupt: Nr = irq, EIP.
	Nr      int      `json:"nr"`
	Name    string   `json:"name,omitempty"`
	Args    []uint32 `json:"args,omitempty"`
	Async   bool     `json:"async,omitempty"`
	EIP     uint32   `json:"eip,omitempty"`
	ErrCode uint32   `json:"err,omitempty"`
	CR2     uint32   `json:"cr2,omitempty"`
	Outcome string   `json:"outcome,omitempty"`

	// Shadow: Slot, Level, Index, VAddr, Old, New, Why.
	// Pgdir: Slot, GPgdir, Root.
	Slot   int    `json:"slot,omitempty"`
	Level  string `json:"level,omitempty"`
	Index  uint32 `json:"index,omitempty"`
	VAddr  uint32 `json:"vaddr,omitempty"`
	Old    uint64 `json:"old,omitempty"`
	New    uint64 `json:"new,omitempty"`
	Why    string `json:"why,omitempty"`
	GPgdir uint32 `json:"gpgdir,omitempty"`
	Root   uint32 `json:"root,omitempty"`

	// Console text, kill reason, shutdown message, halt detail.
	Text string `json:"text,omitempty"`
}

// MarshalJSON writes the fields of the event's kind, all of them, zero or
// not: slot 0, pgd index 0, virtual address 0, hypercall 0 (FLUSH_ASYNC)
// and vector 0 (#DE) all mean something.
func (e Event) MarshalJSON() ([]byte, error) {
	m := map[string]any{"seq": e.Seq, "icount": e.ICount, "kind": e.Kind}
	switch e.Kind {
	case Hypercall:
		m["nr"], m["name"], m["eip"] = e.Nr, e.Name, e.EIP
		if len(e.Args) > 0 {
			m["args"] = e.Args
		}
		if e.Async {
			m["async"] = true
		}
	case Trap:
		m["nr"], m["name"], m["eip"], m["err"], m["outcome"] = e.Nr, e.Name, e.EIP, e.ErrCode, e.Outcome
		if e.Nr == 14 {
			m["cr2"] = e.CR2
		}
	case Interrupt:
		m["nr"], m["eip"] = e.Nr, e.EIP
	case Shadow:
		m["slot"], m["level"], m["index"], m["vaddr"] = e.Slot, e.Level, e.Index, e.VAddr
		m["old"], m["new"], m["why"] = e.Old, e.New, e.Why
	case LinearOff, PgdirSwitch:
		m["slot"], m["gpgdir"], m["root"] = e.Slot, e.GPgdir, e.Root
	case Kill, Unimplemented:
		m["eip"] = e.EIP
	}
	if e.Text != "" {
		m["text"] = e.Text
	}
	return json.Marshal(m)
}

// String renders an event as one line for logs and the UI.
func (e Event) String() string {
	switch e.Kind {
	case Hypercall:
		async := ""
		if e.Async {
			async = " (async)"
		}
		s := fmt.Sprintf("hcall %s%s", e.Name, async)
		for _, a := range e.Args {
			s += fmt.Sprintf(" %#x", a)
		}
		if e.Text != "" {
			s += " " + e.Text
		}
		return s
	case Trap:
		return fmt.Sprintf("trap %d (%s) at %#x err %#x cr2 %#x: %s", e.Nr, e.Name, e.EIP, e.ErrCode, e.CR2, e.Outcome)
	case Interrupt:
		return fmt.Sprintf("irq %d delivered at %#x", e.Nr, e.EIP)
	case Shadow:
		return fmt.Sprintf("shadow slot %d %s[%d] va %#x %#x -> %#x (%s)", e.Slot, e.Level, e.Index, e.VAddr, e.Old, e.New, e.Why)
	case LinearOff:
		return fmt.Sprintf("linear_pages off (first NEW_PGTABLE %#x)", e.GPgdir)
	case PgdirSwitch:
		return fmt.Sprintf("pgdir switch to slot %d (guest %#x, shadow %#x)", e.Slot, e.GPgdir, e.Root)
	default:
		return fmt.Sprintf("%s %q", e.Kind, e.Text)
	}
}

// Log is the bounded ring of recent events plus the optional JSONL
// trace. Appends come from the Guest goroutine; readers (UI, gdb monitor)
// copy out under the lock, so the Guest never waits on a reader for long.
type Log struct {
	mu sync.Mutex
	// ring holds the last capacity events. It grows as events come and
	// wraps once full: a ring of zero events made up front was still
	// memory the garbage collector had to scan (an Event holds strings),
	// and each page it touched there was a Host page fault — a third of
	// the faults of a short boot, for a log it never filled.
	ring     []Event
	capacity int
	next     uint64 // sequence number of the next event
	trace    *json.Encoder
	werr     error
	hook     func(Event) // optional: called on the Guest goroutine (the headless console)
	// observe, if set, hears every event added, replayed ones too (a
	// provenance replay follows CR3 loads with it; SetObserver).
	observe func(Event)
	// keep holds, while a replay is preserved (Preserve), the ring slots
	// it overwrote with an older event, as they were
	keep map[int]Event
	// sent is the sequence number after the last event written to the
	// trace and the hook: a replay after Truncate regenerates events
	// already sent, which must not be sent twice.
	sent uint64
	// gen counts the Truncates that forgot events; cuts says, for a
	// reader that last looked at generation g, the lowest sequence
	// number forgotten since (CutSince). It is kept as suffix minima,
	// gen and seq both increasing, so it stays short: travelling back
	// again and again only ever keeps the earliest cut.
	gen  uint64
	cuts []cut
}

type cut struct{ gen, seq uint64 }

// NewLog keeps the last capacity events.
func NewLog(capacity int) *Log {
	return &Log{capacity: max(capacity, 1)}
}

// SetTrace writes every event from now on as one JSON line to w (nil: none).
// It may be called while events are being added (the CLI detaches the
// trace at exit): an event is written whole, before or after the switch.
func (l *Log) SetTrace(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w == nil {
		l.trace = nil
		return
	}
	l.trace = json.NewEncoder(w)
}

// SetHook installs a function called for every event after it is logged,
// on the appending goroutine, outside the lock (nil: none).
func (l *Log) SetHook(f func(Event)) {
	l.mu.Lock()
	l.hook = f
	l.mu.Unlock()
}

// TraceError is the first failure writing the trace, if any.
func (l *Log) TraceError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.werr
}

// Add stamps e with the next sequence number and logs it.
func (l *Log) Add(e Event) {
	l.mu.Lock()
	e.Seq = l.next
	slot := int(l.next % uint64(l.capacity))
	if slot == len(l.ring) {
		// still growing (the readers' len(ring) is then >= next, so
		// they never wrap before it is full)
		if len(l.ring) == cap(l.ring) {
			l.ring = slices.Grow(l.ring, min(max(len(l.ring), 256), l.capacity-len(l.ring)))
		}
		l.ring = l.ring[:slot+1]
	}
	if l.keep != nil && l.ring[slot].Seq > e.Seq {
		if _, ok := l.keep[slot]; !ok {
			l.keep[slot] = l.ring[slot]
		}
	}
	l.ring[slot] = e
	l.next++
	if obs := l.observe; obs != nil {
		defer obs(e)
	}
	if e.Seq < l.sent {
		l.mu.Unlock()
		return
	}
	l.sent = l.next
	if l.trace != nil && l.werr == nil {
		l.werr = l.trace.Encode(e)
	}
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		hook(e)
	}
}

// Since copies the events with Seq >= seq still in the ring, oldest first,
// and the sequence number to ask for next time. After a Truncate a slot
// may still hold a forgotten later event (its own is lost): the slot's
// Seq tells, and such a slot is not returned.
func (l *Log) Since(seq uint64) ([]Event, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest := uint64(0)
	if l.next > uint64(len(l.ring)) {
		oldest = l.next - uint64(len(l.ring))
	}
	if seq < oldest {
		seq = oldest
	}
	out := make([]Event, 0, l.next-min(seq, l.next))
	for s := seq; s < l.next; s++ {
		if e := l.ring[s%uint64(len(l.ring))]; e.Seq == s {
			out = append(out, e)
		}
	}
	return out, l.next
}

// Next is the sequence number the next event will get.
func (l *Log) Next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Truncate forgets the events from seq on (time travel back to the instant
// seq was next). Events already written to the trace or the hook are not
// written again when a replay regenerates them.
func (l *Log) Truncate(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq < l.next {
		l.next = seq
		l.gen++
		for n := len(l.cuts); n > 0 && l.cuts[n-1].seq >= seq; n-- {
			l.cuts = l.cuts[:n-1]
		}
		l.cuts = append(l.cuts, cut{l.gen, seq})
	}
}

// CutSince is for a reader that copies events incrementally (Since) and
// keeps them: given the generation it last saw (0 at first), it says
// whether events were forgotten since (time travel back), the lowest
// sequence number forgotten — the reader drops what it holds from there
// on and reads again from there — and the generation to pass next time.
func (l *Log) CutSince(gen uint64) (seq uint64, cut bool, now uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.cuts {
		if c.gen > gen {
			return c.seq, true, l.gen
		}
	}
	return 0, false, l.gen
}

// Diverge says the events from now on differ from those already sent (the
// past was changed): they are sent again, under reused sequence numbers.
func (l *Log) Diverge() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = l.next
}

// SetObserver installs f, called after every event added, including the
// ones a replay regenerates (which the trace and the hook never see
// twice); nil removes it. Only the appending goroutine may call it.
func (l *Log) SetObserver(f func(Event)) {
	l.mu.Lock()
	l.observe = f
	l.mu.Unlock()
}

// Preserve starts a replay that must leave no trace in the log: a
// provenance query replays history and then restores the machine to the
// present, and with the returned function the log too — its position and
// generation (readers see no cut, since every event was regenerated
// identically) and the ring slots the replay overwrote with older events
// (a replay longer than the ring). Only the appending goroutine may call
// it, and the replay must not go past the present.
func (l *Log) Preserve() (restore func()) {
	l.mu.Lock()
	next, sent, gen, cuts := l.next, l.sent, l.gen, append([]cut(nil), l.cuts...)
	l.keep = map[int]Event{}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, e := range l.keep {
			l.ring[i] = e
		}
		l.keep = nil
		l.next, l.sent, l.gen, l.cuts = next, sent, gen, append(l.cuts[:0], cuts...)
	}
}

// Range copies the events with from <= Seq < to still in the ring, oldest
// first.
func (l *Log) Range(from, to uint64) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next > uint64(len(l.ring)) {
		from = max(from, l.next-uint64(len(l.ring)))
	}
	to = min(to, l.next)
	var out []Event
	for s := from; s < to; s++ {
		if e := l.ring[s%uint64(len(l.ring))]; e.Seq == s {
			out = append(out, e)
		}
	}
	return out
}
