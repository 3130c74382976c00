package event

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/hcall"
)

// HcallName is the name a hypercall event carries: the LHCALL_ name
// without its prefix (hv/hcall's table), or "#n" for a number the ABI does
// not define, as the trace has always spelled it.
func HcallName(nr int) string {
	if s := hcall.Name(nr); known(nr, s) {
		return s
	}
	return fmt.Sprintf("#%d", nr)
}

func known(nr int, name string) bool {
	n, ok := hcall.Number(name)
	return ok && n == nr
}
