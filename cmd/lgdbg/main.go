// Command lgdbg runs lguest guests on lgdbg's own hypervisor and lets a
// kernel developer watch the early page-table handoff.
//
//	lgdbg run [flags] [bzImage|vmlinux]
//
// With no image it boots the embedded demo guest, which walks the
// linear_pages handoff and powers off; in the TUI it pauses right after the
// handoff so the moment can be inspected.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lgdbg/lgdbg/gdbstub"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/boot"
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/symbols"
	"github.com/lgdbg/lgdbg/internal/inputfile"
	"github.com/lgdbg/lgdbg/tests/guests"
	"github.com/lgdbg/lgdbg/ui"
	"golang.org/x/term"
)

// Exit codes: scripts can tell "the guest died" from "you typed it wrong".
const (
	exitOK     = 0
	exitGuest  = 1 // the guest was killed, crashed, hit an unimplemented instruction or halted forever
	exitUsage  = 2 // bad flags or a bad image
	exitOutput = 3 // the trace could not be written
)

// Input size limits. No lguest kernel or initrd comes near 256 MiB, and a
// typo naming a disk image must not eat the machine's memory; a vmlinux
// given for its symbols may carry DWARF, which makes it several times the
// size of the kernel itself.
const (
	maxImageSize   = 256 << 20
	maxSymbolsSize = 1 << 30
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, strings.Replace(usageText, "UNTIL\n", untilHelp(), 1))
}

// untilHelp is hv/event's explanation of the --until words, indented
// under the flag; the README carries the same lines (tests/e2e checks).
func untilHelp() string {
	var b strings.Builder
	for _, l := range event.WordHelp(56) {
		b.WriteString(strings.Repeat(" ", 24) + l + "\n")
	}
	return b.String()
}

const usageText = `usage: lgdbg run [flags] [bzImage|vmlinux]
       lgdbg gdbinit [--gdb HOST:PORT] [vmlinux]   (a gdb command file for the stub)

Runs an lguest guest kernel (32-bit x86 Linux built with CONFIG_LGUEST_GUEST)
on lgdbg's software CPU and lguest Host. With no image, boots the embedded
demo guest, which shows the linear_pages handoff.

flags:
  -m SIZE               guest RAM (64M default; 128M, 1G, or MiB as a number)
  --append CMDLINE      kernel command line
  --initrd FILE         initial ramdisk
  --pae / --no-pae      force the paging mode (default: from the image, else non-PAE)
  --block FILE[,ro]     a virtio block device on FILE (read-write; ,ro read-only);
                        writes reach FILE at once, FLUSH and exit sync it
  --rng[=seed:N]        a virtio entropy device: bytes from crypto/rand (the one
                        input that differs run to run), or with seed:N a fixed
                        ChaCha8 stream, for reproducible runs
  --headless            no TUI: console on stdout, summary on stderr
  --gdb [HOST]:PORT     serve the GDB remote protocol (loopback unless HOST is given)
  -S                    start paused (TUI: until c; --gdb: until gdb continues)
  --intel               Intel syntax in the TUI's disassembly (default: GNU/AT&T)
  --symbols VMLINUX     symbols for the TUI from the kernel's ELF (a bzImage has none)
  --trace FILE          write every event as JSON lines to FILE
  --history SIZE        memory for time travel (TUI, --gdb; default 1x guest RAM; 0: off)
  --max-instructions N  stop after N guest instructions
  --until EVENT         stop at the first EVENT:
UNTIL
  -q                    no run summary

exit status: 0 powered off or stopped where asked, 1 the guest died or halted
for good, 2 bad flags or input, 3 the trace could not be written, 128+N ended
cleanly by signal N (SIGINT 130, SIGTERM 143, SIGHUP 129)
`

type options struct {
	mem       string
	append    string
	initrd    string
	pae       bool
	noPAE     bool
	headless  bool
	trace     string
	maxInsns  uint64
	until     string
	quiet     bool
	gdb       string
	paused    bool
	intel     bool
	symbols   string
	history   string
	imagePath string
	devices   deviceFlags

	signals *interrupter // SIGINT/SIGTERM/SIGHUP end the run cleanly (signals.go)
	// gdbKilled is closed when gdb sends kill (--gdb only).
	gdbKilled chan struct{}
}

