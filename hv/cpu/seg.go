package cpu

// Segmentation (spec §6): descriptor caches loaded from the Host-owned live
// GDT (32 entries, limit 0xFF, no LDT). The live GDT is read-only to the
// Guest and every descriptor already has its accessed bit set (the Host's
// fixup), so loads never write descriptor memory.

// Descriptor type bits in Segment.Access.
const (
	accA    = 1 << 0 // accessed
	accRW   = 1 << 1 // data: writable; code: readable
	accEC   = 1 << 2 // data: expand-down; code: conforming
	accCode = 1 << 3
	accS    = 1 << 4 // code/data (not system)
	accP    = 1 << 7
	accDB   = 1 << 14
	accG    = 1 << 15
)

func (s *Segment) dpl() int { return int(s.Access>>5) & 3 }

// decodeDesc turns a raw 8-byte descriptor into a cache entry.
func decodeDesc(sel uint16, d uint64) Segment {
	lo, hi := uint32(d), uint32(d>>32)
	base := lo>>16 | (hi&0xFF)<<16 | hi&0xFF000000
	limit := lo&0xFFFF | hi&0xF0000
	if hi&(1<<23) != 0 {
		limit = limit<<12 | 0xFFF
	}
	acc := uint16(hi>>8&0xFF) | uint16(hi>>20&0xF)<<12
	return Segment{Sel: sel, Base: base, Limit: limit, Access: acc, Valid: true}
}

// setSegCache installs a descriptor cache and the derived fast-path flags.
func (c *CPU) setSegCache(s SReg, seg Segment) {
	if s == CS {
		c.gen++
	}
	c.seg[s] = seg
	c.sbase[s] = seg.Base
	// The flat fast path needs no limit or type check: a present, valid,
	// expand-up segment with a 4 GiB limit that allows the access.
	flat := seg.Valid && seg.Limit == 0xFFFFFFFF && seg.Access&accP != 0 && seg.Access&accS != 0
	code := seg.Access&accCode != 0
	expDown := !code && seg.Access&accEC != 0
	c.schkR[s] = !(flat && !expDown && (!code || seg.Access&accRW != 0))
	c.schkW[s] = !(flat && !expDown && !code && seg.Access&accRW != 0)
	c.flatData = 0
	if c.plainData(DS) && c.plainData(ES) && c.plainData(SS) {
		c.flatData = 1
	}
}

// plainData: segment s needs no checks and adds nothing to an offset.
func (c *CPU) plainData(s SReg) bool { return !c.schkR[s] && !c.schkW[s] && c.sbase[s] == 0 }

// segFault raises the fault for a bad access through segment s: #SS(0) for
// the stack segment, #GP(0) otherwise.
func (c *CPU) segFault(s uint8) {
	if s == uint8(SS) {
		c.raise(VecSS, 0, true)
	}
	c.raise(VecGP, 0, true)
}

// segCheck performs the protected-mode checks of an n-byte access at
// offset off through segment s (SDM Vol.3 5.3, 5.5).
func (c *CPU) segCheck(s uint8, off, n uint32, write bool) {
	seg := &c.seg[s]
	if !seg.Valid {
		c.segFault(s)
	}
	code := seg.Access&accCode != 0
	if write && (code || seg.Access&accRW == 0) {
		c.segFault(s)
	}
	if !write && code && seg.Access&accRW == 0 {
		c.segFault(s)
	}
	end := off + n - 1
	if !code && seg.Access&accEC != 0 {
		upper := uint32(0xFFFF)
		if seg.Access&accDB != 0 {
			upper = 0xFFFFFFFF
		}
		if off <= seg.Limit || end > upper || end < off {
			c.segFault(s)
		}
		return
	}
	if end < off || end > seg.Limit {
		c.segFault(s)
	}
}

// linR / linW turn a segment:offset into a linear address for an n-byte
// read or write, with the segment checks when the segment is not flat.
func (c *CPU) linR(s uint8, off, n uint32) uint32 {
	if c.schkR[s&7] {
		c.segCheck(s, off, n, false)
	}
	return c.sbase[s&7] + off
}

func (c *CPU) linW(s uint8, off, n uint32) uint32 {
	if c.schkW[s&7] {
		c.segCheck(s, off, n, true)
	}
	return c.sbase[s&7] + off
}

