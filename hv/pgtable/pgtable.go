// Package pgtable is lguest's shadow paging (drivers/lguest/page_tables.c,
// Linux 3.12, the 3.10+ per-slot Switcher mapping), reimplemented over the
// Host's flat physical memory (package mem).
//
// The Guest keeps ordinary x86 page tables in its own memory and tells the
// Host when it changes them (spec §7). The Host keeps "shadow" tables, the
// ones the CPU really walks at CR3, and fills them lazily from page faults
// (DemandPage). Shadow tables here are real x86 tables in hardware format,
// stored in Host pool pages (mem.Phys.AllocPage): non-PAE is a 1024-entry
// page directory over 1024-entry page tables; PAE is a 4-entry PDPT (alone in
// its own page) over 512-entry PMD and PTE pages. Because guest-physical
// equals host-physical inside guest memory, a shadow PTE's frame is simply
// the Guest's frame (spec §7.4).
//
// Up to four shadow top levels are cached (spec §7.7), each shadowing one
// Guest top-level table; kernel mappings (>= kernel_address) are shared by
// all of them, user mappings are per slot. Until the Guest's first
// NEW_PGTABLE the Host runs it in linear_pages mode, faking a 1:1 mapping
// (spec §7.3, §7.8).
//
// Every Host access to guest memory is validated with mem.Phys.AddressOK
// (lguest_address_ok, spec §2.8). Guest errors call Config.Kill with the
// original's reason text and, as in the original, the operation keeps going
// (spec §0, §12 quirk 8); they are never Go errors or panics.
//
// TLB coherence: the software CPU caches translations across Host calls
// (real lguest reloads CR3 on every guest entry, so it never had to care).
// Every change of a shadow entry in the current slot is therefore followed
// by MMU.FlushTLBPage, a released table by MMU.FlushTLB, and a change of the
// current slot, or of a PAE PDPT entry of the current slot (hardware caches
// PDPTEs at CR3 load), by MMU.SetRoot.
//
// A Tables is not safe for concurrent use: the caller (the goroutine that
// runs the Guest, or whoever holds the machine stopped) serialises all calls,
// including the read-only walks.
//
// Deliberate departures from 3.12, each marked "Fix:" in the code:
//   - SET_PGD with idx == PTRS_PER_PGD is killed like idx > PTRS_PER_PGD
//     (spec §12 quirk 4: the original indexes one past the table).
//   - SET_PGD that releases the Switcher's top-level entry of a cached slot
//     other than the current one re-populates that slot's Switcher mapping
//     (spec §12 quirk 5: the original only re-maps the current slot and
//     would later dereference a missing PTE page). The current-slot re-map
//     is kept.
//   - pin_stack_pages pins at most 2 pages (see maxPinPages).
//   - map_switcher_in_guest is folded into allocate_switcher_mapping: there
//     is one Host CPU, so the regs and read-only state pages are mapped as
//     soon as the slot's Switcher PTE page exists (spec §7.12).
//
// Quirk kept: spec §12 quirk 6 (SET_PTE installs a writable shadow PTE for a
// writable, accessed but clean Guest PTE).
package pgtable