func parseRun(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.mem, "m", "64M", "")
	fs.StringVar(&o.append, "append", "", "")
	fs.StringVar(&o.initrd, "initrd", "", "")
	fs.BoolVar(&o.pae, "pae", false, "")
	fs.BoolVar(&o.noPAE, "no-pae", false, "")
	fs.BoolVar(&o.headless, "headless", false, "")
	fs.StringVar(&o.trace, "trace", "", "")
	fs.Uint64Var(&o.maxInsns, "max-instructions", 0, "")
	fs.StringVar(&o.until, "until", "", "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.StringVar(&o.gdb, "gdb", "", "")
	fs.BoolVar(&o.paused, "S", false, "")
	fs.BoolVar(&o.intel, "intel", false, "")
	fs.StringVar(&o.symbols, "symbols", "", "")
	fs.Var(blockFlag{&o.devices}, "block", "")
	fs.Var(rngFlag{&o.devices}, "rng", "")
	fs.StringVar(&o.history, "history", "", "")
	// Flags may come before or after the image, as with QEMU.
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if o.imagePath != "" {
			return nil, fmt.Errorf("more than one image given: %q and %q", o.imagePath, rest[0])
		}
		o.imagePath = rest[0]
		args = rest[1:]
	}
	if o.pae && o.noPAE {
		return nil, errors.New("--pae and --no-pae contradict each other")
	}
	if o.paused && o.gdb == "" && o.headless {
		return nil, errors.New("-S starts the guest paused for a debugger: with --headless, give --gdb PORT too")
	}
	return o, nil
}

func realMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "gdbinit" {
		return gdbinitMain(args[1:], stdout, stderr)
	}
	if args[0] != "run" {
		fmt.Fprintf(stderr, "lgdbg: unknown command %q (try: lgdbg run [flags] [image], lgdbg gdbinit [vmlinux])\n", args[0])
		return exitUsage
	}
	o, err := parseRun(args[1:], stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stderr)
			return exitOK
		}
		fmt.Fprintf(stderr, "lgdbg: %v\n", err)
		return exitUsage
	}
	if !o.headless && (!isTerminal(stdout) || !term.IsTerminal(int(os.Stdin.Fd()))) {
		fmt.Fprintln(stderr, "lgdbg: the TUI needs a terminal on stdin and stdout; use --headless for scripts and pipes")
		return exitUsage
	}
	// Building the machine allocates guest memory and the image's copies
	// in a few large steps from an empty heap: with the collector on, each
	// step crossed the next small heap goal and ran a collection, three
	// before the guest's first instruction (a sixth of a short boot's CPU
	// time, measured on the kernel-like guest). None of it is garbage, so
	// the collector waits until the machine stands, and then collects
	// once, before the guest runs: the heap goal it sets from what lives
	// is far enough that a short boot needs no collection while the
	// guest runs (one then had to stop the world while translated code
	// ran on, ~10 ms).
	gcPercent := debug.SetGCPercent(-1)
	cfg, closeTrace, err := machineConfig(o)
	if err != nil {
		debug.SetGCPercent(gcPercent)
		fmt.Fprintf(stderr, "lgdbg: %v\n", err)
		return exitUsage
	}
	defer closeTrace()
	m, err := hv.New(cfg)
	debug.SetGCPercent(gcPercent)
	if err != nil {
		fmt.Fprintf(stderr, "lgdbg: %s: %v\n", imageName(o), err)
		return exitUsage
	}
	runtime.GC()
	// Deferred after closeTrace, so it runs first: nothing is written
	// to the trace behind its final flush.
	defer m.DetachTrace()
	o.signals = watchSignals(m, stderr)
	defer o.signals.stop()
	if o.gdb != "" {
		ln, err := gdbstub.Listen(o.gdb)
		if err != nil {
			fmt.Fprintf(stderr, "lgdbg: --gdb: %v\n", err)
			return exitUsage
		}
		defer ln.Close()
		fmt.Fprintf(stderr, "lgdbg: gdb stub listening on %s (gdb -ex 'target remote %s')\n", ln.Addr(), ln.Addr())
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan struct{})
		var killOnce sync.Once
		o.gdbKilled = make(chan struct{})
		go func() {
			gdbstub.Serve(ctx, ln, m, gdbstub.Options{OnKill: func() { killOnce.Do(func() { close(o.gdbKilled) }) }})
			close(served)
		}()
		// On the way out, let an attached gdb hear how the Guest ended
		// (its W or X reply) before the process exits under it.
		defer func() {
			cancel()
			select {
			case <-served:
			case <-time.After(5 * time.Second):
			}
		}()
	}
	if note := m.SymbolsNote(); note != "" && !o.quiet {
		fmt.Fprintf(stderr, "lgdbg: %s\n", note)
	}
	var code int
	if !o.headless {
		code = runTUI(m, o, stderr)
	} else {
		code = runHeadless(m, o, stdin, stdout, stderr)
	}
	// The block devices' data must be on disk whatever the Guest did.
	if err := m.Close(); err != nil {
		fmt.Fprintf(stderr, "lgdbg: %v\n", err)
		if code == exitOK {
			code = exitOutput
		}
	}
	return code
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runTUI is the main job: the guest in the TUI, running unless -S.
func runTUI(m *hv.Machine, o *options, stderr io.Writer) int {
	syntax := "gnu"
	if o.intel {
		syntax = "intel"
	}
	if err := ui.Run(m, ui.Options{StartPaused: o.paused, ImageName: imageName(o), Syntax: syntax, Quit: o.signals.done(), HistoryFile: ui.DefaultHistoryFile()}); err != nil {
		fmt.Fprintf(stderr, "lgdbg: %v\n", err)
		return exitGuest
	}
	s := m.LastStop()
	if _, ok := o.signals.fired(); ok {
		fmt.Fprintf(stderr, "lgdbg: %s at instruction %d (eip %#x)\n", o.signals.reason(), s.ICount, s.EIP)
		return o.signals.exitCode()
	}
	fmt.Fprintf(stderr, "lgdbg: %s\n", describe(s))
	return exitOK
}

