// Package hcall names and decodes lguest hypercalls for people: the one
// decoder behind the TUI's hypercall pane, the gdb stub's `monitor hcalls`,
// the headless summary and the text of a trace. It never changes what the
// Host does; the Host keeps the raw argument words (the JSONL trace carries
// them too) and front ends ask here what they mean.
//
// The numbers and argument meanings are spec §3.2 and §3.3; 4.x drops
// NOTIFY (4.x spec §2).
package hcall

import (
	"fmt"
	"strings"
)

// Hypercall numbers (spec §3.2, arch/x86/include/asm/lguest_hcall.h).
const (
	FlushAsync     = 0
	LguestInit     = 1
	Shutdown       = 2
	NewPgtable     = 4
	FlushTLB       = 5
	LoadIDTEntry   = 6
	SetStack       = 7
	TS             = 8
	SetClockevent  = 9
	Halt           = 10
	SetPMD         = 13
	SetPTE         = 14
	SetPGD         = 15
	LoadTLS        = 16
	Notify         = 17 // 3.x only: a "Bad hypercall" in 4.x
	LoadGDTEntry   = 18
	SendInterrupts = 19
)

var names = map[int]string{
	FlushAsync:     "FLUSH_ASYNC",
	LguestInit:     "LGUEST_INIT",
	Shutdown:       "SHUTDOWN",
	NewPgtable:     "NEW_PGTABLE",
	FlushTLB:       "FLUSH_TLB",
	LoadIDTEntry:   "LOAD_IDT_ENTRY",
	SetStack:       "SET_STACK",
	TS:             "TS",
	SetClockevent:  "SET_CLOCKEVENT",
	Halt:           "HALT",
	SetPMD:         "SET_PMD",
	SetPTE:         "SET_PTE",
	SetPGD:         "SET_PGD",
	LoadTLS:        "LOAD_TLS",
	Notify:         "NOTIFY",
	LoadGDTEntry:   "LOAD_GDT_ENTRY",
	SendInterrupts: "SEND_INTERRUPTS",
}

// Lookup is the LHCALL_ name of a hypercall number without its prefix,
// and whether lguest knows the number (no allocation: the Host names every
// hypercall it logs with it).
func Lookup(nr int) (string, bool) {
	s, ok := names[nr]
	return s, ok
}

// Name is the LHCALL_ name of a hypercall number without its prefix, or
// "BAD(n)" for a number lguest does not know.
func Name(nr int) string {
	if s, ok := names[nr]; ok {
		return s
	}
	return fmt.Sprintf("BAD(%d)", nr)
}

// Number is the inverse of Name; it also accepts the LHCALL_ prefix and
// lower case, as people type it (`--until hcall:new_pgtable`).
func Number(name string) (int, bool) {
	name = strings.TrimPrefix(strings.ToUpper(name), "LHCALL_")
	for nr, s := range names {
		if s == name {
			return nr, true
		}
	}
	return 0, false
}

// Names lists every hypercall name in number order (for completion).
func Names() []string {
	out := make([]string, 0, len(names))
	for nr := 0; nr <= SendInterrupts; nr++ {
		if s, ok := names[nr]; ok {
			out = append(out, s)
		}
	}
	return out
}

// ArgCount is how many argument words (ebx, ecx, edx, esi) a hypercall
// uses; the rest are noise the Guest left in those registers.
func ArgCount(nr int, pae bool) int {
	switch nr {
	case FlushAsync, Halt, SendInterrupts:
		return 0
	case LguestInit, NewPgtable, FlushTLB, TS, SetClockevent, Notify:
		return 1
	case Shutdown, SetPGD, LoadTLS, SetPMD:
		return 2
	case LoadIDTEntry, SetStack, LoadGDTEntry:
		return 3
	case SetPTE:
		if pae {
			return 4 // the PTE's high half rides in esi (spec §3.3.12)
		}
		return 3
	}
	return 4
}

// Shutdown reasons (spec §3.3.3).
const (
	ShutdownPowerOff = 1
	ShutdownRestart  = 2
)

// Context is what the decoder may ask about the Guest. Every field is
// optional: a nil function simply means "no name known".
type Context struct {
	PAE bool
	// Symbol names a guest-physical address when it is the load address
	// of a kernel object ("pa(lguest_data)"); "" when it is not.
	Symbol func(pa uint32) string
	// Notify names what a NOTIFY address is on the lguest bus ("console
	// queue 1 (transmitq) kick"); "" when unknown.
	Notify func(addr uint32) string
}

