//go:build jitstats

// Translator statistics for tuning (go build -tags jitstats, then run with
// LGDBG_JITSTATS=1): how many instructions ran translated, which
// instructions the translated runs stopped before, weighted by the block
// instructions interpreted after them, and a perf map of the translations.

package cpu

import (
	"fmt"
	"os"
	"sort"
)

var jitStatsOn = os.Getenv("LGDBG_JITSTATS") != ""

var jitStopOps = map[uint16]int{}
var jitRetired, jitSide, jitFin uint64

func jitStat(b *block, r uint64) {
	k := int(uint32(r))
	jitRetired += uint64(k)
	if r&jitFinished != 0 {
		jitFin++
		return
	}
	jitSide++
	in := &b.insns[k]
	key := in.op
	if in.op == 0xFF || in.op == 0xF7 {
		key = in.op<<4 | uint16(in.reg)
		if in.mem {
			key |= 8
		}
	}
	jitStopOps[key] += len(b.insns) - k
}

var perfMap *os.File

// jitPerfMap names a translation for perf (perf report reads
// /tmp/perf-PID.map): jit_EIP, the guest address it was translated at.
// With LGDBG_JITDUMP=DIR it also writes the code to DIR/jit_EIP.bin.
func jitPerfMap(at uintptr, code []byte, eip uint32) {
	if !jitStatsOn {
		return
	}
	if perfMap == nil {
		perfMap, _ = os.Create(fmt.Sprintf("/tmp/perf-%d.map", os.Getpid()))
	}
	fmt.Fprintf(perfMap, "%x %x jit_%08x\n", at, len(code), eip)
	if dir := os.Getenv("LGDBG_JITDUMP"); dir != "" {
		// the host code itself, for objdump -D -b binary -mi386:x86-64
		os.WriteFile(fmt.Sprintf("%s/jit_%08x.bin", dir, eip), code, 0o644)
	}
}

// JITStatsDump prints the statistics to stderr.
func JITStatsDump(total uint64) {
	if !jitStatsOn {
		return
	}
	fmt.Fprintf(os.Stderr, "jit retired %d of %d (%.1f%%), finished %d, side %d\n", jitRetired, total, 100*float64(jitRetired)/float64(total), jitFin, jitSide)
	type kv struct {
		op uint16
		n  int
	}
	var l []kv
	for op, n := range jitStopOps {
		l = append(l, kv{op, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n })
	for i, e := range l {
		if i > 25 {
			break
		}
		fmt.Fprintf(os.Stderr, "  stop op %#x: %d insns after\n", e.op, e.n)
	}
}
