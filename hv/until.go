package hv

import (
	"fmt"
	"strings"
)

// ParseUntil turns an --until word into an event matcher: "KIND" (hcall,
// trap, linear-off, pgdir, shutdown, kill, console, ...) or "KIND:NAME",
// where NAME is a hypercall name (hcall:NEW_PGTABLE), a trap vector or name
// (trap:14, trap:#PF), or text the console printed (console:login).
func ParseUntil(s string) (func(Event) bool, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	k := EventKind(kind)
	switch k {
	case EvHypercall, EvTrap, EvInterrupt, EvShadow, EvLinearOff, EvPgdirSwitch, EvConsole, EvKill, EvShutdown, EvRestart, EvHalt, EvUnimplemented:
	default:
		return nil, fmt.Errorf("--until %q: unknown event kind %q (want hcall, trap, irq, shadow, linear-off, pgdir, console, kill, shutdown, restart, halt)", s, kind)
	}
	if !hasArg {
		return func(e Event) bool { return e.Kind == k }, nil
	}
	switch k {
	case EvHypercall:
		nr, ok := HcallNumber(arg)
		if !ok {
			return nil, fmt.Errorf("--until %q: unknown hypercall %q", s, arg)
		}
		return func(e Event) bool { return e.Kind == k && e.Nr == nr }, nil
	case EvTrap, EvInterrupt:
		var v int
		if _, err := fmt.Sscanf(arg, "%v", &v); err != nil {
			return func(e Event) bool { return e.Kind == k && e.Name == arg }, nil
		}
		return func(e Event) bool { return e.Kind == k && e.Nr == v }, nil
	default:
		return func(e Event) bool { return e.Kind == k && strings.Contains(e.Text, arg) }, nil
	}
}
