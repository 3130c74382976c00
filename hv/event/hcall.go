package event

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/hcall"
)

// HcallName is the name a hypercall event carries: the LHCALL_ name
// without its prefix (hv/hcall's table), or "#n" for a number the ABI does
// not define, as the trace has always spelled it.
func HcallName(nr int) string {
	if s, ok := hcall.Lookup(nr); ok {
		return s
	}
	return fmt.Sprintf("#%d", nr)
}
