package gdbstub

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv"
)

func init() {
	monitorCmds = append(monitorCmds,
		monitorCmd{name: "hash", help: "a hash of all physical memory (Guest RAM and the Host's pages) and the icount, to compare two instants", run: monHash})
}

// monHash answers `monitor hash`: with `info registers` it tells whether
// two instants are the same machine, as after reverse-stepi then stepi
// (issue 14, proof by determinism).
func monHash(m *hv.Machine, args []string) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("usage: hash")
	}
	return fmt.Sprintf("memory hash %#016x at icount %d\n", m.MemoryHash(), m.Regs().ICount), nil
}
