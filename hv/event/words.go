package event

import (
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv/hcall"
)

// The words a user stops a run with: "KIND" or "KIND:ARG". One table
// serves the CLI's --until, the TUI's ":until" and any other front end,
// so they accept exactly the same words and explain them alike.

// ArgKind says what the text after "KIND:" names.
type ArgKind int

const (
	ArgText      ArgKind = iota // text the event carries (console:login)
	ArgHypercall                // a hypercall name (hcall:NEW_PGTABLE, hcall:new_pgtable)
	ArgVector                   // a number, or the event's name (trap:14, trap:#PF, irq:0)
)

// Word is one kind a stop can be asked at.
type Word struct {
	Kind Kind
	Arg  ArgKind
}

// Words lists the kinds in the order help text names them.
var Words = []Word{
	{Hypercall, ArgHypercall},
	{Trap, ArgVector},
	{Interrupt, ArgVector},
	{Shadow, ArgText},
	{LinearOff, ArgText},
	{PgdirSwitch, ArgText},
	{Console, ArgText},
	{Kill, ArgText},
	{Shutdown, ArgText},
	{Restart, ArgText},
	{Halt, ArgText},
	{Unimplemented, ArgText},
	{Launcher, ArgText},
	{Paging, ArgText},
}

// WordList is the kinds as help and error text spell them.
func WordList() string {
	names := make([]string, len(Words))
	for i, w := range Words {
		names[i] = string(w.Kind)
	}
	return strings.Join(names, ", ")
}

// WordHelp explains the words in lines of at most width columns, for the
// CLI's usage, the TUI's help and the README, which therefore agree.
func WordHelp(width int) []string {
	return WrapWords("KIND or KIND:ARG, KIND one of "+WordList()+
		"; e.g. hcall:NEW_PGTABLE, trap:14, trap:#PF, console:TEXT", width)
}

// WrapWords fills text's words into lines of at most width columns (a
// longer word gets a line of its own), for help text in any front end.
func WrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// Match turns "KIND" or "KIND:ARG" into a predicate on events. The error
// names what is wrong without naming the flag or command it came from;
// the front end adds that.
func Match(spec string) (func(Event) bool, error) {
	kind, arg, hasArg := strings.Cut(spec, ":")
	var w Word
	found := false
	for _, c := range Words {
		if string(c.Kind) == kind {
			w, found = c, true
		}
	}
	if !found {
		return nil, fmt.Errorf("unknown event kind %q (want %s)", kind, WordList())
	}
	k := w.Kind
	if !hasArg {
		return func(e Event) bool { return e.Kind == k }, nil
	}
	switch w.Arg {
	case ArgHypercall:
		nr, ok := hcall.Number(arg)
		if !ok {
			return nil, fmt.Errorf("unknown hypercall %q", arg)
		}
		return func(e Event) bool { return e.Kind == k && e.Nr == nr }, nil
	case ArgVector:
		var v int
		if _, err := fmt.Sscanf(arg, "%v", &v); err != nil {
			return func(e Event) bool { return e.Kind == k && e.Name == arg }, nil
		}
		return func(e Event) bool { return e.Kind == k && e.Nr == v }, nil
	}
	return func(e Event) bool { return e.Kind == k && strings.Contains(e.Text, arg) }, nil
}
