package virtio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Virtio block constants (include/uapi/linux/virtio_blk.h).
const (
	BlkFSegMax = 2 // VIRTIO_BLK_F_SEG_MAX: config.seg_max is valid
	BlkFRO     = 5 // VIRTIO_BLK_F_RO: the disk is read-only
	BlkFFlush  = 9 // VIRTIO_BLK_F_FLUSH (a.k.a. WCE): VIRTIO_BLK_T_FLUSH is honoured

	BlkTIn      = 0 // VIRTIO_BLK_T_IN: read
	BlkTOut     = 1 // VIRTIO_BLK_T_OUT: write
	BlkTSCSICmd = 2 // VIRTIO_BLK_T_SCSI_CMD
	BlkTFlush   = 4 // VIRTIO_BLK_T_FLUSH

	BlkSOK     = 0 // VIRTIO_BLK_S_OK
	BlkSIOErr  = 1 // VIRTIO_BLK_S_IOERR
	BlkSUnsupp = 2 // VIRTIO_BLK_S_UNSUPP

	// SectorSize is the unit of virtio_blk_outhdr.sector and
	// config.capacity, whatever the backing file's block size.
	SectorSize = 512

	blkOutHdr = 16 // struct virtio_blk_outhdr { u32 type; u32 ioprio; u64 sector; }
	// blkConfigLen is offsetof(struct virtio_blk_config, geometry): the
	// Launcher sets only capacity, size_max and seg_max ("we have 8 bit
	// limit" on config_len).
	blkConfigLen = 16
)

// BlockFile is what a block device is backed by: an *os.File in the CLI,
// anything with the same methods in tests.
type BlockFile interface {
	io.ReaderAt
	io.WriterAt
	// Sync is fdatasync: the Guest's FLUSH and the end of the run.
	Sync() error
}

// Block is the virtio block device (type 2) as the 3.x Launcher's
// setup_block_file and blk_request build it: one request queue, features
// FLUSH and SEG_MAX, config capacity/size_max/seg_max. Writes go to the
// backing file as they are serviced (so they are in the Host's page cache
// the moment the Guest sees them used, and survive a Guest crash); FLUSH
// and Close also Sync it.
type Block struct {
	t    Transport
	f    BlockFile
	size int64 // vblk->len: the file's length at setup, never grown
	ro   bool
	// modern is the 4.x Launcher's virtio 1.0 blk_request: the header is
	// consumed from the front of the readable bytes and the status is the
	// last byte of the last non-empty writable segment, however the
	// Guest split its buffers (4.x spec §4). Otherwise the 3.x rules: the
	// header and the status byte are descriptors of their own.
	modern bool

	// Stats for the UI and the tests.
	Reads, Writes, Flushes uint64

	// hist is the disk's past for time travel (blockhist.go); nil when
	// history is off.
	hist *diskHistory
}

// blkQueue is the request queue's index.
const blkQueue = 0

// AddBlock adds a block device over f, whose length is size bytes (the
// Launcher's lseek(fd, 0, SEEK_END)). Add it before the console: the
// Launcher creates command-line devices first (spec §2.7). With ro the
// device also offers VIRTIO_BLK_F_RO and refuses writes (an lgdbg option;
// the Launcher always opened the file O_RDWR).
func (b *Bus) AddBlock(f BlockFile, size int64, ro bool) (*Block, error) {
	if f == nil {
		return nil, errors.New("virtio: block: no backing file")
	}
	if size < 0 {
		return nil, fmt.Errorf("virtio: block: negative size %d", size)
	}
	blk, features, cfg := NewBlock(f, size, ro, false)
	d, err := b.addDevice("block", TypeBlock, 1, features, cfg, blk)
	if err != nil {
		return nil, err
	}
	blk.t = d
	return blk, nil
}

// NewBlock is the block device for another transport (hv/pci, modern =
// the 4.x Launcher's request parsing): it returns the handler, the feature
// bits to offer and the config bytes (the 3.x Launcher's 16; a modern
// transport may extend them). Call Attach before the Guest can reach it.
func NewBlock(f BlockFile, size int64, ro, modern bool) (*Block, []uint, []byte) {
	blk := &Block{f: f, size: size, ro: ro, modern: modern}
	features := []uint{BlkFSegMax, BlkFFlush}
	if ro {
		features = append(features, BlkFRO)
	}
	cfg := make([]byte, blkConfigLen)
	// conf.capacity = len / 512: a partial last sector is invisible.
	binary.LittleEndian.PutUint64(cfg[0:], uint64(size)/SectorSize)
	// size_max stays 0 (the Launcher does not offer SIZE_MAX); two of the
	// ring's descriptors are the header and the status byte.
	binary.LittleEndian.PutUint32(cfg[12:], QueueNum-2)
	return blk, features, cfg
}

