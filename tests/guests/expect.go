package guests

import (
	"debug/elf"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The expectation file format (expect/NAME.txt), line by line:
//
//	# comment (not inside [console])
//	[guest]
//	elf NAME.elf            file names inside the build directory
//	bzimage NAME.bzImage
//	pae yes|no              the Host must run it with PAE paging or without
//	mem-mib N               guest RAM the run needs (at least)
//	max-instructions N      instruction limit to pass lgdbg (0: none needed)
//	device ..., disk-after ...  command-line devices and the disk after the run (devices.go)
//	[console]
//	exact console lines, in order (every line the guest prints; blank lines
//	are ignored)
//	[exit]
//	poweroff "MSG"          LHCALL_SHUTDOWN(MSG, 1): lguest's reason is "CRASH: MSG"
//	kill "REASON"           the exact kill_guest reason (spec §3.5), Go-quoted
//	kill-prefix "PREFIX"    the reason starts with PREFIX (when lguest prints %p)
//	instruction-limit       lguest never ends this run; lgdbg's limit must
//	[hypercalls]
//	[async] NAME [ARG...] [xN]
//
// [hypercalls] lists every hypercall in execution order except LHCALL_NOTIFY
// (all NOTIFYs in these guests are console writes, checked by [console]).
// NAME is a name from HypercallNames without "LHCALL_" or a decimal number.
// "async" marks a call the Host takes from the lguest_data ring (spec §3.4);
// ring entries run just before the synchronous call that drained them. A
// trailing "xN" repeats the line N times. ARGs are arg1..arg4 (ebx, ecx, edx,
// esi); trailing arguments not listed are not compared. An ARG is a number
// (0x... or decimal), "*" (anything) or a build-dependent address:
//
//	{sym:NAME+0x10}     the ELF symbol's value plus the terms
//	{pa:NAME+0x10}      the same minus PAGE_OFFSET (a physical address)
//	{gatelo:NAME}       low word of an IDT gate to NAME: 0x00600000 | (NAME & 0xFFFF)
//	{gatehi:NAME+0x8e00} high word: (NAME & 0xFFFF0000) plus the terms
//
// When the run ends with a refused hypercall, that call is the last entry.

// HypercallNames maps lguest hypercall numbers to their names (spec §3.2).
var HypercallNames = map[uint32]string{
	0: "FLUSH_ASYNC", 1: "LGUEST_INIT", 2: "SHUTDOWN", 4: "NEW_PGTABLE", 5: "FLUSH_TLB",
	6: "LOAD_IDT_ENTRY", 7: "SET_STACK", 8: "TS", 9: "SET_CLOCKEVENT", 10: "HALT",
	13: "SET_PMD", 14: "SET_PTE", 15: "SET_PGD", 16: "LOAD_TLS", 17: "NOTIFY",
	18: "LOAD_GDT_ENTRY", 19: "SEND_INTERRUPTS",
}

// NotifyHypercall is LHCALL_NOTIFY, left out of Expectation.Hypercalls.
const NotifyHypercall = 17

// defaultPageOffset is the 3G/1G split; ResolveELF reads the guest's own
// from its ELF (p_vaddr - p_paddr), as boot-2g is linked at 0x80000000.
const defaultPageOffset = 0xC0000000

// ExitKind says how a run must end.
type ExitKind string

// Exit kinds.
const (
	ExitPoweroff         ExitKind = "poweroff"
	ExitKill             ExitKind = "kill"
	ExitKillPrefix       ExitKind = "kill-prefix"
	ExitInstructionLimit ExitKind = "instruction-limit"
)

// Exit is the expected end of a run.
type Exit struct {
	Kind    ExitKind
	Message string // SHUTDOWN message, kill reason or its prefix
}

// Reason is the death reason as lguest reports it: "CRASH: MSG" for a
// SHUTDOWN (spec §3.3.3), the kill reason (or its prefix) otherwise, and ""
// for an instruction limit.
func (x Exit) Reason() string {
	if x.Kind == ExitPoweroff {
		return "CRASH: " + x.Message
	}
	return x.Message
}

// MatchReason reports whether the Host's death reason fits this exit.
func (x Exit) MatchReason(reason string) bool {
	switch x.Kind {
	case ExitPoweroff, ExitKill:
		return reason == x.Reason()
	case ExitKillPrefix:
		return strings.HasPrefix(reason, x.Message)
	}
	return false
}

// Arg is one expected hypercall argument.
type Arg struct {
	Any   bool   // "*": not compared
	Value uint32 // valid once Expr is empty
	Expr  string // a {...} address still to be resolved
}

func (a Arg) String() string {
	switch {
	case a.Any:
		return "*"
	case a.Expr != "":
		return a.Expr
	}
	return fmt.Sprintf("%#x", a.Value)
}

// Hypercall is one expected hypercall.
type Hypercall struct {
	Num   uint32
	Async bool
	Args  []Arg
}

// Name is the hypercall's name, or its number for an unknown one.
func (h Hypercall) Name() string {
	if n, ok := HypercallNames[h.Num]; ok {
		return n
	}
	return strconv.FormatUint(uint64(h.Num), 10)
}

func (h Hypercall) String() string {
	var b strings.Builder
	if h.Async {
		b.WriteString("async ")
	}
	b.WriteString(h.Name())
	for _, a := range h.Args {
		b.WriteString(" " + a.String())
	}
	return b.String()
}

// Matches reports whether a hypercall the Host ran (number and arg1..arg4)
// is this one. Unresolved addresses never match.
func (h Hypercall) Matches(num uint32, args [4]uint32) bool {
	if num != h.Num {
		return false
	}
	for i, a := range h.Args {
		if a.Any {
			continue
		}
		if a.Expr != "" || a.Value != args[i] {
			return false
		}
	}
	return true
}

// Expectation is what one guest must do under lgdbg.
type Expectation struct {
	Name            string
	ELF, BzImage    string
	PAE             bool
	MemMiB          int
	MaxInstructions uint64
	Console         []string
	Exit            Exit
	Hypercalls      []Hypercall
	Devices         []DeviceExpect // devices.go
	DiskAfter       []DiskRange
	// PageOffset turns {pa:NAME} into a physical address; 0 means
	// 0xC0000000. ResolveELF sets it from the ELF.
	PageOffset uint32
}

// ParseExpectation parses the format described above.
func ParseExpectation(text string) (*Expectation, error) {
	e := &Expectation{}
	section := ""
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			switch section {
			case "guest", "console", "exit", "hypercalls":
			default:
				return nil, fmt.Errorf("line %d: unknown section %s", n, line)
			}
			if seen[section] {
				return nil, fmt.Errorf("line %d: section %s twice", n, line)
			}
			seen[section] = true
			continue
		}
		if section == "console" {
			e.Console = append(e.Console, line)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		var err error
		switch section {
		case "guest":
			err = e.parseGuest(line)
		case "exit":
			if e.Exit.Kind != "" {
				err = errors.New("more than one exit")
			} else {
				e.Exit, err = parseExit(line)
			}
		case "hypercalls":
			var hs []Hypercall
			hs, err = parseHypercall(line)
			e.Hypercalls = append(e.Hypercalls, hs...)
		default:
			err = errors.New("text outside a section")
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: %w", n, line, err)
		}
	}
	for _, s := range []string{"guest", "exit", "hypercalls"} {
		if !seen[s] {
			return nil, fmt.Errorf("missing section [%s]", s)
		}
	}
	if e.Exit.Kind == "" {
		return nil, errors.New("[exit] is empty")
	}
	if e.ELF == "" || e.BzImage == "" || e.MemMiB <= 0 {
		return nil, errors.New("[guest] needs elf, bzimage and mem-mib")
	}
	return e, nil
}