func imageName(o *options) string {
	if o.imagePath == "" {
		return "demo guest"
	}
	return o.imagePath
}

func machineConfig(o *options) (hv.Config, func(), error) {
	noop := func() {}
	var cfg hv.Config
	ram, err := boot.ParseSize(o.mem)
	if err != nil {
		return cfg, noop, fmt.Errorf("-m %s: %w", o.mem, err)
	}
	cfg.RAM = ram
	// Time travel only where someone can travel: the TUI and gdb.
	switch {
	case o.history == "0":
	case o.history != "":
		n, err := boot.ParseSize(o.history)
		if err != nil {
			return cfg, noop, fmt.Errorf("--history %s: %w", o.history, err)
		}
		if o.gdb != "" || !o.headless {
			cfg.History = int64(n)
		}
	case o.gdb != "" || !o.headless:
		cfg.History = int64(ram)
	}
	cfg.Cmdline = o.append
	if o.imagePath == "" {
		cfg.Image = guests.BootImage
	} else if cfg.Image, err = inputfile.Read(o.imagePath, maxImageSize); err != nil {
		return cfg, noop, err
	}
	if o.initrd != "" {
		if cfg.Initrd, err = inputfile.Read(o.initrd, maxImageSize); err != nil {
			return cfg, noop, fmt.Errorf("--initrd: %w", err)
		}
	}
	if o.symbols != "" {
		b, err := inputfile.Read(o.symbols, maxSymbolsSize)
		if err != nil {
			return cfg, noop, fmt.Errorf("--symbols: %w", err)
		}
		tab, err := symbols.FromELF(b)
		if err != nil {
			return cfg, noop, fmt.Errorf("--symbols %s: %w", o.symbols, err)
		}
		if len(tab.Symbols()) == 0 {
			return cfg, noop, fmt.Errorf("--symbols %s: no symbol table (an ELF vmlinux, not stripped, is needed)", o.symbols)
		}
		cfg.Symbols = tab
	}
	if cfg.Devices, err = o.devices.open(); err != nil {
		return cfg, noop, err
	}
	switch {
	case o.pae:
		cfg.PAE = hv.PAEOn
	case o.noPAE:
		cfg.PAE = hv.PAEOff
	}
	// A person typing at the console, or at gdb, wants an idle Guest to
	// wait in real time; a script piping stdin wants determinism.
	cfg.IdleRealtime = o.gdb != "" || !o.headless || term.IsTerminal(int(os.Stdin.Fd()))
	// The demo in the TUI stops right after the handoff it exists to
	// show; c continues it to power-off.
	if o.imagePath == "" && !o.headless && o.until == "" && !o.paused {
		o.until = "linear-off"
	}
	if o.until != "" {
		if cfg.Until, err = parseUntil(o.until); err != nil {
			return cfg, noop, err
		}
	}
	closeTrace := noop
	if o.trace != "" {
		f, err := os.Create(o.trace)
		if err != nil {
			return cfg, noop, fmt.Errorf("--trace: %w", err)
		}
		bw := bufio.NewWriterSize(f, 1<<16)
		cfg.Trace = bw
		closeTrace = func() {
			bw.Flush()
			f.Close()
		}
	}
	return cfg, closeTrace, nil
}

