package virtio

import (
	"bytes"
	"maps"
)

// Block devices under time travel. The disk is outside guest memory, so a
// checkpoint of memory alone would travel back to an instant whose disk
// already holds the future's writes; a replay would then read them.
//
// The design: the backing file always shows the machine's present, the
// instant the debugger is at (writes still go through to it as they are
// serviced, so it is what the Launcher would leave), and history keeps the
// disk's past in memory, copy-on-write by disk page:
//
//   - base holds each disk page as it was before the Guest first wrote
//     it (read from the file at that first write; never changed after);
//   - live maps every page written so far to its present contents;
//   - a checkpoint (SaveDisk) shares live's map and pages: a later write
//     to a shared page makes a new one, and the map is cloned on the first
//     write after a checkpoint, so a checkpoint costs nothing when the
//     Guest wrote nothing and one page per page written otherwise;
//   - RestoreDisk rewrites, in the file, exactly the pages whose contents
//     differ between the present and the checkpoint (the checkpoint's page,
//     or base for a page it had not written yet), so the file shows the
//     instant travelled to, and a replay reads what the first run read.
//
// Going back and forward again therefore reproduces the same reads and
// leaves the same file. Reads keep coming from the file (it is the
// present). A read-only disk is never written, so its history is empty.

// diskPageSize is the unit of the disk's copy-on-write: a memory page of
// eight sectors.
const diskPageSize = 4096

type diskPage struct {
	b   []byte
	gen uint64 // the generation it was made in; older pages are shared
}

type diskHistory struct {
	base       map[int64][]byte
	live       map[int64]*diskPage
	liveShared bool   // live is a checkpoint's map too: clone before writing
	gen        uint64 // pages of an older generation belong to a checkpoint
	newBytes   int64  // page bytes made since the last checkpoint
}

// DiskState is a block device at one instant: the pages written so far
// and the request counters.
type DiskState struct {
	pages                  map[int64]*diskPage
	reads, writes, flushes uint64
	// New is the bytes of disk pages this state added to history.
	New int64
}

// Record starts keeping the disk's history (SaveDisk, RestoreDisk). Host
// goroutine, before the Guest runs.
func (blk *Block) Record() {
	if blk.hist == nil {
		blk.hist = &diskHistory{base: map[int64][]byte{}, live: map[int64]*diskPage{}}
	}
}

// pageLen is the length of disk page i (the last may be short).
func (blk *Block) pageLen(i int64) int {
	return int(min(diskPageSize, blk.size-i*diskPageSize))
}

// readPage reads disk page i from the file; what cannot be read stays 0.
func (blk *Block) readPage(i int64) []byte {
	p := make([]byte, blk.pageLen(i))
	blk.f.ReadAt(p, i*diskPageSize)
	return p
}

// writeAt is the one write to the backing file a request makes: through
// to the file, and into the live pages when history is on.
func (blk *Block) writeAt(p []byte, off int64) error {
	hs := blk.hist
	if hs == nil || len(p) == 0 {
		_, err := blk.f.WriteAt(p, off)
		return err
	}
	first, last := off/diskPageSize, (off+int64(len(p))-1)/diskPageSize
	for i := first; i <= last; i++ {
		if _, ok := hs.base[i]; !ok {
			hs.base[i] = blk.readPage(i)
		}
	}
	_, err := blk.f.WriteAt(p, off)
	if hs.liveShared {
		hs.live = maps.Clone(hs.live)
		hs.liveShared = false
	}
	for i := first; i <= last; i++ {
		pg := hs.live[i]
		if pg == nil || pg.gen != hs.gen {
			old := hs.base[i]
			if pg != nil {
				old = pg.b
			}
			pg = &diskPage{b: append([]byte(nil), old...), gen: hs.gen}
			hs.live[i] = pg
			hs.newBytes += int64(len(pg.b))
		}
		if err != nil {
			// How much reached the file is unknown: take the page
			// from there.
			copy(pg.b, blk.readPage(i))
			continue
		}
		lo := i * diskPageSize
		s, e := max(off, lo), min(off+int64(len(p)), lo+int64(len(pg.b)))
		if s < e {
			copy(pg.b[s-lo:e-lo], p[s-off:e-off])
		}
	}
	return err
}

// SaveDisk saves the disk as it is now: the request counters alone when
// not recording.
func (blk *Block) SaveDisk() *DiskState {
	hs := blk.hist
	if hs == nil {
		return &DiskState{reads: blk.Reads, writes: blk.Writes, flushes: blk.Flushes}
	}
	s := &DiskState{pages: hs.live, reads: blk.Reads, writes: blk.Writes, flushes: blk.Flushes, New: hs.newBytes}
	hs.liveShared = true
	hs.gen++
	hs.newBytes = 0
	return s
}

// RestoreDisk brings the disk back to s: the file's pages that differ are
// rewritten, and the pages become s's (shared until the next write). The
// error is the file's; the live pages follow s whatever it says.
func (blk *Block) RestoreDisk(s *DiskState) error {
	blk.Reads, blk.Writes, blk.Flushes = s.reads, s.writes, s.flushes
	hs := blk.hist
	if hs == nil {
		return nil
	}
	var firstErr error
	for i, orig := range hs.base {
		want, have := orig, orig
		if pg := s.pages[i]; pg != nil {
			want = pg.b
		}
		if pg := hs.live[i]; pg != nil {
			have = pg.b
		}
		if &want[0] == &have[0] || bytes.Equal(want, have) {
			continue
		}
		if _, err := blk.f.WriteAt(want, i*diskPageSize); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	hs.live, hs.liveShared = s.pages, true
	hs.gen++
	return firstErr
}