func (e *Expectation) parseGuest(line string) error {
	f := strings.Fields(line)
	if len(f) > 0 && (f[0] == "device" || f[0] == "disk-after") {
		return e.parseDeviceLine(f)
	}
	if len(f) != 2 {
		return errors.New("want KEY VALUE")
	}
	var err error
	switch f[0] {
	case "elf":
		e.ELF = f[1]
	case "bzimage":
		e.BzImage = f[1]
	case "pae":
		switch f[1] {
		case "yes":
			e.PAE = true
		case "no":
		default:
			err = errors.New("pae is yes or no")
		}
	case "mem-mib":
		e.MemMiB, err = strconv.Atoi(f[1])
	case "max-instructions":
		e.MaxInstructions, err = strconv.ParseUint(f[1], 0, 64)
	default:
		err = fmt.Errorf("unknown key %s", f[0])
	}
	return err
}

func parseExit(line string) (Exit, error) {
	kind, rest, _ := strings.Cut(line, " ")
	x := Exit{Kind: ExitKind(kind)}
	switch x.Kind {
	case ExitInstructionLimit:
		if strings.TrimSpace(rest) != "" {
			return x, errors.New("instruction-limit takes no message")
		}
		return x, nil
	case ExitPoweroff, ExitKill, ExitKillPrefix:
		msg, err := strconv.Unquote(strings.TrimSpace(rest))
		if err != nil {
			return x, fmt.Errorf("message must be a Go-quoted string: %w", err)
		}
		x.Message = msg
		return x, nil
	}
	return x, fmt.Errorf("unknown exit kind %q", kind)
}

