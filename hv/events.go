package hv

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// EventKind names what happened. The names are the words a user types after
// --until and greps for in a --trace file, so they never change meaning.
type EventKind string

// Event kinds (DESIGN.md "Events").
const (
	EvHypercall     EventKind = "hcall"         // a hypercall (sync or from the async ring) with decoded args
	EvTrap          EventKind = "trap"          // a trap exit and what the Host did with it
	EvInterrupt     EventKind = "irq"           // a virtual interrupt delivered into the Guest
	EvShadow        EventKind = "shadow"        // a shadow page-table change, with its reason
	EvLinearOff     EventKind = "linear-off"    // linear_pages cleared by the first NEW_PGTABLE
	EvPgdirSwitch   EventKind = "pgdir"         // the current shadow pgdir changed
	EvConsole       EventKind = "console"       // text the Guest printed
	EvKill          EventKind = "kill"          // kill_guest: the Guest is dead, with the reason
	EvShutdown      EventKind = "shutdown"      // LHCALL_SHUTDOWN power-off
	EvRestart       EventKind = "restart"       // LHCALL_SHUTDOWN restart request
	EvHalt          EventKind = "halt"          // the Guest halted; virtual time skipped to the next event
	EvUnimplemented EventKind = "unimplemented" // the CPU met an instruction it does not implement
)

// Event is one typed, instruction-count-stamped record of the Host's journey.
// Only the fields of its kind are set; the JSON form (MarshalJSON) carries
// exactly those.
type Event struct {
	Seq    uint64    `json:"seq"`
	ICount uint64    `json:"icount"`
	Kind   EventKind `json:"kind"`

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
	case EvHypercall:
		m["nr"], m["name"], m["eip"] = e.Nr, e.Name, e.EIP
		if len(e.Args) > 0 {
			m["args"] = e.Args
		}
		if e.Async {
			m["async"] = true
		}
	case EvTrap:
		m["nr"], m["name"], m["eip"], m["err"], m["outcome"] = e.Nr, e.Name, e.EIP, e.ErrCode, e.Outcome
		if e.Nr == 14 {
			m["cr2"] = e.CR2
		}
	case EvInterrupt:
		m["nr"], m["eip"] = e.Nr, e.EIP
	case EvShadow:
		m["slot"], m["level"], m["index"], m["vaddr"] = e.Slot, e.Level, e.Index, e.VAddr
		m["old"], m["new"], m["why"] = e.Old, e.New, e.Why
	case EvLinearOff, EvPgdirSwitch:
		m["slot"], m["gpgdir"], m["root"] = e.Slot, e.GPgdir, e.Root
	case EvKill, EvUnimplemented:
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
	case EvHypercall:
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
	case EvTrap:
		return fmt.Sprintf("trap %d (%s) at %#x err %#x cr2 %#x: %s", e.Nr, e.Name, e.EIP, e.ErrCode, e.CR2, e.Outcome)
	case EvInterrupt:
		return fmt.Sprintf("irq %d delivered at %#x", e.Nr, e.EIP)
	case EvShadow:
		return fmt.Sprintf("shadow slot %d %s[%d] va %#x %#x -> %#x (%s)", e.Slot, e.Level, e.Index, e.VAddr, e.Old, e.New, e.Why)
	case EvLinearOff:
		return fmt.Sprintf("linear_pages off (first NEW_PGTABLE %#x)", e.GPgdir)
	case EvPgdirSwitch:
		return fmt.Sprintf("pgdir switch to slot %d (guest %#x, shadow %#x)", e.Slot, e.GPgdir, e.Root)
	default:
		return fmt.Sprintf("%s %q", e.Kind, e.Text)
	}
}

// eventLog is the bounded ring of recent events plus the optional JSONL
// trace. Appends come from the guest goroutine; readers (UI, gdb monitor)
// copy out under the lock, so the guest never waits on a reader for long.
type eventLog struct {
	mu    sync.Mutex
	ring  []Event
	next  uint64 // sequence number of the next event
	trace *json.Encoder
	werr  error
	hook  func(Event) // optional: called on the guest goroutine (headless console, --until)
}

func newEventLog(capacity int) *eventLog {
	return &eventLog{ring: make([]Event, capacity)}
}

func (l *eventLog) setTrace(w io.Writer) {
	if w == nil {
		l.trace = nil
		return
	}
	l.trace = json.NewEncoder(w)
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	e.Seq = l.next
	l.ring[l.next%uint64(len(l.ring))] = e
	l.next++
	if l.trace != nil && l.werr == nil {
		l.werr = l.trace.Encode(e)
	}
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		hook(e)
	}
}

// since copies the events with Seq >= seq still in the ring, oldest first,
// and the sequence number to ask for next time.
func (l *eventLog) since(seq uint64) ([]Event, uint64) {
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
		out = append(out, l.ring[s%uint64(len(l.ring))])
	}
	return out, l.next
}
