package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Plain --rng reads crypto/rand, the one input that differs run to run (the
// reproducible form is --rng=seed:N, which TestGuestsThroughTheCLI/vrng
// checks byte for byte): two runs must both pass and see different bytes.
func TestRNGFromCryptoRand(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	img := filepath.Join(guestDir, "vrng.bzImage")
	bytesOf := func() string {
		r := lgdbg(t, "-q", "-m", "32M", "--rng", img)
		if r.code != 0 || !strings.Contains(r.stdout, "vrng: PASS") {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		var b strings.Builder
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, "vrng: chain ") || strings.HasPrefix(l, "vrng: single ") {
				b.WriteString(l + "\n")
			}
		}
		return b.String()
	}
	a, b := bytesOf(), bytesOf()
	if strings.Count(a, "\n") != 4 || a == b {
		t.Fatalf("two crypto/rand runs:\n%s\n%s", a, b)
	}
	if strings.Contains(a, "6ae6783f4fbde91b6eb88b73a48ed247") {
		t.Fatal("plain --rng gave the seed:1 stream")
	}
}

// The devices go on the bus in command-line order before the console
// (spec §2.7): with --block and --rng the rng is device 1, so vrng, which
// wants its rng first, fails; with the order swapped it passes.
func TestDeviceOrderIsCommandLineOrder(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	disk := filepath.Join(t.TempDir(), "d.img")
	if err := writeZeros(disk, 64<<10); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(guestDir, "vrng.bzImage")
	r := lgdbg(t, "-q", "-m", "32M", "--block", disk, "--rng=seed:1", img)
	if r.code != 1 || !strings.Contains(r.stdout, "vrng: device 1: type 4") ||
		!strings.Contains(r.stdout, "FAIL: rng at 1") {
		t.Fatalf("block first: exit %d stdout %q", r.code, r.stdout)
	}
	r = lgdbg(t, "-q", "-m", "32M", "--rng=seed:1", "--block", disk, img)
	if r.code != 0 || !strings.Contains(r.stdout, "vrng: device 1: type 2") || !strings.Contains(r.stdout, "vrng: PASS") {
		t.Fatalf("rng first: exit %d stdout %q", r.code, r.stdout)
	}
}

func writeZeros(path string, n int) error { return os.WriteFile(path, make([]byte, n), 0o644) }

// A bzImage that says nothing about PAE (like a real kernel) runs in the
// mode its first page table shows; a forced mode it contradicts is one
// line on stderr, not an unexplained trap.
func TestPAEFoundByItself(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	for _, c := range []struct {
		guest, flag, want string
		code              int
	}{
		{"boot-pae-nohint", "", "boot-pae-nohint: PASS", 0},
		{"boot-nohint", "", "boot-nohint: PASS", 0},
		{"boot-pae-nohint", "--no-pae", "guest killed: the guest built a PAE page table; rerun with --pae", 1},
		{"boot-nohint", "--pae", "guest killed: the guest built a non-PAE page table; rerun with --no-pae", 1},
	} {
		t.Run(c.guest+c.flag, func(t *testing.T) {
			args := []string{"-m", "32M"}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			r := lgdbg(t, append(args, filepath.Join(guestDir, c.guest+".bzImage"))...)
			if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
				t.Fatalf("exit %d, want %d and %q\nstdout %q\nstderr %q", r.code, c.code, c.want, r.stdout, r.stderr)
			}
		})
	}
}
