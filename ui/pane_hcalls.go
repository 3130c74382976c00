package ui

import (
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
)

// Pane 3, Hypercalls.

func (a *app) matchFilter(line string) bool {
	return a.filter == "" || strings.Contains(strings.ToLower(line), strings.ToLower(a.filter))
}

func (a *app) setFilter(f string) {
	a.filter = f
	var sb strings.Builder
	for _, l := range a.hcalls {
		if a.matchFilter(l) {
			if sb.Len() > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(l)
		}
	}
	tv := a.panes[paneHcalls]
	tv.SetText(sb.String())
	tv.ScrollToEnd()
	title := " 3 Hypercalls "
	if f != "" {
		title = fmt.Sprintf(" 3 Hypercalls /%s ", f)
	}
	tv.SetTitle(title)
}

// hcallLine renders one hypercall for the log: icount, name, arguments,
// and the Host's decoding of what it did; physical-address arguments name
// the kernel object they are the load address of (hv.Machine.HcallText).
func hcallLine(m *hv.Machine, e hv.Event) string {
	return fmt.Sprintf("%10d %s", e.ICount, sanitizeConsole(strings.TrimPrefix(m.HcallText(e), "hcall ")))
}
