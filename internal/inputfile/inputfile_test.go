package inputfile

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte{'k'}, n), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(write("target", 10), link); err != nil {
		t.Fatal(err)
	}
	devLink := filepath.Join(dir, "zero-link")
	if err := os.Symlink("/dev/zero", devLink); err != nil {
		t.Fatal(err)
	}
	const limit = 1000
	cases := []struct {
		name    string
		path    string
		wantLen int
		wantErr error  // nil: success
		wantMsg string // in the error text
	}{
		{"regular file", write("small", 100), 100, nil, ""},
		{"empty file", write("empty", 0), 0, nil, ""},
		{"exactly the limit", write("exact", limit), limit, nil, ""},
		{"one byte over", write("over", limit+1), 0, ErrTooLarge, "over the 1000 bytes limit"},
		{"far over", write("big", 3<<20), 0, ErrTooLarge, "3 MiB"},
		{"symlink to a regular file", link, 10, nil, ""},
		{"/dev/zero", "/dev/zero", 0, ErrNotRegular, "/dev/zero is a character device, not a regular file"},
		{"/dev/urandom", "/dev/urandom", 0, ErrNotRegular, "character device"},
		{"symlink to /dev/zero", devLink, 0, ErrNotRegular, "character device"},
		{"FIFO", fifo, 0, ErrNotRegular, "is a FIFO"},
		{"socket", sock, 0, ErrNotRegular, "is a socket"},
		{"directory", dir, 0, ErrNotRegular, "is a directory"},
		{"missing", filepath.Join(dir, "nope"), 0, fs.ErrNotExist, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			type res struct {
				b   []byte
				err error
			}
			done := make(chan res, 1)
			go func() {
				b, err := Read(c.path, limit)
				done <- res{b, err}
			}()
			var r res
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("Read(%s) has not returned after 30s", c.path)
			}
			if c.wantErr == nil {
				if r.err != nil || len(r.b) != c.wantLen {
					t.Fatalf("got %d bytes, %v; want %d bytes", len(r.b), r.err, c.wantLen)
				}
				return
			}
			if !errors.Is(r.err, c.wantErr) {
				t.Fatalf("error %v, want %v", r.err, c.wantErr)
			}
			if msg := r.err.Error(); !strings.Contains(msg, c.wantMsg) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line containing %q", msg, c.wantMsg)
			}
			if r.b != nil {
				t.Fatalf("%d bytes returned with the error", len(r.b))
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {1000, "1000 bytes"}, {4096, "4 KiB"}, {256 << 20, "256 MiB"},
		{3<<20 + 1<<19, "3.5 MiB"}, {1 << 30, "1 GiB"}, {5 << 30, "5 GiB"},
	} {
		if got := sizeString(c.n); got != c.want {
			t.Errorf("sizeString(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(disk, make([]byte, 8192), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	f, st, err := Open(disk, os.O_RDWR)
	if err != nil || st.Size() != 8192 {
		t.Fatalf("Open(disk): %v, %v", st, err)
	}
	if _, err := f.WriteAt([]byte("x"), 4096); err != nil {
		t.Errorf("writing the opened disk: %v", err)
	}
	f.Close()
	for _, p := range []string{"/dev/zero", fifo, dir} {
		for _, flag := range []int{os.O_RDONLY, os.O_RDWR} {
			done := make(chan error, 1)
			go func() {
				f, _, err := Open(p, flag)
				if f != nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrNotRegular) {
					t.Errorf("Open(%s, %d): %v, want ErrNotRegular", p, flag, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("Open(%s) has not returned after 30s", p)
			}
		}
	}
}
