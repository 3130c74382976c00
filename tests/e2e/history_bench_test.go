package e2e

import (
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
)

// History benchmarks: forward speed with history on and off (MIPS; compare
// the pairs), history memory per million instructions, and the latency of
// reverse-stepi deep into a run and of reverse-continue over 10 million
// instructions.

func BenchmarkForwardComputeHistoryOff(b *testing.B) {
	benchForward(b, "compute.bzImage", 32<<20, false)
}
func BenchmarkForwardComputeHistoryOn(b *testing.B) { benchForward(b, "compute.bzImage", 32<<20, true) }
func BenchmarkForwardBootHistoryOff(b *testing.B)   { benchForward(b, "vconsole.bzImage", 32<<20, false) }
func BenchmarkForwardBootHistoryOn(b *testing.B)    { benchForward(b, "vconsole.bzImage", 32<<20, true) }

func historyGuest(b *testing.B, name string) []byte {
	if setupSkip != "" {
		b.Skip(setupSkip)
	}
	return readGuest(b, name)
}

func benchForward(b *testing.B, name string, ram uint32, history bool) {
	img := historyGuest(b, name)
	var insns uint64
	var busy time.Duration
	var histBytes int64
	for b.Loop() {
		cfg := hv.Config{Image: img, RAM: ram}
		if history {
			cfg.History = int64(ram)
		}
		m, err := hv.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		s := m.Run(0)
		busy += time.Since(start)
		if s.Reason.Terminal() == false {
			b.Fatalf("%s: %s", name, s)
		}
		insns += s.ICount
		histBytes += m.History().Bytes
	}
	b.ReportMetric(float64(insns)/busy.Seconds()/1e6, "MIPS")
	if history {
		b.ReportMetric(float64(histBytes)/(float64(insns)/1e6), "history-B/Minsn")
	}
}

// BenchmarkReverseStepAt60M: one reverse-stepi with the compute guest at
// icount 60 million.
func BenchmarkReverseStepAt60M(b *testing.B) {
	img := historyGuest(b, "compute.bzImage")
	m, err := hv.New(hv.Config{Image: img, RAM: 32 << 20, History: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	if s := m.Run(60_000_000); s.ICount != 60_000_000 {
		b.Fatalf("run to 60M: %s", s)
	}
	var busy time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := m.ReverseStep(); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
	}
	b.ReportMetric(busy.Seconds()/float64(b.N), "s/reverse-stepi")
	b.ReportMetric(float64(m.History().Interval), "interval-insns")
}

// BenchmarkReverseContinue10M: reverse-continue with no breakpoint from
// icount 10 million, which replays all 10 million to find none and lands at
// the start of history.
func BenchmarkReverseContinue10M(b *testing.B) {
	img := historyGuest(b, "compute.bzImage")
	m, err := hv.New(hv.Config{Image: img, RAM: 32 << 20, History: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	var busy time.Duration
	for b.Loop() {
		if _, err := m.Goto(10_000_000); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		s, err := m.ReverseContinue()
		busy += time.Since(start)
		if err != nil || s.Reason != hv.StopHistoryStart {
			b.Fatalf("reverse-continue: %s %v", s, err)
		}
	}
	b.ReportMetric(busy.Seconds()/float64(b.N), "s/reverse-continue")
}

// BenchmarkGuestProvenanceAt60M: with the compute guest at icount 60
// million, who last wrote each guest entry of the kernel's first page (the
// pgd entry was written by head.S at icount ~70, so the query replays all
// of history backwards) and the whole history of those entries (one
// replay from the oldest checkpoint).
func BenchmarkGuestProvenanceAt60M(b *testing.B) {
	img := historyGuest(b, "compute.bzImage")
	m, err := hv.New(hv.Config{Image: img, RAM: 32 << 20, History: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	if s := m.Run(60_000_000); s.ICount != 60_000_000 {
		b.Fatalf("run to 60M: %s", s)
	}
	const va = 0xC0100000
	var writers, hist time.Duration
	for b.Loop() {
		start := time.Now()
		lw, err := m.GuestWalkWriters(va)
		if err != nil || len(lw) == 0 || !lw[0].Writer.Found {
			b.Fatalf("GuestWalkWriters: %v %v", lw, err)
		}
		writers += time.Since(start)
		start = time.Now()
		if ch, err := m.GuestEntryHistory(va); err != nil || len(ch) == 0 {
			b.Fatalf("GuestEntryHistory: %v %v", ch, err)
		}
		hist += time.Since(start)
	}
	b.ReportMetric(writers.Seconds()/float64(b.N), "s/GuestWalkWriters")
	b.ReportMetric(hist.Seconds()/float64(b.N), "s/GuestEntryHistory")
	b.ReportMetric(float64(m.History().Checkpoints), "checkpoints")
	b.ReportMetric(float64(m.History().Oldest), "oldest-icount")
}

// BenchmarkReverseStepAtCheckpoint: the worst reverse-stepi near icount 60
// million, the first one from the instant of a checkpoint: no near point
// yet (a fresh machine each time), so the replay is the whole interval
// from the checkpoint before. Later ones start from the near points it
// leaves (BenchmarkReverseStepAt60M).
func BenchmarkReverseStepAtCheckpoint(b *testing.B) {
	img := historyGuest(b, "compute.bzImage")
	var busy time.Duration
	var replayed uint64
	for b.Loop() {
		b.StopTimer()
		m, err := hv.New(hv.Config{Image: img, RAM: 32 << 20, History: 32 << 20})
		if err != nil {
			b.Fatal(err)
		}
		if s := m.Run(60_000_000); s.ICount != 60_000_000 {
			b.Fatalf("run to 60M: %s", s)
		}
		cps := m.Checkpoints()
		if len(cps) < 2 {
			b.Fatalf("checkpoints %v", cps)
		}
		at := cps[len(cps)-1]
		replayed += at - cps[len(cps)-2]
		if _, err := m.Goto(at); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := m.ReverseStep(); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
	}
	b.ReportMetric(busy.Seconds()/float64(b.N), "s/reverse-stepi")
	b.ReportMetric(float64(replayed)/float64(b.N), "replayed-insns")
}