// runHeadless is `lgdbg run --headless`: the Guest's console on stdout, a
// short summary on stderr, and an exit status a script can use.
func runHeadless(m *hv.Machine, o *options, stdin io.Reader, stdout, stderr io.Writer) int {
	out := bufio.NewWriter(stdout)
	counts := map[hv.EventKind]int{}
	var handoff *hv.Event
	var lastHcall hv.Event
	haveHcall := false
	m.SetEventHook(func(e hv.Event) {
		counts[e.Kind]++
		if e.Kind == event.LinearOff {
			// A copy: &e would make every event escape to the heap,
			// about 120 bytes of garbage per event (120 MiB for a guest
			// that touches 1 GiB), which the GC, pacing against the
			// guest's RAM, leaves in place until the heap doubles.
			ev := e
			handoff = &ev
		}
		if e.Kind == event.Hypercall {
			lastHcall, haveHcall = e, true // a copy, for the same reason
		}
		if e.Kind == event.Console {
			out.WriteString(e.Text)
			if strings.Contains(e.Text, "\n") {
				out.Flush()
			}
		}
	})
	// Console input: stdin feeds the virtio console's receive queue.
	input := make(chan bool, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				m.ConsoleInput(append([]byte(nil), buf[:n]...))
				select {
				case input <- true:
				default:
				}
			}
			if err != nil {
				// End of stdin: a ConsoleInput blocked on a full
				// queue must not wait for the Guest forever.
				m.CloseConsoleInput()
				close(input)
				return
			}
		}
	}()

	start := time.Now()
	var s hv.Stop
	killedByGDB := false
	if o.gdb != "" {
		s, killedByGDB = runUnderGDB(m, o, stderr)
	} else {
		for {
			s = m.Run(o.maxInsns)
			if _, ok := o.signals.fired(); ok || s.Reason != hv.StopHaltedForever {
				break
			}
			// The Guest waits for input that only stdin can give.
			out.Flush()
			select {
			case _, ok := <-input:
				if ok {
					continue
				}
			case <-o.signals.done():
				s = m.LastStop()
			}
			break
		}
	}
	out.Flush()
	elapsed := time.Since(start)
	if err := m.TraceError(); err != nil {
		fmt.Fprintf(stderr, "lgdbg: writing the trace: %v\n", err)
		return exitOutput
	}
	_, interrupted := o.signals.fired()
	if !o.quiet {
		why := describe(s)
		switch {
		case interrupted:
			why = o.signals.reason()
		case killedByGDB && !s.Reason.Terminal():
			why = fmt.Sprintf("ended by gdb's kill, guest paused at eip %#x", s.EIP)
		case killedByGDB:
			why += ", then gdb's kill ended lgdbg"
		}
		// The last hypercall (hv/hcall's decoding), the handoff, then
		// the reason the run ended: the last line is the one a person
		// (or tail -1) reads as the verdict.
		if haveHcall {
			d, _ := m.DecodeHcall(lastHcall)
			fmt.Fprintf(stderr, "lgdbg: last hypercall at instruction %d: %s\n", lastHcall.ICount, d.String())
		}
		if handoff != nil {
			pgdir := fmt.Sprintf("%#x", handoff.GPgdir)
			if s := m.HcallArgName(hcall.NewPgtable, 0, handoff.GPgdir); s != "" {
				pgdir += " " + s
			}
			fmt.Fprintf(stderr, "lgdbg: linear_pages went off at instruction %d: first NEW_PGTABLE(%s) took shadow slot %d\n",
				handoff.ICount, pgdir, handoff.Slot)
		} else {
			fmt.Fprintf(stderr, "lgdbg: linear_pages never went off: the guest loaded no page table of its own (no NEW_PGTABLE) before the end\n")
		}
		cpu.JITStatsDump(s.ICount)
		mips := float64(s.ICount) / elapsed.Seconds() / 1e6
		fmt.Fprintf(stderr, "lgdbg: %s after %d instructions in %.3fs (%.1f MIPS); %d hypercalls, %d traps, %d interrupts\n",
			why, s.ICount, elapsed.Seconds(), mips, counts[event.Hypercall], counts[event.Trap], counts[event.Interrupt])
	}
	if interrupted {
		return o.signals.exitCode()
	}
	if killedByGDB && !s.Reason.Terminal() {
		return exitOK // the person at gdb ended a healthy run
	}
	switch s.Reason {
	case hv.StopPowerOff, hv.StopUntil, hv.StopInstructionLimit:
		return exitOK
	}
	return exitGuest
}