var hypercallNumbers = func() map[string]uint32 {
	m := map[string]uint32{}
	for n, s := range HypercallNames {
		m[s] = n
	}
	return m
}()

func parseHypercall(line string) ([]Hypercall, error) {
	f := strings.Fields(line)
	h := Hypercall{}
	if f[0] == "async" {
		h.Async = true
		f = f[1:]
	}
	if len(f) == 0 {
		return nil, errors.New("no hypercall name")
	}
	repeat := 1
	if last := f[len(f)-1]; len(f) > 1 && strings.HasPrefix(last, "x") {
		r, err := strconv.Atoi(last[1:])
		if err != nil || r < 1 {
			return nil, fmt.Errorf("bad repeat %q", last)
		}
		repeat = r
		f = f[:len(f)-1]
	}
	if num, ok := hypercallNumbers[f[0]]; ok {
		h.Num = num
	} else if num, err := strconv.ParseUint(f[0], 10, 32); err == nil {
		h.Num = uint32(num)
	} else {
		return nil, fmt.Errorf("unknown hypercall %q", f[0])
	}
	if h.Num == NotifyHypercall {
		return nil, errors.New("NOTIFY is not listed (console output is checked by [console])")
	}
	if len(f)-1 > 4 {
		return nil, errors.New("more than 4 arguments")
	}
	for _, s := range f[1:] {
		a, err := parseArg(s)
		if err != nil {
			return nil, err
		}
		h.Args = append(h.Args, a)
	}
	out := make([]Hypercall, repeat)
	for i := range out {
		out[i] = h
		out[i].Args = append([]Arg(nil), h.Args...)
	}
	return out, nil
}

func parseArg(s string) (Arg, error) {
	switch {
	case s == "*":
		return Arg{Any: true}, nil
	case strings.HasPrefix(s, "{"):
		if _, _, _, err := splitExpr(s); err != nil {
			return Arg{}, err
		}
		return Arg{Expr: s}, nil
	}
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return Arg{}, fmt.Errorf("bad argument %q", s)
	}
	return Arg{Value: uint32(v)}, nil
}

