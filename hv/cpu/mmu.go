package cpu

import "encoding/binary"

// The software TLB maps a linear page straight to its physical page in
// mem.Phys's byte slice. There is one read array and one write array per
// privilege class (supervisor = CPL 1, user = CPL 3), so a hit is a single
// compare of tag with lin>>12+1 (0 is never a valid tag). Entries are filled
// only from a successful page walk, which has already set the accessed bit
// (and, for the write array, the dirty bit) in the shadow entry, exactly as
// hardware caches translations. The write array never holds a page that
// holds decoded code (mem.Phys.Code), so every store to code goes through
// mem.Phys and its OnCodeWrite hook.
const (
	tlbBits = 8
	tlbSize = 1 << tlbBits
	tlbMask = tlbSize - 1
)

type tlbEntry struct {
	tag    uint32 // lin>>12 + 1, 0 = empty
	pa     uint32 // physical page base
	global bool
}

// FlushTLB drops every cached translation.
func (c *CPU) FlushTLB() {
	c.gen++
	c.tlbR = [2][tlbSize]tlbEntry{}
	c.tlbW = [2][tlbSize]tlbEntry{}
}

// FlushTLBNonGlobal drops every translation whose shadow PTE did not have the
// global bit set (a CR3 reload with CR4.PGE).
func (c *CPU) FlushTLBNonGlobal() {
	c.gen++
	for u := range c.tlbR {
		for i := range c.tlbR[u] {
			if !c.tlbR[u][i].global {
				c.tlbR[u][i] = tlbEntry{}
			}
			if !c.tlbW[u][i].global {
				c.tlbW[u][i] = tlbEntry{}
			}
		}
	}
}

// FlushTLBPage drops the translation of one linear page (INVLPG).
func (c *CPU) FlushTLBPage(lin uint32) {
	c.gen++
	i := (lin >> 12) & tlbMask
	for u := range c.tlbR {
		c.tlbR[u][i] = tlbEntry{}
		c.tlbW[u][i] = tlbEntry{}
	}
}

// dropWritePA removes write-TLB entries that map physical page pa: the page
// has just become a code page.
func (c *CPU) dropWritePA(pa uint32) {
	for u := range c.tlbW {
		for i := range c.tlbW[u] {
			if c.tlbW[u][i].pa == pa && c.tlbW[u][i].tag != 0 {
				c.tlbW[u][i] = tlbEntry{}
			}
		}
	}
}

// DropWriteTLB removes the write-TLB entries that map the physical page
// holding pa: the page has just become watched (mem.Phys.SetWatch), and
// its stores must go through mem.Phys from now on.
func (c *CPU) DropWriteTLB(pa uint32) { c.dropWritePA(pa &^ 0xFFF) }

// walkResult is one page walk's outcome.
type walkResult struct {
	pa       uint32 // physical address of the byte (not the page)
	writable bool   // writable for the privilege the walk was made for
	dirty    bool   // the leaf entry's D bit (after the walk)
	global   bool
}

// Page-table entry bits.
const (
	pteP  = 1 << 0
	pteW  = 1 << 1
	pteU  = 1 << 2
	pteA  = 1 << 5
	pteD  = 1 << 6
	ptePS = 1 << 7
	pteG  = 1 << 8
)

// walk translates lin through the shadow tables at CR3. It returns ok=false
// and the #PF error code (bit0 P, bit1 W, bit2 U; spec §7.14) when the access
// is not allowed. With setAD the accessed/dirty bits are set in the shadow
// entries, as hardware does; without it the walk has no side effects.
//
// A table entry or leaf naming a frame outside mem.Phys cannot come from the
// Host (it never installs one); rather than crash, the walk reports a
// not-present fault (error code P=0) so the Host sees an ordinary #PF.
func (c *CPU) walk(lin uint32, write, user, setAD bool) (walkResult, bool, uint32) {
	var ec uint32
	if write {
		ec |= 2
	}
	if user {
		ec |= 4
	}
	if !c.paging {
		if !c.m.InRange(lin, 1) {
			return walkResult{}, false, ec
		}
		return walkResult{pa: lin, writable: true, dirty: true}, true, 0
	}
	if c.pae {
		return c.walkPAE(lin, write, user, setAD, ec)
	}
	pdeAddr := c.cr3&^0xFFF + (lin>>22)*4
	pde, ok := c.m.Read32(pdeAddr)
	if !ok || pde&pteP == 0 {
		return walkResult{}, false, ec
	}
	if pde&ptePS != 0 {
		return c.finishLarge(pde&0xFFC00000|lin&0x3FFFFF, pdeAddr, pde, write, user, setAD, ec)
	}
	pteAddr := pde&0xFFFFF000 + (lin>>12&0x3FF)*4
	pte, ok := c.m.Read32(pteAddr)
	if !ok || pte&pteP == 0 {
		return walkResult{}, false, ec
	}
	return c.finishLeaf(lin, pdeAddr, pde, pteAddr, pte, write, user, setAD, ec)
}

