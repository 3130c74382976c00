package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/event"
)

// Boot benchmarks: a whole guest from the Launcher's first instruction to
// its power-off, in process. They report guest MIPS and wall time per boot;
// compare runs with benchstat.
func BenchmarkBootCompute(b *testing.B) { benchBoot(b, "compute.bzImage", 32<<20) }

func BenchmarkBootTraps(b *testing.B) { benchBoot(b, "traps.bzImage", 32<<20) }

func BenchmarkBootDemo(b *testing.B) { benchBoot(b, "boot.bzImage", 64<<20) }

// BenchmarkBootKernlike is the kernel-shaped guest (issue 13), with MIPS
// for each phase: "decomp" is everything before linear_pages goes off (the
// inflate), "boot" everything after (copies, the fault storm, hypercall
// bursts, timer ticks). cmd/lgdbg/default.pgo is its CPU profile.
func BenchmarkBootKernlike(b *testing.B) {
	if setupSkip != "" {
		b.Skip(setupSkip)
	}
	img := readGuest(b, "kernlike.bzImage")
	var decompInsns, bootInsns uint64
	var decompTime, bootTime, decompCPU, bootCPU time.Duration
	for b.Loop() {
		m, err := hv.New(hv.Config{Image: img, RAM: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		var offAt uint64
		var offTime time.Time
		var offCPU time.Duration
		m.SetEventHook(func(e hv.Event) {
			if e.Kind == event.LinearOff {
				offAt, offTime, offCPU = e.ICount, time.Now(), cpuTime()
			}
		})
		start, startCPU := time.Now(), cpuTime()
		s := m.Run(0)
		end, endCPU := time.Now(), cpuTime()
		if s.Reason != hv.StopPowerOff || offAt == 0 {
			b.Fatalf("kernlike: %s (linear_pages off at %d)", s, offAt)
		}
		decompInsns += offAt
		decompTime += offTime.Sub(start)
		bootInsns += s.ICount - offAt
		bootTime += end.Sub(offTime)
		decompCPU += offCPU - startCPU
		bootCPU += endCPU - offCPU
	}
	b.ReportMetric(float64(decompInsns)/decompTime.Seconds()/1e6, "decomp-MIPS")
	b.ReportMetric(float64(bootInsns)/bootTime.Seconds()/1e6, "boot-MIPS")
	b.ReportMetric(float64(decompInsns)/decompCPU.Seconds()/1e6, "decomp-cpuMIPS")
	b.ReportMetric(float64(bootInsns)/bootCPU.Seconds()/1e6, "boot-cpuMIPS")
	b.ReportMetric(float64(decompInsns+bootInsns)/(decompTime+bootTime).Seconds()/1e6, "MIPS")
	b.ReportMetric((decompTime+bootTime).Seconds()/float64(b.N), "s/boot")
}

// Speed under a debugger (issue 10 item 7): each iteration boots the guest
// headless and then with 50 breakpoints and 4 watchpoints inserted through
// hv.Machine's SetBreakpoint/SetWatchpoint (what the gdb stub calls), on
// addresses the guest never executes or touches, alternately so machine
// noise hits both. Reported: MIPS per CPU second of each ("cpuMIPS" as
// benchBoot) and debug/headless of the two (the target is at least 0.9).
//
// The breakpoints are at kernel link addresses 8 MiB above PAGE_OFFSET:
// past both guests' images, so never executed, yet kernel addresses, so
// they are armed at their load aliases too. The watchpoints are on RAM
// pages the guest never writes (kernlike's fault storm and copies use
// the first tens of MiB).
func BenchmarkDebugCompute(b *testing.B) { benchDebug(b, "compute.bzImage", 32<<20, 0xC0900000) }

func BenchmarkDebugKernlike(b *testing.B) { benchDebug(b, "kernlike.bzImage", 64<<20, 0xC3000000) }

const debugBPBase = 0xC0800000

func benchDebug(b *testing.B, name string, ram, watchBase uint32) {
	if setupSkip != "" {
		b.Skip(setupSkip)
	}
	img := readGuest(b, name)
	var insns [2]uint64
	var cpuT [2]time.Duration
	for b.Loop() {
		for i, debug := range []bool{false, true} {
			m, err := hv.New(hv.Config{Image: img, RAM: ram})
			if err != nil {
				b.Fatal(err)
			}
			if debug {
				for j := uint32(0); j < 50; j++ {
					m.SetBreakpoint(debugBPBase + j*0x1000 + j*4)
				}
				for j := uint32(0); j < 4; j++ {
					m.SetWatchpoint(watchBase+j*0x1000, 4, cpu.WatchWrite)
				}
			}
			startCPU := cpuTime()
			s := m.Run(0)
			cpuT[i] += cpuTime() - startCPU
			if s.Reason != hv.StopPowerOff {
				b.Fatalf("%s (debug %v): %s", name, debug, s)
			}
			insns[i] += s.ICount
		}
	}
	if insns[0] != insns[1] {
		b.Fatalf("%s: %d instructions headless, %d with breakpoints", name, insns[0], insns[1])
	}
	headless := float64(insns[0]) / cpuT[0].Seconds() / 1e6
	debug := float64(insns[1]) / cpuT[1].Seconds() / 1e6
	b.ReportMetric(headless, "headless-cpuMIPS")
	b.ReportMetric(debug, "debug-cpuMIPS")
	b.ReportMetric(debug/headless, "debug/headless")
}

func readGuest(b *testing.B, name string) []byte {
	img, err := os.ReadFile(filepath.Join(guestDir, name))
	if err != nil {
		b.Fatal(err)
	}
	return img
}

func benchBoot(b *testing.B, name string, ram uint32) {
	if setupSkip != "" {
		b.Skip(setupSkip)
	}
	img := readGuest(b, name)
	var insns uint64
	var busy, cpu time.Duration
	for b.Loop() {
		m, err := hv.New(hv.Config{Image: img, RAM: ram})
		if err != nil {
			b.Fatal(err)
		}
		start, startCPU := time.Now(), cpuTime()
		s := m.Run(0)
		busy += time.Since(start)
		cpu += cpuTime() - startCPU
		if s.Reason != hv.StopPowerOff {
			b.Fatalf("%s: %s", name, s)
		}
		insns += s.ICount
	}
	b.ReportMetric(float64(insns)/busy.Seconds()/1e6, "MIPS")
	b.ReportMetric(float64(insns)/cpu.Seconds()/1e6, "cpuMIPS")
	b.ReportMetric(busy.Seconds()/float64(b.N), "s/boot")
}

// cpuTime is the CPU time the test process has used (all threads, the
// garbage collector's included). On this project's shared 2-core machines
// MIPS per CPU second ("cpuMIPS") is much steadier than per wall second,
// which also counts the time other processes held the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Side by side with QEMU TCG (issue 13 item 3): each iteration runs
// `lgdbg run --headless` on the lguest build and qemu-system-i386 -kernel on
// the multiboot build of the same workload, as whole processes (start-up
// included on both sides), alternately so that machine noise hits both.
// Reported: the median wall time of each and lgdbg/QEMU of the medians
// (below 1: lgdbg is faster). Skipped without qemu-system-i386, so CI needs
// no QEMU.
//
// The multiboot builds do the same computation (compute: all of it;
// kernlike: the inflate, relocation and CRC) but, having no lguest Host,
// not kernlike's fault storm, hypercalls and timer ticks, which lgdbg pays
// for on its side.
func BenchmarkVersusQEMUCompute(b *testing.B) {
	benchVersusQEMU(b, "compute.bzImage", "32", "compute-multiboot.elf")
}

func BenchmarkVersusQEMUKernlike(b *testing.B) {
	benchVersusQEMU(b, "kernlike.bzImage", "64", "kernlike-multiboot.elf")
}

func benchVersusQEMU(b *testing.B, image, mib, multiboot string) {
	if setupSkip != "" {
		b.Skip(setupSkip)
	}
	qemu, err := exec.LookPath("qemu-system-i386")
	if err != nil {
		b.Skip("qemu-system-i386 not installed")
	}
	timeRun := func(cmd *exec.Cmd, wantExit int) time.Duration {
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			b.Fatal(err)
		}
		if code != wantExit {
			b.Fatalf("%s: exit status %d, want %d", cmd.Path, code, wantExit)
		}
		return d
	}
	var ours, theirs []time.Duration
	for b.Loop() {
		ours = append(ours, timeRun(exec.Command(lgdbgBin, "run", "--headless", "-q", "-m", mib,
			filepath.Join(guestDir, image)), 0))
		// isa-debug-exit: status 33 is the guest's PASS (mbkern.c).
		theirs = append(theirs, timeRun(exec.Command(qemu, "-kernel", filepath.Join(guestDir, multiboot),
			"-display", "none", "-serial", "null", "-monitor", "none", "-no-reboot",
			"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"), 33))
	}
	mo, mt := median(ours), median(theirs)
	b.ReportMetric(mo.Seconds(), "lgdbg-s")
	b.ReportMetric(mt.Seconds(), "qemu-s")
	b.ReportMetric(mo.Seconds()/mt.Seconds(), "lgdbg/qemu")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
