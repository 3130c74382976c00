package ui

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/hcall"
)

// Pane 3, Hypercalls: hv/hcall's decoding of every hypercall.

// hcallLine renders one hypercall for the log: icount, then hv/hcall's
// decoding (flags, indices, queue names, reasons, times).
func hcallLine(e hv.Event, d hcall.Decoded) string {
	async := ""
	if e.Async {
		async = " (async)"
	}
	return fmt.Sprintf("%10d %s%s", e.ICount, sanitizeConsole(d.String()), async)
}

// hcallDetail is an expanded hypercall line: the raw words beside their
// meaning, and where the Guest made the call.
func hcallDetail(e hv.Event, d hcall.Decoded) []string {
	out := []string{fmt.Sprintf("LHCALL_%s (%d) at eip %#x, icount %d", d.Name, e.Nr, e.EIP, e.ICount)}
	regs := []string{"ebx", "ecx", "edx", "esi"}
	for i, a := range e.Args {
		if i < len(regs) {
			out = append(out, fmt.Sprintf("%s = %#010x", regs[i], a))
		}
	}
	for _, f := range d.Fields {
		out = append(out, sanitizeConsole(f))
	}
	if e.Async {
		out = append(out, "from the async ring (spec §3.4)")
	}
	return out
}