func (c *CPU) walkPAE(lin uint32, write, user, setAD bool, ec uint32) (walkResult, bool, uint32) {
	pdpte, ok := c.m.Read64(c.cr3&^0x1F + (lin>>30)*8)
	if !ok || pdpte&pteP == 0 || pdpte>>32&0xFFFFF != 0 {
		return walkResult{}, false, ec
	}
	pdeAddr := uint32(pdpte)&0xFFFFF000 + (lin>>21&0x1FF)*8
	pde, ok := c.m.Read64(pdeAddr)
	if !ok || pde&pteP == 0 {
		return walkResult{}, false, ec
	}
	lo := uint32(pde)
	if lo&ptePS != 0 {
		if pde>>32&0xFFFFF != 0 {
			return walkResult{}, false, ec
		}
		return c.finishLarge(lo&0xFFE00000|lin&0x1FFFFF, pdeAddr, lo, write, user, setAD, ec)
	}
	if pde>>32&0xFFFFF != 0 {
		return walkResult{}, false, ec
	}
	pteAddr := lo&0xFFFFF000 + (lin>>12&0x1FF)*8
	pte64, ok := c.m.Read64(pteAddr)
	if !ok || pte64&pteP == 0 {
		return walkResult{}, false, ec
	}
	pte := uint32(pte64)
	if pte64>>32&0xFFFFF != 0 {
		return walkResult{}, false, ec
	}
	return c.finishLeaf(lin, pdeAddr, lo, pteAddr, pte, write, user, setAD, ec)
}

// finishLarge completes a walk at a 4 MiB (2-level) or 2 MiB (PAE)
// directory entry with PS set: its flags alone decide, A/D go in it.
func (c *CPU) finishLarge(pa, pdeAddr, pde uint32, write, user, setAD bool, ec uint32) (walkResult, bool, uint32) {
	if !c.m.InRange(pa, 1) {
		return walkResult{}, false, ec
	}
	if !permOK(pde, write, user) {
		return walkResult{}, false, ec | 1
	}
	if setAD {
		c.setAD(pdeAddr, pde, write)
		if write {
			pde |= pteD
		}
	}
	return walkResult{pa: pa, writable: allowW(pde, user), dirty: pde&pteD != 0, global: pde&pteG != 0}, true, 0
}

// finishLeaf completes a walk at its page-table entry, for both paging
// modes: the effective permission is the AND of the directory entry's and
// the PTE's, A/D are set as hardware sets them (A in the directory entry,
// A and, on a write, D in the PTE), and pdeAddr is written as 32 bits
// because the flags live in the low word in PAE too.
func (c *CPU) finishLeaf(lin, pdeAddr, pde, pteAddr, pte uint32, write, user, setAD bool, ec uint32) (walkResult, bool, uint32) {
	pa := pte&0xFFFFF000 | lin&0xFFF
	if !c.m.InRange(pa, 1) {
		return walkResult{}, false, ec
	}
	eff := pte & (pde | ^uint32(pteW|pteU))
	if !permOK(eff, write, user) {
		return walkResult{}, false, ec | 1
	}
	if setAD {
		if pde&pteA == 0 {
			c.m.Write32(pdeAddr, pde|pteA)
		}
		c.setAD(pteAddr, pte, write)
		if write {
			pte |= pteD
		}
	}
	return walkResult{pa: pa, writable: allowW(eff, user), dirty: pte&pteD != 0, global: pte&pteG != 0}, true, 0
}

// permOK applies U/S and R/W with CR0.WP = 1: supervisor (CPL 1) writes to
// read-only pages fault too (spec §7.14).
func permOK(e uint32, write, user bool) bool {
	if user && e&pteU == 0 {
		return false
	}
	if write && e&pteW == 0 {
		return false
	}
	return true
}

func allowW(e uint32, user bool) bool { return permOK(e, true, user) }

func (c *CPU) setAD(addr, e uint32, write bool) {
	n := e | pteA
	if write {
		n |= pteD
	}
	if n != e {
		c.m.Write32(addr, n)
	}
}