// Decoded is one hypercall in words. Args keeps the raw words the Guest
// passed, so nothing is lost by decoding.
type Decoded struct {
	Nr     int
	Name   string
	Args   []uint32
	Fields []string // "va=0xbfef952b (pgd 767 pte 239)", in argument order
}

// String is the one-line form: the name, then the decoded fields.
func (d Decoded) String() string {
	if len(d.Fields) == 0 {
		return d.Name
	}
	return d.Name + " " + strings.Join(d.Fields, " ")
}

// Decode turns a hypercall number and its argument words into words.
// text is what the Host read on the Guest's behalf (the SHUTDOWN message,
// already quoted), or "".
func Decode(nr int, args []uint32, text string, ctx Context) Decoded {
	d := Decoded{Nr: nr, Name: Name(nr), Args: args}
	arg := func(i int) uint32 {
		if i < len(args) {
			return args[i]
		}
		return 0
	}
	add := func(format string, a ...any) { d.Fields = append(d.Fields, fmt.Sprintf(format, a...)) }
	switch nr {
	case FlushAsync, Halt, SendInterrupts:
	case LguestInit:
		add("lguest_data=%s", ctx.phys(arg(0)))
	case Shutdown:
		if text != "" {
			add("%s", text)
		} else {
			add("msg=%s", ctx.phys(arg(0)))
		}
		switch arg(1) {
		case ShutdownRestart:
			add("RESTART")
		case ShutdownPowerOff:
			add("POWEROFF")
		default:
			add("reason=%d (power-off)", int32(arg(1)))
		}
	case NewPgtable:
		add("pgdir=%s", ctx.phys(arg(0)))
	case FlushTLB:
		if arg(0) == 0 {
			add("user (current pgdir, below kernel_address)")
		} else {
			add("all (every cached pgdir)")
		}
	case LoadIDTEntry:
		add("vector %d", arg(0))
		add("%s", Gate(arg(1), arg(2)))
	case SetStack:
		add("ss=%#x esp=%#x pages=%d", arg(0), arg(1), arg(2))
	case TS:
		if arg(0) != 0 {
			add("TS on (FPU traps)")
		} else {
			add("TS off")
		}
	case SetClockevent:
		if arg(0) == 0 {
			add("stop")
		} else {
			add("in %s", Duration(uint64(arg(0))))
		}
	case SetPMD:
		add("pmd=%s index %d", ctx.phys(arg(0)), arg(1))
	case SetPTE:
		pte := uint64(arg(2))
		if ctx.PAE {
			pte |= uint64(arg(3)) << 32
		}
		add("pgdir=%s", ctx.phys(arg(0)))
		add("va=%#x (%s)", arg(1), Indices(arg(1), ctx.PAE))
		add("pte=%s", Entry(pte, true, ctx.PAE))
	case SetPGD:
		add("pgdir=%s", ctx.phys(arg(0)))
		lo, hi := pgdSpan(arg(1), ctx.PAE)
		add("index %d (va %#x-%#x)", arg(1), lo, hi)
	case LoadTLS:
		add("descs=%s", ctx.phys(arg(0)))
	case Notify:
		add("%#x", arg(0))
		if ctx.Notify != nil {
			if s := ctx.Notify(arg(0)); s != "" {
				add("(%s)", s)
			}
		}
	case LoadGDTEntry:
		add("entry %d (sel %#x)", arg(0), arg(0)*8)
		add("%s", Descriptor(arg(1), arg(2)))
	default:
		for _, a := range args {
			add("%#x", a)
		}
	}
	return d
}

// phys shows a guest-physical address, with the kernel object it is the
// load address of when the symbol model knows one.
func (c Context) phys(pa uint32) string {
	if c.Symbol != nil {
		if s := c.Symbol(pa); s != "" {
			return fmt.Sprintf("%#x %s", pa, s)
		}
	}
	return fmt.Sprintf("%#x", pa)
}

// Duration shows nanoseconds the way a person reads a timer: "50 ms",
// "1.5 ms", "250 us", "900 ns".
func Duration(ns uint64) string {
	switch {
	case ns >= 1_000_000_000 && ns%1_000_000 == 0:
		return trimFloat(float64(ns)/1e9) + " s"
	case ns >= 1_000_000:
		return trimFloat(float64(ns)/1e6) + " ms"
	case ns >= 1_000:
		return trimFloat(float64(ns)/1e3) + " us"
	}
	return fmt.Sprintf("%d ns", ns)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.3f", f)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