// Attach sets the transport whose queue 0 carries the requests.
func (blk *Block) Attach(t Transport) { blk.t = t }

// Capacity is the size the Guest sees, in 512-byte sectors.
func (blk *Block) Capacity() uint64 { return uint64(blk.size) / SectorSize }

// ReadOnly reports whether the device was added read-only.
func (blk *Block) ReadOnly() bool { return blk.ro }

// blkStatus is the status byte for a request whose file operation
// returned err.
func blkStatus(err error) byte {
	if err != nil {
		return BlkSIOErr
	}
	return BlkSOK
}

// Close syncs the backing file (the Launcher's exit leaves the data in the
// page cache; we also ask for it on disk). It does not close f: the caller
// opened it.
func (blk *Block) Close() error { return blk.f.Sync() }

func (blk *Block) Kick(qi int) error {
	if qi != blkQueue {
		return fmt.Errorf("virtio: block has no queue %d", qi)
	}
	q := blk.t.Queue(blkQueue)
	if q == nil {
		return nil
	}
	request := blk.request
	if blk.modern {
		request = blk.requestModern
	}
	if err := q.Serve(func(ch Chain) (uint32, error) { return request(q, ch) }); err != nil {
		return err
	}
	// wait_for_vq_desc triggers the interrupt for what it used before it
	// sleeps on an empty ring.
	blk.t.Trigger(blkQueue)
	return nil
}

// request is the 3.x Launcher's blk_request for one chain: it returns the
// used length (the status byte plus what a read stored) or the fatal
// message that kills the Guest.
func (blk *Block) request(q *Queue, ch Chain) (uint32, error) {
	// "Every block request should contain at least one output buffer
	// (detailing the location on disk and the type of request) and one
	// input buffer (to hold the result)."
	if len(ch.Out) == 0 || len(ch.In) == 0 {
		return 0, fmt.Errorf("Bad virtblk cmd %d out=%d in=%d", ch.Head, len(ch.Out), len(ch.In))
	}
	// convert(&iov[0], struct virtio_blk_outhdr) and
	// convert(&iov[out+in-1], u8): exact sizes, natural alignment (i386:
	// 4 for the header). Guest memory is page-aligned in the Launcher, so
	// a host pointer's alignment is the gpa's; we print the gpa.
	hdr, status := ch.Out[0], ch.In[len(ch.In)-1]
	if hdr.Len != blkOutHdr {
		return 0, fmt.Errorf("Bad iovec size %d for struct virtio_blk_outhdr", hdr.Len)
	}
	if hdr.Addr%4 != 0 {
		return 0, fmt.Errorf("Bad alignment %s for struct virtio_blk_outhdr", cHex(uint64(hdr.Addr)))
	}
	if status.Len != 1 {
		return 0, fmt.Errorf("Bad iovec size %d for u8", status.Len)
	}
	h := q.Bytes(hdr)
	typ := binary.LittleEndian.Uint32(h[0:])
	sector := binary.LittleEndian.Uint64(h[8:])
	// off64_t off = sector * 512: the multiplication wraps in C and a
	// negative offset makes lseek64 fail ("Bad seek").
	off := int64(sector * SectorSize)
	badSeek := sector > math.MaxInt64/SectorSize
	setStatus := func(s byte) { q.m.Write8(status.Addr, s) }

	switch {
	case typ&BlkTSCSICmd != 0:
		// "It'd be nice if we supported eject, for example, but we don't."
		blk.t.Warn("Scsi commands unsupported")
		setStatus(BlkSUnsupp)
		return 1, nil
	case typ&BlkTOut != 0:
		if badSeek {
			return 0, fmt.Errorf("Bad seek to sector %d", sector)
		}
		if blk.ro {
			// lgdbg's read-only disk: the file is never touched. The
			// Guest was offered VIRTIO_BLK_F_RO, so a well-behaved one
			// never gets here.
			setStatus(BlkSIOErr)
			return 1, nil
		}
		blk.Writes++
		n, werr := blk.write(q, ch.Out[1:], off)
		// "Grr... Now we know how long the descriptor they sent was, we
		// make sure they didn't try to write over the end of the block
		// file": the Launcher writes, truncates back and dies. We write
		// only the part that fits, which leaves the same file.
		if n > 0 && off+n > blk.size {
			return 0, fmt.Errorf("Write past end %d+%d", off, n)
		}
		setStatus(blkStatus(werr))
		return 1, nil
	case typ&BlkTFlush != 0:
		blk.Flushes++
		setStatus(blkStatus(blk.f.Sync()))
		return 1, nil
	default:
		// A read: every type without the OUT, SCSI and FLUSH bits (so
		// GET_ID, 8, reads sectors too, as in the 3.x Launcher).
		if badSeek {
			return 0, fmt.Errorf("Bad seek to sector %d", sector)
		}
		blk.Reads++
		// readv(fd, iov+1, in_num-1): the writable segments before the
		// status byte. The Launcher's iov+1 assumes a single out
		// segment; we use the in segments whatever the out count.
		n, rerr := blk.read(q, ch.In[:len(ch.In)-1], off)
		if rerr != nil {
			setStatus(BlkSIOErr)
			return 1, nil
		}
		setStatus(BlkSOK)
		return 1 + uint32(n), nil
	}
}

