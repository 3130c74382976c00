package hv

import (
	"errors"
	"io"

	"sync"
	"sync/atomic"

	"github.com/lgdbg/lgdbg/hv/boot"
	"github.com/lgdbg/lgdbg/hv/internal/host"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/symbols"
)

// PAEMode chooses the paging mode. Host and Guest must agree and nothing
// in the ABI negotiates it (spec §0), so by default we ask the image.
type PAEMode int

const (
	PAEAuto PAEMode = iota // from the image when it says; else from the Guest's first NEW_PGTABLE
	PAEOff
	PAEOn
)

// DefaultRAM is the Guest's memory when -m is not given.
const DefaultRAM = 64 << 20

// Config describes one Guest to launch.
type Config struct {
	Image     []byte // bzImage or ELF vmlinux
	RAM       uint32 // bytes of RAM (0 = DefaultRAM)
	Cmdline   string
	Initrd    []byte
	PAE       PAEMode
	Trace     io.Writer // JSONL event stream, or nil
	EventRing int       // events kept in memory (0 = 1<<16)
	// Until, if set, stops the run at the first event it accepts
	// (see MatchEvent).
	Until func(Event) bool
	// Symbols, if set, is the kernel's symbol model from its vmlinux
	// (--symbols): a bzImage has no symbols, only its payload's layout.
	// Otherwise the model comes from the image (loadalias.go).
	Symbols *symbols.Table
	// SwitcherAddr overrides where the Switcher lives (0 = default).
	SwitcherAddr uint32
	// IdleRealtime makes a halted Guest wait in real time for its next
	// clock event (or console input) instead of skipping straight to it.
	// Interactive front ends want it; it gives up run-to-run determinism
	// of the timing of console input, nothing else.
	IdleRealtime bool
	// Devices are the command-line devices (--block, --rng), in
	// command-line order; the console always follows them (spec §2.7).
	Devices []DeviceSpec
	// History, if positive, turns time travel on with that many bytes for
	// checkpoints (history.go); 0 leaves it off.
	History int64
}

// Machine is the one façade over a running Guest for the UI, the gdb stub
// and the CLI. All methods are safe to call from any goroutine; the Guest
// itself runs on the goroutine that calls Run, or on the background runner
// started by Resume.
type Machine struct {
	mu sync.Mutex // held while the Guest executes a slice, and by accessors
	// queryCancel: CancelQuery asked the provenance query to stop
	queryCancel atomic.Bool
	h           *host.Host
	image       *boot.Image

	// Run control (control.go): who owns the CPU and how the last run
	// ended. ctl is taken after mu, never before it.
	ctl     sync.Mutex
	running bool          // a run (Run, Resume, Step) owns the CPU
	done    chan struct{} // closed when the current run ends
	last    Stop
	subs    map[chan Stop]struct{}
	wake    chan struct{}

	bpRefs    map[uint32]int // breakpoint address -> front ends that set it (under mu)
	aliasRefs map[uint32]int // load address -> link-address breakpoints armed there (under mu)

	syms     *symbols.Table // the kernel's names and layout (loadalias.go)
	symsNote string

	hist *history // time travel (history.go), nil when off; under mu
	// histInfo is History's answer, published at every checkpoint so
	// reading it never waits for a running Guest.
	histInfo atomic.Pointer[HistoryInfo]
}

// L:100 New is the Launcher's start: it loads the image and builds the Guest exactly as the Launcher and
// LHREQ_INITIALIZE would (spec §13 items 1 and 2). The Guest does not run
// until Run or Resume.
func New(cfg Config) (*Machine, error) {
	img, err := boot.Parse(cfg.Image)
	if err != nil {
		return nil, err
	}
	ram := cfg.RAM
	if ram == 0 {
		ram = DefaultRAM
	}
	// The mode: a flag forces it, else the image's hint, else the Guest's
	// first NEW_PGTABLE decides (hv/internal/host/paging.go).
	pae, src := false, host.PAEGuessed
	switch {
	case cfg.PAE != PAEAuto:
		pae, src = cfg.PAE == PAEOn, host.PAEFromFlag
	case img.PAE != boot.PAEUnknown:
		pae, src = img.PAE == boot.PAEYes, host.PAEFromImage
	}
	if img.PAE == boot.PAEYes && cfg.PAE == PAEOff {
		return nil, errors.New("the image is a PAE kernel; it cannot run on a non-PAE Host (drop --no-pae)")
	}
	if img.PAE == boot.PAENo && cfg.PAE == PAEOn {
		return nil, errors.New("the image is a non-PAE kernel; it cannot run on a PAE Host (drop --pae)")
	}

	h, err := host.New(host.Config{RAM: ram, PAE: pae, Trace: cfg.Trace, Ring: cfg.EventRing, Until: cfg.Until,
		SwitcherAddr: cfg.SwitcherAddr, IdleRealtime: cfg.IdleRealtime, PAESource: src, Devices: cfg.Devices},
		func(m *mem.Phys) (uint32, error) {
			return boot.Load(m, img, boot.Config{RAM: ram, Cmdline: cfg.Cmdline, Initrd: cfg.Initrd})
		})
	if err != nil {
		return nil, err
	}
	m := newMachine(h, img)
	m.syms, m.symsNote = buildSymbols(cfg, img)
	h.SetLoadAlias(m.loadAlias)
	if cfg.History > 0 {
		m.enableHistory(cfg.History)
	}
	return m, nil
}

// newMachine wraps a built Host, stopped at its entry point.
func newMachine(h *host.Host, img *boot.Image) *Machine {
	m := &Machine{h: h, image: img, wake: make(chan struct{}, 1)}
	h.SetWake(m.wake)
	m.last = Stop{Reason: StopPaused, EIP: h.CPU().EIP()}
	return m
}

// Image is the parsed kernel image (symbols for the UI and gdb).
func (m *Machine) Image() *boot.Image { return m.image }

// PAE reports the paging mode the Host runs.
func (m *Machine) PAE() bool { return m.h.PAE() }

// RAM is the Guest's RAM size in bytes.
func (m *Machine) RAM() uint32 { return m.h.RAM() }

// Events returns the events with sequence number >= seq still kept, and the
// sequence number to ask for next.
func (m *Machine) Events(seq uint64) ([]Event, uint64) { return m.h.Events().Since(seq) }

// SetEventHook installs a function called for every event, on the Guest's
// goroutine (the headless CLI prints console text with it). Keep it fast.
func (m *Machine) SetEventHook(f func(Event)) {
	m.h.Events().SetHook(f)
}

// TraceError reports a failure writing the --trace stream, if any.
func (m *Machine) TraceError() error {
	return m.h.Events().TraceError()
}

// ConsoleInput queues bytes for the Guest's virtio console. It blocks
// while much input is already waiting for the Guest to take it (a stdin
// reader wants that back-pressure); TryConsoleInput does not.
func (m *Machine) ConsoleInput(p []byte) {
	m.h.ConsoleIn().Input(p)
	m.kick()
}

// TryConsoleInput queues what fits without blocking and says how much.
func (m *Machine) TryConsoleInput(p []byte) int {
	n := m.h.ConsoleIn().TryInput(p)
	m.kick()
	return n
}

// ConsolePending is how many typed bytes the Guest has not taken yet.
func (m *Machine) ConsolePending() int { return m.h.ConsoleIn().Pending() }

// CloseConsoleInput releases a blocked ConsoleInput (end of stdin).
func (m *Machine) CloseConsoleInput() { m.h.CloseConsoles() }

func (m *Machine) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}
