package pgtable

import (
	"fmt"
	"strings"
)

// Walk is one translation, level by level, for the UI and the gdb monitor.
type Walk struct {
	VAddr  uint32
	Levels []Level
	// Mapped: every level is present (and, for the Guest walk, passes the
	// Host's checks), so PA is meaningful.
	Mapped bool
	PA     uint32
	// Linear: the entries are the Host's linear_pages fakes, not read
	// from guest memory.
	Linear bool
	// Shadow: a walk of a shadow slot (WalkShadow), not of the Guest's
	// own tables.
	Shadow bool
	// Switcher: VAddr is in the Switcher area, which only the Host maps.
	Switcher bool
	// End says why the walk stopped; EndLevel and EndAddr say where, for
	// the ends that name a level.
	End      WalkEnd
	EndLevel LevelKind
	EndAddr  uint32
	Slot     int // the slot WalkShadow was asked for
}

// WalkEnd is why a walk stopped where it did.
type WalkEnd int

const (
	EndMapped         WalkEnd = iota // the PTE maps the page (see Mapped for the Switcher area)
	EndNotPresent                    // the entry at EndLevel is not present
	EndBadEntry                      // the entry at EndLevel fails the Host's checks: a fault there kills the Guest
	EndOutsideMemory                 // the entry at EndLevel, at EndAddr, lies outside guest memory
	EndBeyondPfnLimit                // linear_pages: the fake frame is beyond pfn_limit
	EndNotWalked                     // the Switcher area under linear_pages: nothing to walk
	EndNoSlot                        // WalkShadow: Slot is not a slot
	EndUnallocated                   // WalkShadow: Slot was never allocated
)

// Note explains the walk's end in a sentence for people (the TUI's walk
// pane, the gdb monitor); it is empty for a plain mapped walk.
func (w Walk) Note() string {
	const switcher = "Switcher area: demand_page refuses it; only the Host maps it"
	if w.Shadow {
		switch w.End {
		case EndNoSlot:
			return fmt.Sprintf("no slot %d (there are %d)", w.Slot, NumSlots)
		case EndUnallocated:
			return fmt.Sprintf("slot %d was never allocated", w.Slot)
		case EndNotPresent:
			return w.EndLevel.String() + " not present"
		}
		if w.Switcher {
			return "Switcher page"
		}
		return ""
	}
	if w.Linear {
		if w.End == EndBeyondPfnLimit {
			return "linear_pages: beyond pfn_limit; a fault here kills the Guest (bad page table entry)"
		}
		return "linear_pages: fake 1:1 mapping, supervisor read-write"
	}
	var notes []string
	if w.Switcher {
		notes = append(notes, switcher)
	}
	switch w.End {
	case EndOutsideMemory:
		notes = append(notes, fmt.Sprintf("%s at %#x is outside guest memory", w.EndLevel, w.EndAddr))
	case EndNotPresent:
		notes = append(notes, w.EndLevel.String()+" not present")
	case EndBadEntry:
		notes = append(notes, "a fault here kills the Guest: bad "+[...]string{"page directory", "page middle directory", "page table"}[w.EndLevel]+" entry")
	}
	return strings.Join(notes, "; ")
}

// Level is one entry visited by a walk.
type Level struct {
	Kind      LevelKind
	Index     uint32
	EntryAddr uint32 // guest-physical for WalkGuest, Host-physical for WalkShadow
	Raw       uint64
	Present   bool
}

// SlotInfo describes one pgdir cache slot.
type SlotInfo struct {
	Index          int
	Allocated      bool
	GPgdir         uint32 // guest-physical top level it shadows
	ShadowRoot     uint32 // Host-physical shadow top level (CR3 when current)
	SwitcherMapped bool
	Current        bool
}

// Slots lists the pgdir cache.
func (t *Tables) Slots() []SlotInfo {
	out := make([]SlotInfo, NumSlots)
	for i, s := range t.slots {
		out[i] = SlotInfo{
			Index:          i,
			Allocated:      s.root != 0,
			GPgdir:         s.gpgdir,
			ShadowRoot:     s.root,
			SwitcherMapped: s.switcherMapped,
			Current:        i == t.cur,
		}
	}
	return out
}

