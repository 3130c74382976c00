package gdbstub

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
)

// Reverse execution (the "bs" and "bc" packets, ReverseStep+ and
// ReverseContinue+ in qSupported) over the Machine's history: gdb's
// reverse-stepi is one bs, and reverse-nexti, reverse-step, reverse-finish
// and reverse-continue are gdb's own loops of bs and bc with breakpoints.

func init() {
	monitorCmds = append(monitorCmds,
		monitorCmd{name: "goto", args: "ICOUNT", help: "travel in time to instruction count ICOUNT (then: maint flush register-cache)", run: monGoto},
		monitorCmd{name: "history", args: "[ADDR]", help: "without ADDR: the history kept; with: every change to the guest and shadow entries mapping ADDR (and the CR3 loads), oldest first", run: monHistory},
	)
}

// reverseFeatures is what qSupported adds when history is on.
func (ss *session) reverseFeatures() string {
	if !ss.m.History().On {
		return ""
	}
	return ";ReverseStep+;ReverseContinue+"
}

// reverse handles bs (step back) and bc (continue back).
func (ss *session) reverse(arg []byte) error {
	if !ss.m.History().On {
		return ss.send(replyEmpty) // not supported, as qSupported said
	}
	var st hv.Stop
	var err error
	switch string(arg) {
	case "s":
		st, err = ss.m.ReverseStep()
	case "c":
		st, err = ss.m.ReverseContinue()
	default:
		return ss.send(replyEmpty)
	}
	if err != nil {
		ss.srv.logf("gdb: reverse: %v", err)
		return ss.send(replyBad)
	}
	if st.Reason == hv.StopHistoryStart {
		// "replaylog:begin": the start of the log, travelling backwards
		// (GDB manual, Stop Reply Packets).
		return ss.send("T05replaylog:begin;thread:1;")
	}
	return ss.send(ss.stopReply(st))
}

func monGoto(m *hv.Machine, args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("usage: goto ICOUNT")
	}
	t, err := strconv.ParseUint(strings.ReplaceAll(args[0], "_", ""), 0, 64)
	if err != nil {
		return "", fmt.Errorf("bad icount %q", args[0])
	}
	st, err := m.Goto(t)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("at icount %d, eip %#x (gdb: maint flush register-cache to see it)\n", st.ICount, st.EIP), nil
}

func monHistory(m *hv.Machine, args []string) (string, error) {
	if len(args) == 0 {
		h := m.History()
		if !h.On {
			return "history is off\n", nil
		}
		return fmt.Sprintf("history: icount %d to %d, %d checkpoints every %d instructions, %d of %d bytes\n",
			h.Oldest, m.Regs().ICount, h.Checkpoints, h.Interval, h.Bytes, h.Budget), nil
	}
	va, err := oneAddr(args)
	if err != nil {
		return "", err
	}
	return historyText(m, va, "  "), nil
}

// historyText lists every change to the guest and shadow entries mapping
// va, oldest first, each line after indent.
func historyText(m *hv.Machine, va uint32, indent string) string {
	changes, guestErr := m.MappingHistory(va)
	var b strings.Builder
	ng := hv.CountGuest(changes)
	fmt.Fprintf(&b, "entries mapping 0x%08x: %d guest changes, %d shadow changes\n", va, ng, len(changes)-ng)
	if guestErr != nil {
		fmt.Fprintf(&b, "%sguest entries: %v\n", indent, guestErr)
	}
	for _, c := range changes {
		fmt.Fprintf(&b, "%s%s\n", indent, c)
	}
	return b.String()
}
