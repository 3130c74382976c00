package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// The alias offsets come from the ELF's program headers: the same kernel
// linked at 0xC0000000 and at 0x80000000 gives the same load addresses.
func TestGdbinit(t *testing.T) {
	for _, po := range []string{"C0000000", "80000000"} {
		path, err := filepath.Abs(filepath.Join("..", "..", "hv", "symbols", "testdata", "vmlinux-"+po))
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if rc := realMain([]string{"gdbinit", "--gdb", "127.0.0.1:9", path}, nil, &out, &errb); rc != exitOK {
			t.Fatalf("rc %d: %s", rc, errb.String())
		}
		for _, want := range []string{
			"set architecture i386\n",
			"file " + path + "\n",
			"add-symbol-file " + path + " -s .text 0x1000000 -s .data 0x1001000 -s .bss 0x1002000\n",
			"target remote 127.0.0.1:9\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("PAGE_OFFSET %s: output lacks %q:\n%s", po, want, out.String())
			}
		}
	}
}

func TestGdbinitErrors(t *testing.T) {
	for _, args := range [][]string{
		{"gdbinit", "/nonexistent/vmlinux"},
		{"gdbinit", "a", "b"},
		{"gdbinit", "--bogus"},
		{"gdbinit", filepath.Join("..", "..", "hv", "boot", "testdata", "payload", "vmlinux.bin")}, // stripped
	} {
		var out, errb bytes.Buffer
		if rc := realMain(args, nil, &out, &errb); rc != exitUsage || strings.Count(errb.String(), "\n") != 1 || out.Len() != 0 {
			t.Errorf("%q: rc %d, stderr %q, stdout %q; want one line and exit %d", args, rc, errb.String(), out.String(), exitUsage)
		}
	}
}