// runUnderGDB lets the Guest run on the Machine's own runner so the gdb
// stub can pause, step and continue it; we wait for its end, woken by each
// stop. With -S it waits for gdb to say continue. A detach leaves the
// Guest running and the stub listening for the next gdb. When the Guest
// dies, lgdbg stays up so gdb (this one or a later one) can still read
// its memory, registers and the monitor: the run ends when gdb says kill
// or a signal arrives (Ctrl-C here). killed says gdb ended it.
func runUnderGDB(m *hv.Machine, o *options, stderr io.Writer) (s hv.Stop, killed bool) {
	stops, cancel := m.Subscribe()
	defer cancel()
	if !o.paused {
		if err := m.Resume(); err != nil {
			s = m.LastStop()
		}
	}
	for !s.Reason.Terminal() {
		select {
		case s = <-stops:
		case <-o.gdbKilled:
			return m.Pause(), true
		case <-o.signals.done():
			return m.Pause(), false // gdb may have resumed it already
		}
		if _, ok := o.signals.fired(); ok {
			return m.Pause(), false
		}
		if o.maxInsns != 0 && s.ICount >= o.maxInsns && !s.Reason.Terminal() {
			// gdb resumed past the limit and the Guest stopped: the
			// limit is why the run ends, whatever stopped it last.
			s.Reason = hv.StopInstructionLimit
			return s, false
		}
		// Paused by gdb (or not yet started): the next run's stop
		// comes on stops.
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "lgdbg: %s; gdb can still read its memory, registers and monitor: kill in gdb, or Ctrl-C here, ends lgdbg\n", describe(s))
	}
	select {
	case <-o.gdbKilled:
		return s, true
	case <-o.signals.done():
		return s, false
	}
}

// parseUntil reads --until EVENT with the words the TUI's ":until" takes
// (hv/event's table); the error names the flag.
func parseUntil(s string) (func(hv.Event) bool, error) {
	match, err := hv.MatchEvent(s)
	if err != nil {
		return nil, fmt.Errorf("--until %q: %w", s, err)
	}
	return match, nil
}

func describe(s hv.Stop) string {
	switch s.Reason {
	case hv.StopPowerOff:
		return "guest powered off"
	case hv.StopKilled:
		return "guest killed: " + strings.TrimRight(s.Text, "\n")
	case hv.StopCrash:
		return "guest crashed: " + s.Text
	case hv.StopRestart:
		return "guest asked for a restart (" + s.Text + ")"
	case hv.StopUnimplemented:
		return "stopped: the CPU does not implement the guest's " + s.Text
	case hv.StopInstructionLimit:
		return "stopped at the --max-instructions limit"
	case hv.StopUntil:
		return "stopped at the --until event: " + s.Event.String()
	case hv.StopHaltedForever:
		return "guest halted with nothing left to wake it (no clock event armed, no console input left)"
	case hv.StopPaused:
		return fmt.Sprintf("guest left paused at eip %#x", s.EIP)
	case hv.StopStep:
		return fmt.Sprintf("guest left paused after a single step, at eip %#x", s.EIP)
	case hv.StopBreakpoint:
		return fmt.Sprintf("guest left paused at a breakpoint at eip %#x", s.EIP)
	case hv.StopWatchpoint:
		return fmt.Sprintf("guest left paused by a watchpoint, at eip %#x", s.EIP)
	}
	return s.Reason.String() + " at eip " + strconv.FormatUint(uint64(s.EIP), 16)
}