import (
	"errors"
	"fmt"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// x86 page-table entry bits (spec §0.1).
const (
	flagP   = 0x001
	flagRW  = 0x002
	flagUS  = 0x004
	flagPWT = 0x008
	flagPCD = 0x010
	flagA   = 0x020
	flagD   = 0x040
	flagPSE = 0x080 // PSE in a directory entry, PAT in a PTE
	flagG   = 0x100
	flagNX  = 1 << 63

	// pageTable is _PAGE_TABLE: P|RW|US|A|D.
	pageTable = 0x067

	pageSize = mem.PageSize
	pageMask = 0xFFFFF000

	// NumSlots is the size of the shadow pgdir cache (spec §7.1).
	NumSlots = 4

	// DefaultSwitcherAddr is used when Config.SwitcherAddr is 0: the 3.1-3.9
	// non-PAE address, reserve_mem = 4 MiB (spec §7.12).
	DefaultSwitcherAddr = 0xFFC00000

	// switcherPages is TOTAL_SWITCHER_PAGES for one Host CPU: the text page
	// plus that CPU's two lguest_pages pages (spec §7.12).
	switcherPages = 3

	// maxPinPages bounds pin_stack_pages. Fix: SET_STACK accepts at most
	// 2 pages (spec §3.3.7); a larger count is stored only after the
	// "bad stack pages" kill, and the original would then loop up to 4G
	// times for a Guest that never runs again. Pinning at most 2 pages
	// changes nothing the dead Guest or the first kill reason can show.
	maxPinPages = 2
)

// Switcher page mappings (spec §7.12): text PAGE_KERNEL_RX, the regs page
// __PAGE_KERNEL and the state page __PAGE_KERNEL_RO, all without the global
// bit. NX is left out: the Guest's CPUID hides NX, so the CPU need not model
// EFER.NXE for the Host's own entries.
var switcherFlags = [switcherPages]uint64{
	flagP | flagA | flagD,          // Switcher text, read-only
	flagP | flagRW | flagA | flagD, // regs page, read-write
	flagP | flagA | flagD,          // lguest_ro_state, read-only
}

// MMU is the CPU as the Host sees it for paging.
type MMU interface {
	// SetRoot installs a new shadow top level (physical address): the CPU
	// reloads CR3 (and, for PAE, its PDPTEs) and flushes its TLB.
	SetRoot(cr3 uint32)
	// FlushTLB drops every cached translation.
	FlushTLB()
	// FlushTLBPage drops the cached translation of one virtual page.
	FlushTLBPage(vaddr uint32)
}

// Config configures New.
type Config struct {
	Mem *mem.Phys
	// PAE selects 3-level PAE tables; it must match the Guest kernel's
	// CONFIG_X86_PAE (spec §0).
	PAE bool
	// SwitcherAddr is the lowest virtual address reserved for the Switcher;
	// 0 means DefaultSwitcherAddr. reserve_mem = 2^32 - SwitcherAddr.
	SwitcherAddr uint32
	// SwitcherPages are Host-physical pages: [0] Switcher text (mapped
	// read-only), [1] the vCPU's regs page (read-write), [2] the
	// lguest_ro_state page (read-only).
	SwitcherPages [3]uint32
	// MMU is told about every shadow change of the current slot; nil means
	// no CPU is attached (inspection only).
	MMU MMU
	// Kill is lguest's kill_guest; the caller keeps only the first reason.
	Kill func(reason string)
	// OnChange, if set, receives every shadow-table change.
	OnChange func(Change)
	// Seed seeds the PRNG behind new_pgdir's random eviction (spec §7.7).
	Seed uint64
}

// Change is one shadow-table change, for the event stream. Releasing a
// whole table is one Change at the level of the entry that pointed to it.
type Change struct {
	Slot  int
	Level LevelKind
	Index uint32 // entry index within its table
	VAddr uint32 // first virtual address the entry covers
	Old   uint64
	New   uint64
	Why   string
}

// geom is the paging mode's geometry.
type geom struct {
	pae        bool
	esz        uint32 // entry size in bytes
	pgdShift   uint32
	ptrsPerPGD uint32
	ptrsPerPTE uint32
	pfnMask    uint64 // PTE_PFN_MASK
	gpgdMask   uint64 // CHECK_GPGD_MASK
}

var (
	geomNonPAE = geom{esz: 4, pgdShift: 22, ptrsPerPGD: 1024, ptrsPerPTE: 1024,
		pfnMask: 0xFFFFF000, gpgdMask: pageTable}
	// PAE: 3.12's __PHYSICAL_MASK_SHIFT is 44 for 32-bit PAE, so the frame
	// is bits 12..43 and every other bit (low 12, 44..63 incl. NX) counts
	// as a flag. (Spec §7.1 says 12..35; the 3.12 source says 44.)
	geomPAE = geom{pae: true, esz: 8, pgdShift: 30, ptrsPerPGD: 4, ptrsPerPTE: 512,
		pfnMask: 0x00000FFFFFFFF000, gpgdMask: flagP}
)

func (g *geom) flags(e uint64) uint64 { return e &^ g.pfnMask }
func (g *geom) pfn(e uint64) uint64   { return (e & g.pfnMask) >> 12 }

// frameAddr is pfn << PAGE_SHIFT in an i386 unsigned long: truncated to 32
// bits, as the original computes guest table addresses.
func (g *geom) frameAddr(e uint64) uint32 { return uint32(e & g.pfnMask) }

func (g *geom) pgdIndex(va uint32) uint32 { return va >> g.pgdShift }
func pmdIndex(va uint32) uint32           { return (va >> 21) & 511 }
func (g *geom) pteIndex(va uint32) uint32 { return (va >> 12) & (g.ptrsPerPTE - 1) }

// slot is one entry of the pgdir cache (struct pgdir).
type slot struct {
	root           uint32 // shadow top-level page; 0 = never allocated (pool pages are never 0)
	gpgdir         uint32
	switcherMapped bool
}

// Tables is one Guest's shadow paging state.
type Tables struct {
	m            *mem.Phys
	g            geom
	switcherAddr uint32
	swPages      [switcherPages]uint32
	mmu          MMU
	kill         func(string)
	onChange     func(Change)
	rng          uint64

	slots      [NumSlots]slot
	cur        int
	linear     bool
	kernelAddr uint32
	esp1       uint32
	stackPages uint32

	// 4.x I/O memory (SetIOMem) and the last fault on it (TakeIOMem).
	ioLo, ioHi uint32
	ioAddr     uint32
	ioPending  bool

	why        string // reason attached to Change events
	needFlush  bool   // a table of the current slot was released
	needReload bool   // CR3 or a PDPTE of the current slot changed
}

type nopMMU struct{}

func (nopMMU) SetRoot(uint32)      {}
func (nopMMU) FlushTLB()           {}
func (nopMMU) FlushTLBPage(uint32) {}

// New is init_guest_pagetable (spec §7.8): it allocates the first shadow
// slot (for guest table 0), enters linear_pages mode, maps the Switcher and
// installs the slot as the CPU's root. Only Host-side problems (bad config,
// Host pool exhausted) are errors.
func New(cfg Config) (*Tables, error) {
	if cfg.Mem == nil {
		return nil, errors.New("pgtable: Config.Mem is nil")
	}
	if cfg.Kill == nil {
		return nil, errors.New("pgtable: Config.Kill is nil")
	}
	t := &Tables{
		m:            cfg.Mem,
		g:            geomNonPAE,
		switcherAddr: cfg.SwitcherAddr,
		swPages:      cfg.SwitcherPages,
		mmu:          cfg.MMU,
		kill:         cfg.Kill,
		onChange:     cfg.OnChange,
		rng:          cfg.Seed,
	}
	if cfg.PAE {
		t.g = geomPAE
	}
	if t.switcherAddr == 0 {
		t.switcherAddr = DefaultSwitcherAddr
	}
	if t.mmu == nil {
		t.mmu = nopMMU{}
	}
	if t.switcherAddr%pageSize != 0 || uint64(t.switcherAddr)+switcherPages*pageSize > 1<<32 {
		return nil, fmt.Errorf("pgtable: Switcher address %#x is not page-aligned or leaves no room for %d pages", t.switcherAddr, switcherPages)
	}
	if uint64(t.switcherAddr) < uint64(t.m.GuestLimit()) {
		// Linear mode maps vaddr == gpa up to the Switcher; the Switcher
		// must not hide guest memory a linear Guest may touch.
		return nil, fmt.Errorf("pgtable: Switcher address %#x lies below the end of guest memory %#x", t.switcherAddr, t.m.GuestLimit())
	}
	for i, pa := range t.swPages {
		if pa%pageSize != 0 || !t.m.InRange(pa, pageSize) || pa < t.m.GuestLimit() {
			return nil, fmt.Errorf("pgtable: Switcher page %d at %#x is not a page-aligned Host page outside guest memory", i, pa)
		}
	}

	t.why = "init"
	cur, blank := t.newPgdir(0)
	if !blank {
		return nil, errors.New("pgtable: out of Host pages for the first shadow page directory")
	}
	t.cur = cur
	t.linear = true
	if !t.allocateSwitcherMapping(t.cur) {
		t.Free()
		return nil, errors.New("pgtable: out of Host pages for the Switcher mapping")
	}
	t.needReload = true
	t.commit()
	return t, nil
}

// Free is free_guest_pagetable: it returns every shadow page to the pool.
// The Tables must not be used afterwards.
func (t *Tables) Free() {
	t.why = "free"
	t.releaseAllPagetables()
	for i := range t.slots {
		if t.slots[i].root != 0 {
			t.m.FreePage(t.slots[i].root)
			t.slots[i].root = 0
		}
	}
	t.needFlush, t.needReload = false, false
}

// LinearPages reports whether the Guest still runs on the Host's fake 1:1
// mapping (spec §7.8).
func (t *Tables) LinearPages() bool { return t.linear }

// PAE reports the paging mode chosen at construction.
func (t *Tables) PAE() bool { return t.g.pae }

// CR3 is the physical address of the current shadow top level.
func (t *Tables) CR3() uint32 { return t.slots[t.cur].root }

// CurrentSlot is cpu_pgd.
func (t *Tables) CurrentSlot() int { return t.cur }

// SetKernelAddress records lguest_data.kernel_address from LGUEST_INIT
// (spec §3.3.2 step 7). The Host checks it against SwitcherAddr.
func (t *Tables) SetKernelAddress(ka uint32) { t.kernelAddr = ka }

// KernelAddress is the recorded kernel_address (0 before LGUEST_INIT).
func (t *Tables) KernelAddress() uint32 { return t.kernelAddr }

// SwitcherAddr is switcher_addr; reserve_mem = 2^32 - SwitcherAddr.
func (t *Tables) SwitcherAddr() uint32 { return t.switcherAddr }

// SetStack remembers SET_STACK's esp1 and page count for pin_stack_pages
// (spec §3.3.7). The Host validates and pins.
func (t *Tables) SetStack(esp1, pages uint32) { t.esp1, t.stackPages = esp1, pages }

// commit tells the CPU about deferred whole-TLB work. Every exported
// mutating method ends with it; no guest instruction runs in between.
func (t *Tables) commit() {
	if t.needReload {
		t.mmu.SetRoot(t.slots[t.cur].root)
	} else if t.needFlush {
		t.mmu.FlushTLB()
	}
	t.needFlush, t.needReload = false, false
}

// killf formats like the original's printf; use cx for %#lx.
func (t *Tables) killf(format string, args ...any) {
	t.kill(fmt.Sprintf(format, args...))
}

// cx renders a value as C's "%#lx": like Go's %#x except that zero is "0".
func cx(v uint32) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%#x", v)
}