// write is writev at off over the readable segments after the header,
// stopping at the end of the file (see request). It returns the bytes the
// Guest asked to write up to the first failure, as writev's ret would be.
func (blk *Block) write(q *Queue, segs []Seg, off int64) (int64, error) {
	var n int64
	for _, s := range segs {
		p := q.Bytes(s)
		if room := blk.size - (off + n); int64(len(p)) > room {
			if room > 0 {
				if err := blk.writeAt(p[:room], off+n); err != nil {
					return n, err
				}
			}
			n += int64(len(p)) // counted as written: the caller reports past-end
			continue
		}
		if err := blk.writeAt(p, off+n); err != nil {
			return n, err
		}
		n += int64(len(p))
	}
	return n, nil
}

// read is readv at off into segs: short at the end of the file (a read past
// the end stores nothing and succeeds, as readv does).
func (blk *Block) read(q *Queue, segs []Seg, off int64) (int64, error) {
	var n int64
	buf := make([]byte, 0, 64<<10)
	for _, s := range segs {
		for done := uint32(0); done < s.Len; {
			k := min(s.Len-done, uint32(cap(buf)))
			avail := blk.size - (off + n)
			if avail <= 0 {
				return n, nil
			}
			k = uint32(min(int64(k), avail))
			got, err := blk.f.ReadAt(buf[:k], off+n)
			if got > 0 {
				q.m.WriteBytes(s.Addr+done, buf[:got])
				n += int64(got)
				done += uint32(got)
			}
			if err == io.EOF || (err == nil && got == 0) {
				return n, nil
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (blk *Block) Poll() error { return nil }

func (blk *Block) Reset() {}

// requestModern is the 4.x Launcher's blk_request (virtio 1.0): the
// 16-byte header is iov_consume'd from the front of the readable segments,
// the status byte is the last byte of the last non-empty writable segment,
// and what is left of each side is the data. There are no SCSI commands.
// The fatal texts follow the 4.x Launcher's bad_driver ("block: bad
// driver: ..."); the 4.x spec does not pin their wording.
func (blk *Block) requestModern(q *Queue, ch Chain) (uint32, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("block: bad driver: "+format, args...)
	}
	out := append([]Seg(nil), ch.Out...)
	var hdr [blkOutHdr]byte
	need := hdr[:]
	for len(need) > 0 {
		if len(out) == 0 {
			return 0, bad("iovec too short!")
		}
		b := q.Bytes(out[0])
		k := copy(need, b)
		need = need[k:]
		out[0].Addr += uint32(k)
		out[0].Len -= uint32(k)
		if out[0].Len == 0 {
			out = out[1:]
		}
	}
	in := append([]Seg(nil), ch.In...)
	status := -1
	for i := len(in) - 1; i >= 0; i-- {
		if in[i].Len > 0 {
			status = i
			break
		}
	}
	if status < 0 {
		return 0, bad("Bad virtblk cmd with no room for status")
	}
	statusAddr := in[status].Addr + in[status].Len - 1
	in[status].Len--
	typ := binary.LittleEndian.Uint32(hdr[0:])
	sector := binary.LittleEndian.Uint64(hdr[8:])
	off := int64(sector * SectorSize)
	badSeek := sector > math.MaxInt64/SectorSize
	setStatus := func(s byte) { q.m.Write8(statusAddr, s) }
	switch {
	case typ&BlkTOut != 0:
		if badSeek {
			return 0, fmt.Errorf("Bad seek to sector %d", sector)
		}
		if blk.ro {
			setStatus(BlkSIOErr)
			return 1, nil
		}
		blk.Writes++
		n, werr := blk.write(q, out, off)
		if n > 0 && off+n > blk.size {
			return 0, bad("Write past end %d+%d", off, n)
		}
		setStatus(blkStatus(werr))
		return 1, nil
	case typ&BlkTFlush != 0:
		blk.Flushes++
		setStatus(blkStatus(blk.f.Sync()))
		return 1, nil
	default:
		if badSeek {
			return 0, fmt.Errorf("Bad seek to sector %d", sector)
		}
		blk.Reads++
		n, rerr := blk.read(q, in, off)
		if rerr != nil {
			setStatus(BlkSIOErr)
			return 1, nil
		}
		setStatus(BlkSOK)
		return 1 + uint32(n), nil
	}
}