// splitExpr splits "{kind:NAME+0x10-4}" into kind, NAME and the sum of the
// terms.
func splitExpr(s string) (kind, name string, terms uint32, err error) {
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return "", "", 0, fmt.Errorf("bad address expression %q", s)
	}
	kind, body, ok := strings.Cut(s[1:len(s)-1], ":")
	switch {
	case !ok:
		return "", "", 0, fmt.Errorf("address expression %q lacks KIND:", s)
	case kind != "sym" && kind != "pa" && kind != "gatelo" && kind != "gatehi":
		return "", "", 0, fmt.Errorf("address expression %q: unknown kind %q", s, kind)
	}
	end := strings.IndexAny(body, "+-")
	if end < 0 {
		end = len(body)
	}
	name, rest := body[:end], body[end:]
	if name == "" {
		return "", "", 0, fmt.Errorf("address expression %q has no symbol", s)
	}
	for rest != "" {
		sign := rest[0]
		rest = rest[1:]
		j := strings.IndexAny(rest, "+-")
		if j < 0 {
			j = len(rest)
		}
		v, perr := strconv.ParseUint(rest[:j], 0, 32)
		if perr != nil {
			return "", "", 0, fmt.Errorf("address expression %q: bad term %q", s, rest[:j])
		}
		if sign == '+' {
			terms += uint32(v)
		} else {
			terms -= uint32(v)
		}
		rest = rest[j:]
	}
	return kind, name, terms, nil
}

// Resolve returns a copy with every address expression replaced by its
// value, looking symbols up with sym.
func (e *Expectation) Resolve(sym func(name string) (uint32, error)) (*Expectation, error) {
	r := *e
	r.Hypercalls = make([]Hypercall, len(e.Hypercalls))
	for i, h := range e.Hypercalls {
		h.Args = append([]Arg(nil), h.Args...)
		for j, a := range h.Args {
			if a.Expr == "" {
				continue
			}
			kind, name, terms, err := splitExpr(a.Expr)
			if err != nil {
				return nil, err
			}
			v, err := sym(name)
			if err != nil {
				return nil, fmt.Errorf("hypercall %d (%s): %w", i+1, h, err)
			}
			switch kind {
			case "pa":
				po := e.PageOffset
				if po == 0 {
					po = defaultPageOffset
				}
				v -= po
			case "gatelo":
				v = 0x00600000 | v&0xFFFF
			case "gatehi":
				v &= 0xFFFF0000
			}
			h.Args[j] = Arg{Value: v + terms}
		}
		r.Hypercalls[i] = h
	}
	return &r, nil
}

// ResolveELF resolves against the symbols of the guest's ELF (normally
// filepath.Join(buildDir, e.ELF)).
func (e *Expectation) ResolveELF(path string) (*Expectation, error) {
	syms, err := ELFSymbols(path)
	if err != nil {
		return nil, err
	}
	po, err := elfPageOffset(path)
	if err != nil {
		return nil, err
	}
	c := *e
	c.PageOffset = po
	return c.Resolve(func(name string) (uint32, error) {
		v, ok := syms[name]
		switch {
		case !ok:
			return 0, fmt.Errorf("symbol %s not in %s", name, path)
		case v == ambiguous:
			return 0, fmt.Errorf("symbol %s is defined more than once in %s", name, path)
		}
		return v, nil
	})
}

const ambiguous = 0xFFFFFFFF

// elfPageOffset is p_vaddr - p_paddr of the first PT_LOAD linked away from
// its load address.
func elfPageOffset(path string) (uint32, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("guests: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr != p.Paddr {
			return uint32(p.Vaddr - p.Paddr), nil
		}
	}
	return 0, fmt.Errorf("guests: %s has no PT_LOAD linked away from its load address", path)
}

