// Package inputfile reads the files a user names on lgdbg's command line
// (the kernel image, --initrd, --symbols, block device images) with one set
// of rules: regular files only, and no more than a stated limit.
//
// Both rules exist because a typo must not hang or exhaust the machine:
// /dev/zero and /dev/urandom report a size of 0 and never end, a FIFO blocks
// the open until someone writes to it, and a multi-GiB disk image named
// where a kernel was meant would be read into memory in full.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular: the path names a device, FIFO, socket or directory.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge: the file holds more bytes than the caller's limit.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of the regular file at path, refusing anything
// else and any file longer than limit bytes. Errors are one line and name
// the path.
func Read(path string, limit int64) ([]byte, error) {
	// Look before opening: opening a socket fails with a baffling "no
	// such device or address", and the message should say what it is.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	// O_NONBLOCK so that opening a FIFO returns at once instead of waiting
	// for a writer; it has no effect on the regular files we go on to read.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// fstat the descriptor we opened, not the path, so a file swapped in
	// between the check and the read cannot slip past it.
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	// The file may grow after the fstat (a log, a file being copied in):
	// read at most one byte past the limit to notice without buffering it.
	b, err := readAll(io.LimitReader(f, limit+1), min(st.Size(), limit)+1)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s grew past the %s limit while being read: %w", path, sizeString(limit), ErrTooLarge)
	}
	return b, nil
}

// Open opens the regular file at path with flag (os.O_RDONLY, os.O_RDWR)
// for a caller that keeps it open rather than reading it whole: a --block
// disk image. Devices, FIFOs, sockets and directories are refused as by
// Read, without blocking; there is no size limit.
func Open(path string, flag int) (*os.File, fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if err := check(path, st, st.Size()); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := check(path, st, st.Size()); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

func check(path string, st fs.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, %w", path, describeMode(st.Mode()), ErrNotRegular)
	}
	if st.Size() > limit {
		return fmt.Errorf("%s is %s, over the %s limit: %w", path, sizeString(st.Size()), sizeString(limit), ErrTooLarge)
	}
	return nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// sizeString prints n in the unit a person would use for it.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		if n%(1<<20) == 0 {
			return fmt.Sprintf("%d MiB", n>>20)
		}
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readAll is io.ReadAll into a buffer made for the size fstat gave (one
// byte more, to see EOF without growing): io.ReadAll starts at 512 bytes
// and copies the image over and over as it doubles.
func readAll(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // the file grew: room for more
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