// random is splitmix64: deterministic for a Seed, standing in for
// prandom_u32 (spec §7.7).
func (t *Tables) random() uint64 {
	t.rng += 0x9E3779B97F4A7C15
	z := t.rng
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (t *Tables) emit(s int, level LevelKind, idx, va uint32, old, new uint64) {
	if t.onChange != nil && old != new {
		t.onChange(Change{Slot: s, Level: level, Index: idx, VAddr: va, Old: old, New: new, Why: t.why})
	}
}

// --- Guest memory (lgread/lgwrite, spec §2.8) -------------------------------

// gread reads one guest table entry; a bad address kills and reads 0.
func (t *Tables) gread(addr uint32) uint64 {
	n := t.g.esz
	if !t.m.AddressOK(addr, n) {
		t.killf("bad read address %s len %d", cx(addr), n)
		return 0
	}
	if t.g.pae {
		v, _ := t.m.Read64(addr)
		return v
	}
	v, _ := t.m.Read32(addr)
	return uint64(v)
}

// gwrite writes one guest table entry; a bad address kills.
func (t *Tables) gwrite(addr uint32, v uint64) {
	n := t.g.esz
	if !t.m.AddressOK(addr, n) {
		t.killf("bad write address %s len %d", cx(addr), n)
		return
	}
	if t.g.pae {
		t.m.Write64(addr, v)
	} else {
		t.m.Write32(addr, uint32(v))
	}
}

// peek is a side-effect-free guest read for the walks.
func (t *Tables) peek(addr uint32) (uint64, bool) {
	if !t.m.AddressOK(addr, t.g.esz) {
		return 0, false
	}
	if t.g.pae {
		return t.m.Read64(addr)
	}
	v, ok := t.m.Read32(addr)
	return uint64(v), ok
}

// --- Shadow memory (always Host pool pages, always in range) ---------------

func (t *Tables) sread(pa uint32) uint64 {
	if t.g.pae {
		v, _ := t.m.Read64(pa)
		return v
	}
	v, _ := t.m.Read32(pa)
	return uint64(v)
}

func (t *Tables) swrite(pa uint32, v uint64) {
	if t.g.pae {
		t.m.Write64(pa, v)
	} else {
		t.m.Write32(pa, uint32(v))
	}
}

// --- Guest table addresses (spec §7.1) -----------------------------------

func (t *Tables) gpgdAddr(gpgdir, va uint32) uint32 {
	return gpgdir + t.g.pgdIndex(va)*t.g.esz
}

func (t *Tables) gpmdAddr(gpgd uint64, va uint32) uint32 {
	return t.g.frameAddr(gpgd) + pmdIndex(va)*8
}

func (t *Tables) gpteAddr(upper uint64, va uint32) uint32 {
	return t.g.frameAddr(upper) + t.g.pteIndex(va)*t.g.esz
}