// ELFSymbols reads the named symbols of an ELF file; a name defined more
// than once maps to 0xFFFFFFFF.
func ELFSymbols(path string) (map[string]uint32, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("guests: %w", err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("guests: symbols of %s: %w", path, err)
	}
	m := map[string]uint32{}
	for _, s := range syms {
		if s.Name == "" || elf.ST_TYPE(s.Info) == elf.STT_FILE || elf.ST_TYPE(s.Info) == elf.STT_SECTION {
			continue
		}
		if old, ok := m[s.Name]; ok && old != uint32(s.Value) {
			m[s.Name] = ambiguous
			continue
		}
		m[s.Name] = uint32(s.Value)
	}
	return m, nil
}

// Call is one hypercall a Host ran, as a trace records it.
type Call struct {
	Num   uint32
	Args  [4]uint32 // arg1..arg4 (ebx, ecx, edx, esi)
	Async bool      // taken from the lguest_data ring
}

// Observed is what a run of a guest produced.
type Observed struct {
	Console string // everything the guest printed, concatenated
	// Calls in execution order; NOTIFYs may be included (they are skipped).
	Calls []Call
	// Reason is the death reason ("CRASH: Power down", a kill_guest reason);
	// empty when the run was stopped by an instruction limit.
	Reason string
	// InstructionLimit is true when the Host's instruction limit ended
	// the run.
	InstructionLimit bool
}

// Check compares a run with a resolved expectation and returns one line per
// difference (none: the run is as expected). It reports the first hypercall
// that differs, with its index, rather than every later one.
func (e *Expectation) Check(o Observed) []string {
	var diffs []string
	got := strings.Split(strings.TrimSuffix(o.Console, "\n"), "\n")
	if o.Console == "" {
		got = nil
	}
	for i := 0; i < max(len(got), len(e.Console)); i++ {
		switch {
		case i >= len(got):
			diffs = append(diffs, fmt.Sprintf("console line %d missing: want %q", i+1, e.Console[i]))
		case i >= len(e.Console):
			diffs = append(diffs, fmt.Sprintf("console line %d unexpected: %q", i+1, got[i]))
		case got[i] != e.Console[i]:
			diffs = append(diffs, fmt.Sprintf("console line %d: got %q, want %q", i+1, got[i], e.Console[i]))
		}
	}

	switch e.Exit.Kind {
	case ExitInstructionLimit:
		if !o.InstructionLimit {
			diffs = append(diffs, fmt.Sprintf("run ended with %q, want the instruction limit", o.Reason))
		}
	default:
		if o.InstructionLimit {
			diffs = append(diffs, fmt.Sprintf("run hit the instruction limit, want %s %q", e.Exit.Kind, e.Exit.Reason()))
		} else if !e.Exit.MatchReason(o.Reason) {
			diffs = append(diffs, fmt.Sprintf("run ended with %q, want %s %q", o.Reason, e.Exit.Kind, e.Exit.Reason()))
		}
	}

	var calls []Call
	for _, c := range o.Calls {
		if c.Num != NotifyHypercall {
			calls = append(calls, c)
		}
	}
	for i := 0; i < max(len(calls), len(e.Hypercalls)); i++ {
		if i >= len(calls) {
			diffs = append(diffs, fmt.Sprintf("hypercall %d missing: want %s (%d of %d ran)", i+1, e.Hypercalls[i], len(calls), len(e.Hypercalls)))
			break
		}
		c := calls[i]
		if i >= len(e.Hypercalls) {
			diffs = append(diffs, fmt.Sprintf("hypercall %d unexpected: %s (%d more)", i+1, callString(c), len(calls)-i))
			break
		}
		if h := e.Hypercalls[i]; !h.Matches(c.Num, c.Args) || h.Async != c.Async {
			diffs = append(diffs, fmt.Sprintf("hypercall %d: got %s, want %s", i+1, callString(c), h))
			break
		}
	}
	return diffs
}

func callString(c Call) string {
	h := Hypercall{Num: c.Num, Async: c.Async}
	for _, a := range c.Args {
		h.Args = append(h.Args, Arg{Value: a})
	}
	return h.String()
}
