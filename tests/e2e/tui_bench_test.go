package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/ui"
)

// What the TUI costs the Guest (issue 13: at most 5%): the same boot to
// power-off headless and under the real TUI on a 200x60 SimulationScreen
// at its default 10 Hz refresh, alternately so that machine noise hits
// both. Both run without history, so that only the TUI differs; the
// history's own cost is BenchmarkForward*History{On,Off}. Reported: wall
// MIPS of each (the Guest's speed as the user sees it), the median over
// pairs of tui/headless MIPS, and the ratio of the CPU time both used (the
// TUI draws on another core, so it costs CPU without slowing the Guest
// where a core is free).
func BenchmarkTUICostCompute(b *testing.B) { benchTUICost(b, "compute.bzImage", 32<<20) }

func BenchmarkTUICostKernlike(b *testing.B) { benchTUICost(b, "kernlike.bzImage", 64<<20) }

func benchTUICost(b *testing.B, name string, ram uint32) {
	if setupSkip != "" {
		b.Skip(setupSkip)
	}
	img := readGuest(b, name)
	var insns [2]uint64
	var wall, cpu [2]time.Duration
	var ratios []time.Duration // per pair, tui/headless in parts per million
	for b.Loop() {
		var pair [2]time.Duration
		for tui := range 2 {
			m, err := hv.New(hv.Config{Image: img, RAM: ram})
			if err != nil {
				b.Fatal(err)
			}
			var s hv.Stop
			var d time.Duration
			startCPU := cpuTime()
			if tui == 0 {
				start := time.Now()
				s = m.Run(0)
				d = time.Since(start)
			} else {
				s, d = runUnderTUI(b, m)
			}
			if s.Reason != hv.StopPowerOff {
				b.Fatalf("%s (tui %d): %s", name, tui, s)
			}
			cpu[tui] += cpuTime() - startCPU
			insns[tui] += s.ICount
			wall[tui] += d
			pair[tui] = d
		}
		ratios = append(ratios, time.Duration(1e6*pair[0].Seconds()/pair[1].Seconds()))
	}
	if insns[0] != insns[1] {
		b.Fatalf("%s: %d instructions headless, %d under the TUI", name, insns[0], insns[1])
	}
	headless := float64(insns[0]) / wall[0].Seconds() / 1e6
	tui := float64(insns[1]) / wall[1].Seconds() / 1e6
	b.ReportMetric(headless, "headless-MIPS")
	b.ReportMetric(tui, "tui-MIPS")
	b.ReportMetric(float64(median(ratios))/1e6, "tui/headless")
	b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "tui/headless-cpu")
}

// runUnderTUI starts the TUI on m (which resumes the Guest at once, as
// `lgdbg run` does) and returns the Guest's stop and the wall time from the
// resume to it.
func runUnderTUI(b *testing.B, m *hv.Machine) (hv.Stop, time.Duration) {
	scr := tcell.NewSimulationScreen("UTF-8")
	quit := make(chan struct{})
	var sized atomic.Bool
	done := make(chan error, 1)
	var start time.Time
	go func() {
		done <- ui.Run(m, ui.Options{ImageName: "bench", Screen: scr, Quit: quit, StartPaused: true,
			AfterDraw: func(s tcell.Screen) {
				if !sized.Load() {
					// A typical terminal, not the simulation's 80x25:
					// what the TUI draws each frame grows with it.
					sized.Store(true)
					scr.SetSize(200, 60)
					scr.PostEvent(tcell.NewEventResize(200, 60))
				}
			}})
	}()
	// Started paused, so that the clock starts at the resume and not
	// before the screen is up.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for !sized.Load() {
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	if err := m.Resume(); err != nil {
		b.Fatal(err)
	}
	s, err := m.WaitStop(ctx)
	d := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	close(quit)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return s, d
}
