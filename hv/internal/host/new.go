package host

import (
	"errors"
	"fmt"
	"io"

	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// Config is what New needs; the image loading is a callback so tests can
// place raw code instead of a kernel.
type Config struct {
	RAM          uint32
	PAE          bool
	Trace        io.Writer
	Ring         int // events kept (0 = 1<<16)
	Until        func(Event) bool
	SwitcherAddr uint32
	IdleRealtime bool // see hv.Config.IdleRealtime
	// PAESource says why PAE is what it is; the zero value, PAEGuessed,
	// lets the Guest's first NEW_PGTABLE switch the Host (paging.go).
	PAESource PAESource
	// Devices are the command-line devices (--block, --rng), in
	// command-line order; the console always follows them (spec §2.7).
	Devices []DeviceSpec
}

// L:120 New builds the Guest's world: memory with the lguest bus above RAM,
// the loaded image, the CPU, the Switcher pages, the shadow page tables in
// linear_pages mode, and the vCPU's initial state.
func New(cfg Config, load func(*mem.Phys) (uint32, error)) (*Host, error) {
	ram, pae := cfg.RAM, cfg.PAE
	ring := cfg.Ring
	if ring <= 0 {
		ring = 1 << 16
	}
	h := &Host{ram: ram, pae: pae, paeSource: cfg.PAESource, events: event.NewLog(ring), idleRealtime: cfg.IdleRealtime}
	h.events.SetTrace(cfg.Trace)
	h.until = cfg.Until
	// The lguest bus: the device page and rings sit right above RAM and
	// count towards pfn_limit (spec §2.2).
	var err error
	if h.bus, err = virtio.NewBus(ram); err != nil {
		return nil, fmt.Errorf("lguest bus: %w", err)
	}
	if err := h.addDevices(cfg.Devices); err != nil {
		return nil, fmt.Errorf("lguest bus: %w", err)
	}
	if h.con, err = h.bus.AddConsole(h.console); err != nil {
		return nil, fmt.Errorf("lguest bus: %w", err)
	}
	h.bus.SetIRQ(h.setInterrupt)
	h.con.Gate() // input becomes Guest-visible in admitInput only
	h.bus.SetWarn(h.launcherWarning)
	if err := h.addPCIDevices(cfg.Devices); err != nil {
		return nil, fmt.Errorf("PCI bus: %w", err)
	}

	pool := poolPages(pae || cfg.PAESource == PAEGuessed)
	h.mem, err = mem.New(ram+h.bus.Pages()*mem.PageSize, pool)
	if err != nil {
		return nil, fmt.Errorf("guest memory: %w", err)
	}
	if err := h.bus.Install(h.mem); err != nil {
		return nil, fmt.Errorf("lguest bus: %w", err)
	}
	if err := h.installPCI(); err != nil {
		return nil, fmt.Errorf("PCI bus: %w", err)
	}
	entry, err := load(h.mem)
	if err != nil {
		return nil, err
	}
	h.cpu = cpu.New(h.mem)
	h.switcherAddr = cfg.SwitcherAddr
	if h.switcherAddr == 0 {
		h.switcherAddr = DefaultSwitcherAddr
	}
	if !h.initSwitcherPages() {
		return nil, errors.New("cannot allocate the Switcher pages")
	}
	h.pt, err = pgtable.New(pgtable.Config{
		Mem:           h.mem,
		PAE:           pae,
		SwitcherAddr:  h.switcherAddr,
		SwitcherPages: h.switcherPages,
		MMU:           mmu{h.cpu, &h.pae},
		Kill:          h.kill,
		OnChange:      h.onShadowChange,
		Seed:          1,
	})
	if err != nil {
		return nil, fmt.Errorf("shadow page tables: %w", err)
	}
	h.cpu.SetPaging(true, h.pt.CR3(), pae)
	if err := h.initVCPU(entry); err != nil {
		return nil, err
	}
	h.syncSwitcherRegs(256, 0)
	return h, nil
}