func (t *Tables) level(k LevelKind, idx, addr uint32, raw uint64) Level {
	return Level{Kind: k, Index: idx, EntryAddr: addr, Raw: raw, Present: raw&flagP != 0}
}

// WalkGuest walks the Guest's own tables for vaddr starting at the
// guest-physical top level gpgdir (usually the current slot's), as
// demand_page would, but without side effects: no kills, no A/D write-back.
// Under linear_pages it returns the Host's fake entries (Linear = true) and
// ignores gpgdir.
func (t *Tables) WalkGuest(gpgdir, vaddr uint32) Walk {
	g := &t.g
	w := Walk{VAddr: vaddr, Switcher: vaddr >= t.switcherAddr}
	if t.linear {
		if w.Switcher {
			w.End = EndNotWalked
			return w
		}
		w.Linear = true
		var gpte uint64
		g.walk(0, vaddr, func(k LevelKind, idx, addr uint32) (uint64, bool) {
			switch k {
			case LevelPGD:
				w.Levels = append(w.Levels, t.level(k, idx, 0, g.gpgdMask))
				return g.gpgdMask, true
			case LevelPMD:
				w.Levels = append(w.Levels, t.level(k, idx, 0, pageTable))
				return pageTable, true
			}
			// demand_page computes this PTE address from the fake
			// frame 0, but never reads or writes it.
			gpte = uint64(vaddr&pageMask) | flagRW | flagP
			w.Levels = append(w.Levels, t.level(k, idx, addr, gpte))
			return gpte, false
		})
		if g.pfn(gpte) >= uint64(t.m.PfnLimit()) {
			w.End, w.EndLevel = EndBeyondPfnLimit, LevelPTE
			return w
		}
		w.Mapped, w.PA = true, vaddr
		return w
	}

	g.walk(gpgdir, vaddr, func(k LevelKind, idx, addr uint32) (uint64, bool) {
		w.EndLevel = k
		e, ok := t.peek(addr)
		if !ok {
			w.End, w.EndAddr = EndOutsideMemory, addr
			return 0, false
		}
		w.Levels = append(w.Levels, t.level(k, idx, addr, e))
		if e&flagP == 0 {
			w.End = EndNotPresent
			return 0, false
		}
		beyond := g.pfn(e) >= uint64(t.m.PfnLimit())
		switch {
		case k == LevelPGD && (g.flags(e)&^g.gpgdMask != 0 || beyond),
			k == LevelPMD && (g.flags(e)&^pageTable != 0 || beyond),
			k == LevelPTE && (e&flagPSE != 0 || beyond):
			w.End = EndBadEntry
			return 0, false
		case k == LevelPTE:
			w.PA = g.frameAddr(e) | vaddr&^pageMask
			w.Mapped = !w.Switcher
		}
		return e, true
	})
	return w
}

// WalkShadow walks shadow slot s for vaddr: what the CPU sees when s is
// current. EntryAddr and PA are Host-physical.
func (t *Tables) WalkShadow(s int, vaddr uint32) Walk {
	g := &t.g
	w := Walk{VAddr: vaddr, Shadow: true, Switcher: vaddr >= t.switcherAddr, Slot: s}
	if s < 0 || s >= NumSlots {
		w.End = EndNoSlot
		return w
	}
	root := t.slots[s].root
	if root == 0 {
		w.End = EndUnallocated
		return w
	}
	g.walk(root, vaddr, func(k LevelKind, idx, addr uint32) (uint64, bool) {
		w.EndLevel = k
		e := t.sread(addr)
		w.Levels = append(w.Levels, t.level(k, idx, addr, e))
		if e&flagP == 0 {
			w.End = EndNotPresent
			return 0, false
		}
		if k == LevelPTE {
			w.Mapped = true
			w.PA = g.frameAddr(e) | vaddr&^pageMask
		}
		return e, true
	})
	return w
}