// xlate translates lin for an access by the current privilege, raising #PF
// on failure, and fills the TLB.
func (c *CPU) xlate(lin uint32, write bool) uint32 {
	user := c.cpl == 3
	w, ok, ec := c.walk(lin, write, user, true)
	if !ok {
		c.pageFault(lin, ec)
	}
	if len(c.watches) == 0 || !c.pageWatched(lin) {
		u := 0
		if user {
			u = 1
		}
		pg := w.pa &^ 0xFFF
		e := tlbEntry{tag: lin>>12 + 1, pa: pg, global: w.global}
		c.tlbR[u][lin>>12&tlbMask] = e
		// code pages and watched pages (mem.Phys.Watch) take the
		// slow store path, through mem.Phys
		if w.writable && w.dirty && c.m.Code[pg>>12] == 0 && !c.m.Watched(pg) {
			c.tlbW[u][lin>>12&tlbMask] = e
		}
	}
	return w.pa
}

func (c *CPU) pageFault(lin, ec uint32) {
	c.cr2 = lin
	c.flt = Exit{Reason: ExitTrap, Vector: VecPF, ErrCode: ec, HasErr: true, CR2: lin}
	c.fltKind = fkFault // a page fault always restarts, whatever raised the last exit
	panic(faultSignal)
}

// Memory accessors by linear address. The fast paths are a TLB hit inside
// one page; everything else (misses, page-crossing accesses, watched pages,
// code pages for writes) goes through the slow paths.
//
// One compare checks both: the entry is chosen by the page of the first
// byte and its tag compared with the page of the last byte. They can only
// match when both bytes are in the same page, because two consecutive pages
// never share a TLB slot.

func (c *CPU) read8(lin uint32) uint8 {
	e := &c.rt[lin>>12&tlbMask]
	if e.tag == lin>>12+1 {
		return c.ld8(e.pa | lin&0xFFF)
	}
	return uint8(c.readSlow(lin, 1))
}

func (c *CPU) read16(lin uint32) uint16 {
	e := &c.rt[lin>>12&tlbMask]
	if e.tag == (lin+1)>>12+1 {
		p := e.pa | lin&0xFFF
		return c.ld16(p)
	}
	return uint16(c.readSlow(lin, 2))
}

func (c *CPU) read32(lin uint32) uint32 {
	e := &c.rt[lin>>12&tlbMask]
	if e.tag == (lin+3)>>12+1 {
		p := e.pa | lin&0xFFF
		return c.ld32(p)
	}
	return c.readSlow(lin, 4)
}

func (c *CPU) readN(lin uint32, size uint8) uint32 {
	switch size {
	case 1:
		return uint32(c.read8(lin))
	case 2:
		return uint32(c.read16(lin))
	}
	return c.read32(lin)
}

func (c *CPU) readSlow(lin uint32, n uint32) uint32 {
	if len(c.watches) > 0 {
		c.checkWatch(lin, n, WatchRead)
	}
	end := lin + n - 1
	if lin&^0xFFF == end&^0xFFF {
		pa := c.xlate(lin, false)
		switch n {
		case 1:
			return uint32(c.ram[pa])
		case 2:
			return uint32(binary.LittleEndian.Uint16(c.ram[pa : pa+2]))
		}
		return binary.LittleEndian.Uint32(c.ram[pa : pa+4])
	}
	// Page-crossing: translate both pages before touching either.
	pa1 := c.xlate(lin, false)
	pa2 := c.xlate(end&^0xFFF, false)
	var v uint32
	for i := uint32(0); i < n; i++ {
		a := lin + i
		var b byte
		if a&^0xFFF == lin&^0xFFF {
			b = c.ram[pa1+i]
		} else {
			b = c.ram[pa2+(a&0xFFF)]
		}
		v |= uint32(b) << (8 * i)
	}
	return v
}

func (c *CPU) write8(lin uint32, v uint8) {
	e := &c.wt[lin>>12&tlbMask]
	if e.tag == lin>>12+1 {
		c.st8(e.pa|lin&0xFFF, v)
		return
	}
	c.writeSlow(lin, 1, uint32(v))
}

func (c *CPU) write16(lin uint32, v uint16) {
	e := &c.wt[lin>>12&tlbMask]
	if e.tag == (lin+1)>>12+1 {
		p := e.pa | lin&0xFFF
		c.st16(p, v)
		return
	}
	c.writeSlow(lin, 2, uint32(v))
}

