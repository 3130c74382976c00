package pgtable

// H:510 One walk serves every translation here, in the manner of gVisor's
// pagetables Walker: walk computes where each level's entry lives and
// hands it to a visitor, which reads it (from guest memory, the Host
// pool, or a linear_pages fake), may install a missing lower table (as
// find_spte does), and says whether to descend. WalkGuest, WalkShadow and
// findSPTE are its visitors.

// LevelKind is a page-table level.
type LevelKind int

const (
	LevelPGD LevelKind = iota // the top level (PAE: the PDPT)
	LevelPMD                  // the middle level, PAE only
	LevelPTE                  // the page table
)

var levelNames = [...]string{"pgd", "pmd", "pte"}

// String is the level's name as lguest's code and the trace spell it.
func (k LevelKind) String() string {
	if int(k) < len(levelNames) {
		return levelNames[k]
	}
	return "level?"
}

// visitor sees one level of a walk: its kind, the entry's index in its
// table and the address of the entry. It returns the entry to descend
// through and whether to go on; after the PTE the walk ends anyway.
type visitor func(k LevelKind, index, entryAddr uint32) (entry uint64, next bool)

// walk visits vaddr's entries from the top-level table at root down.
func (g *geom) walk(root, vaddr uint32, visit visitor) {
	e, ok := visit(LevelPGD, g.pgdIndex(vaddr), root+g.pgdIndex(vaddr)*g.esz)
	if !ok {
		return
	}
	if g.pae {
		if e, ok = visit(LevelPMD, pmdIndex(vaddr), g.frameAddr(e)+pmdIndex(vaddr)*8); !ok {
			return
		}
	}
	visit(LevelPTE, g.pteIndex(vaddr), g.frameAddr(e)+g.pteIndex(vaddr)*g.esz)
}