// fetchDesc reads the descriptor for sel from the live GDT, raising #GP(sel)
// for an LDT selector (there is no LDT, spec §6) or an index beyond the
// 32-entry table (limit 0xFF). excVec overrides the vector (e.g. #TS).
func (c *CPU) fetchDesc(sel uint16, vec int) uint64 {
	if sel&4 != 0 || int(sel>>3) >= len(c.gdt) {
		c.raise(vec, uint32(sel&0xFFFC), true)
	}
	return c.gdt[sel>>3]
}

// loadSegChecked is MOV/POP Sreg, LDS..., and the Switcher's pops: all the
// checks of SDM "MOV — Move to segment register" for protected mode, at
// privilege cpl. It returns the cache to install (it does not install it,
// so callers can order their side effects).
func (c *CPU) loadSegChecked(s SReg, sel uint16, cpl int) Segment {
	rpl := int(sel & 3)
	if sel&^3 == 0 {
		if s == SS || s == CS {
			c.raise(VecGP, 0, true)
		}
		// A null selector marks the register unusable; a later access
		// through it is #GP(0).
		return Segment{Sel: sel}
	}
	d := c.fetchDesc(sel, VecGP)
	seg := decodeDesc(sel, d)
	errc := uint32(sel & 0xFFFC)
	if seg.Access&accS == 0 {
		c.raise(VecGP, errc, true)
	}
	code := seg.Access&accCode != 0
	dpl := seg.dpl()
	switch s {
	case SS:
		if code || seg.Access&accRW == 0 || rpl != cpl || dpl != cpl {
			c.raise(VecGP, errc, true)
		}
		if seg.Access&accP == 0 {
			c.raise(VecSS, errc, true)
		}
	case CS:
		if !code {
			c.raise(VecGP, errc, true)
		}
		if seg.Access&accEC != 0 {
			if dpl > rpl {
				c.raise(VecGP, errc, true)
			}
		} else if dpl != rpl {
			c.raise(VecGP, errc, true)
		}
		if seg.Access&accP == 0 {
			c.raise(VecNP, errc, true)
		}
	default:
		if code && seg.Access&accRW == 0 {
			c.raise(VecGP, errc, true)
		}
		if !code || seg.Access&accEC == 0 {
			if rpl > dpl || cpl > dpl {
				c.raise(VecGP, errc, true)
			}
		}
		if seg.Access&accP == 0 {
			c.raise(VecNP, errc, true)
		}
	}
	return seg
}

// LoadSeg loads a segment register from the live GDT with every
// protected-mode check, as the Switcher's pops and iret do on guest entry
// (spec §9.4). For CS the new CPL is the selector's RPL. On failure nothing
// changes and the fault is returned.
func (c *CPU) LoadSeg(s SReg, sel uint16) (vector int, errcode uint32, ok bool) {
	if s < ES || s > GS {
		return VecGP, 0, false
	}
	cpl := c.cpl
	if s == CS {
		cpl = int(sel & 3)
	}
	var seg Segment
	if f := c.try(func() { seg = c.loadSegChecked(s, sel, cpl) }); f != nil {
		return f.Vector, f.ErrCode, false
	}
	c.setSegCache(s, seg)
	if s == CS {
		c.setCPL(int(sel & 3))
	}
	return 0, 0, true
}

// writeSeg loads a data/stack segment register from an instruction (MOV,
// POP, LDS...). Loading SS inhibits nothing here: interrupts are never
// delivered between instructions inside a block anyway.
func (c *CPU) writeSeg(s SReg, sel uint16) {
	if s == CS {
		c.raise(VecUD, 0, false)
	}
	seg := c.loadSegChecked(s, sel, c.cpl)
	c.setSegCache(s, seg)
}

// nullInvalidSegs is the RETF/IRET rule for a return to an outer ring: a
// data segment register whose descriptor is not valid at the new CPL
// (data or non-conforming code with DPL < CPL) is loaded with null.
func (c *CPU) nullInvalidSegs() {
	for _, s := range [4]SReg{ES, DS, FS, GS} {
		seg := &c.seg[s]
		if !seg.Valid {
			continue
		}
		conforming := seg.Access&accCode != 0 && seg.Access&accEC != 0
		if !conforming && seg.dpl() < c.cpl {
			c.setSegCache(s, Segment{})
		}
	}
}