func (c *CPU) write32(lin uint32, v uint32) {
	e := &c.wt[lin>>12&tlbMask]
	if e.tag == (lin+3)>>12+1 {
		p := e.pa | lin&0xFFF
		c.st32(p, v)
		return
	}
	c.writeSlow(lin, 4, v)
}

func (c *CPU) writeN(lin uint32, size uint8, v uint32) {
	switch size {
	case 1:
		c.write8(lin, uint8(v))
	case 2:
		c.write16(lin, uint16(v))
	default:
		c.write32(lin, v)
	}
}

// probeW makes sure lin..lin+n-1 is writable (translating both pages of a
// crossing access) before an instruction commits anything: read-modify-write
// instructions fault with W=1 on read-only pages, as hardware does.
func (c *CPU) probeW(lin uint32, n uint32) {
	e := &c.wt[lin>>12&tlbMask]
	if e.tag == lin>>12+1 && lin&0xFFF <= 0x1000-n {
		return
	}
	c.xlate(lin, true)
	end := lin + n - 1
	if end&^0xFFF != lin&^0xFFF {
		c.xlate(end&^0xFFF, true)
	}
}

func (c *CPU) writeSlow(lin uint32, n uint32, v uint32) {
	end := lin + n - 1
	pa1 := c.xlate(lin, true)
	if lin&^0xFFF == end&^0xFFF {
		if len(c.watches) > 0 {
			c.checkWatch(lin, n, WatchWrite)
		}
		// Through mem.Phys so a code page's decode cache is dropped.
		switch n {
		case 1:
			c.m.Write8(pa1, uint8(v))
		case 2:
			c.m.Write16(pa1, uint16(v))
		default:
			c.m.Write32(pa1, v)
		}
		return
	}
	pa2 := c.xlate(end&^0xFFF, true)
	if len(c.watches) > 0 {
		c.checkWatch(lin, n, WatchWrite)
	}
	for i := uint32(0); i < n; i++ {
		a := lin + i
		b := uint8(v >> (8 * i))
		if a&^0xFFF == lin&^0xFFF {
			c.m.Write8(pa1+i, b)
		} else {
			c.m.Write8(pa2+(a&0xFFF), b)
		}
	}
}

// Translate maps lin through the current tables as a supervisor access,
// without side effects (no A/D update, no TLB fill).
func (c *CPU) Translate(lin uint32, write bool) (pa uint32, ok bool) {
	w, ok, _ := c.walk(lin, write, false, false)
	return w.pa, ok
}

// ReadVirt copies len(dst) bytes from linear address lin (via Translate).
func (c *CPU) ReadVirt(lin uint32, dst []byte) error {
	for i := 0; i < len(dst); {
		a := lin + uint32(i)
		pa, ok := c.Translate(a, false)
		if !ok {
			return &VirtError{Addr: a}
		}
		n := int(0x1000 - a&0xFFF)
		if n > len(dst)-i {
			n = len(dst) - i
		}
		if !c.m.ReadBytes(pa, dst[i:i+n]) {
			return &VirtError{Addr: a}
		}
		i += n
	}
	return nil
}

// WriteVirt copies src to linear address lin (via Translate, supervisor,
// no A/D update; like a debugger's poke it ignores R/W). The stores go through mem.Phys, so decoded code on the
// target pages is invalidated. Nothing is written unless every page of the
// range is mapped.
func (c *CPU) WriteVirt(lin uint32, src []byte) error {
	for i := 0; i < len(src); i += int(0x1000 - (lin+uint32(i))&0xFFF) {
		if _, ok := c.Translate(lin+uint32(i), false); !ok {
			return &VirtError{Addr: lin + uint32(i)}
		}
	}
	if len(src) > 0 {
		if _, ok := c.Translate(lin+uint32(len(src))-1, false); !ok {
			return &VirtError{Addr: lin + uint32(len(src)) - 1}
		}
	}
	for i := 0; i < len(src); {
		a := lin + uint32(i)
		pa, _ := c.Translate(a, false)
		n := int(0x1000 - a&0xFFF)
		if n > len(src)-i {
			n = len(src) - i
		}
		if !c.m.WriteBytes(pa, src[i:i+n]) {
			return &VirtError{Addr: a}
		}
		i += n
	}
	return nil
}

// VirtError reports a linear address with no translation.
type VirtError struct{ Addr uint32 }

func (e *VirtError) Error() string {
	return "cpu: linear address " + hex32(e.Addr) + " is not mapped"
}

func hex32(v uint32) string {
	const d = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 0; i < 8; i++ {
		b[9-i] = d[v>>(4*i)&0xF]
	}
	return string(b)
}
