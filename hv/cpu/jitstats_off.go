//go:build !jitstats

package cpu

// Without the jitstats build tag the statistics compile away (jitstats.go).
const jitStatsOn = false

func jitStat(*block, uint64) {}

// JITStatsDump prints translator statistics in a jitstats build.
func JITStatsDump(uint64) {}

func jitPerfMap(uintptr, []byte, uint32) {}
