package event

import "fmt"

// The hypercall vocabulary: hypercall events carry the name, and
// "hcall:NAME" in an --until names one.

// Hypercall numbers (spec §3.2, 3.x i386).
const (
	HcallFlushAsync     = 0
	HcallLguestInit     = 1
	HcallShutdown       = 2
	HcallNewPgtable     = 4
	HcallFlushTLB       = 5
	HcallLoadIDTEntry   = 6
	HcallSetStack       = 7
	HcallTS             = 8
	HcallSetClockevent  = 9
	HcallHalt           = 10
	HcallSetPMD         = 13
	HcallSetPTE         = 14
	HcallSetPGD         = 15
	HcallLoadTLS        = 16
	HcallNotify         = 17
	HcallLoadGDTEntry   = 18
	HcallSendInterrupts = 19
)

var hcallNames = map[int]string{
	HcallFlushAsync:     "FLUSH_ASYNC",
	HcallLguestInit:     "LGUEST_INIT",
	HcallShutdown:       "SHUTDOWN",
	HcallNewPgtable:     "NEW_PGTABLE",
	HcallFlushTLB:       "FLUSH_TLB",
	HcallLoadIDTEntry:   "LOAD_IDT_ENTRY",
	HcallSetStack:       "SET_STACK",
	HcallTS:             "TS",
	HcallSetClockevent:  "SET_CLOCKEVENT",
	HcallHalt:           "HALT",
	HcallSetPMD:         "SET_PMD",
	HcallSetPTE:         "SET_PTE",
	HcallSetPGD:         "SET_PGD",
	HcallLoadTLS:        "LOAD_TLS",
	HcallNotify:         "NOTIFY",
	HcallLoadGDTEntry:   "LOAD_GDT_ENTRY",
	HcallSendInterrupts: "SEND_INTERRUPTS",
}

// HcallName is the LHCALL_ name of a hypercall number without its prefix,
// or "#n" for numbers the ABI does not define.
func HcallName(nr int) string {
	if s, ok := hcallNames[nr]; ok {
		return s
	}
	return fmt.Sprintf("#%d", nr)
}

// HcallNumber is the inverse of HcallName, for --until hcall:NAME.
func HcallNumber(name string) (int, bool) {
	for nr, s := range hcallNames {
		if s == name {
			return nr, true
		}
	}
	return 0, false
}
