package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
)

// Boot benchmarks: a whole guest from the Launcher's first instruction to
// its power-off, in process. They report guest MIPS and wall time per boot;
// compare runs with benchstat.
func BenchmarkBootCompute(b *testing.B) { benchBoot(b, "compute.bzImage", 32<<20) }

func BenchmarkBootTraps(b *testing.B) { benchBoot(b, "traps.bzImage", 32<<20) }

func BenchmarkBootDemo(b *testing.B) { benchBoot(b, "boot.bzImage", 64<<20) }

func benchBoot(b *testing.B, name string, ram uint32) {
	if setupSkip != "" {
		b.Skip(setupSkip)
	}
	img, err := os.ReadFile(filepath.Join(guestDir, name))
	if err != nil {
		b.Fatal(err)
	}
	var insns uint64
	var busy time.Duration
	for b.Loop() {
		m, err := hv.New(hv.Config{Image: img, RAM: ram})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		s := m.Run(0)
		busy += time.Since(start)
		if s.Reason != hv.StopPowerOff {
			b.Fatalf("%s: %s", name, s)
		}
		insns += s.ICount
	}
	b.ReportMetric(float64(insns)/busy.Seconds()/1e6, "MIPS")
	b.ReportMetric(busy.Seconds()/float64(b.N), "s/boot")
}
