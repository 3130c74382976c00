// Package e2e drives lgdbg the way a user does: the real binary as a
// subprocess, the test guests built from source, the console on stdout, the
// exit status, and the JSONL trace compared with golden files.
//
// Regenerate the golden traces after an intended change with
//
//	go test ./tests/e2e -update
package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lgdbg/lgdbg/tests/guests"
)

var update = flag.Bool("update", false, "rewrite the golden traces in testdata/")

var (
	lgdbgBin  string // the CLI under test
	guestDir  string // built guests
	setupSkip string // why the suite cannot run here
)

func TestMain(m *testing.M) {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "lgdbg-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lgdbgBin = filepath.Join(tmp, "lgdbg")
	if out, err := exec.Command("go", "build", "-o", lgdbgBin, "github.com/lgdbg/lgdbg/cmd/lgdbg").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building lgdbg: %v\n%s", err, out)
		os.Exit(1)
	}
	guestDir = filepath.Join(tmp, "guests")
	if err := guests.Build(guestDir); err != nil {
		if errors.Is(err, guests.ErrNoToolchain) {
			setupSkip = err.Error()
		} else {
			fmt.Fprintf(os.Stderr, "building the test guests: %v\n", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
	trace          []map[string]any
}

// lgdbg runs the CLI with args and empty stdin and collects what a user
// would see.
func lgdbg(t *testing.T, args ...string) result {
	t.Helper()
	return runLgdbg(t, strings.NewReader(""), args...)
}

// runLgdbg runs `lgdbg run --headless --trace FILE args...` with stdin and
// returns its output, exit status and parsed trace.
func runLgdbg(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	full := append([]string{"run", "--headless", "--trace", trace}, args...)
	cmd := exec.Command(lgdbgBin, full...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("lgdbg %v: %v", args, err)
	}
	f, err := os.Open(trace)
	if err != nil {
		return r // lgdbg refused its arguments before opening the trace
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("trace line %q: %v", sc.Text(), err)
		}
		r.trace = append(r.trace, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the trace: %v", err)
	}
	return r
}

// goldenKinds are the events a golden trace keeps: the boot path's story
// (hypercalls, the linear_pages handoff, pgdir switches, reflected traps,
// interrupts, the end). Demand-paging faults and shadow changes are many
// and follow from these; the determinism test covers them byte for byte.
func golden(trace []map[string]any) []byte {
	var b bytes.Buffer
	n := 0
	for _, e := range trace {
		k, _ := e["kind"].(string)
		switch k {
		case "shadow", "console", "halt":
			continue
		case "trap":
			if e["outcome"] == "demand_page" {
				continue
			}
		}
		n++
		if n > 400 {
			continue // a fault loop would make this endless; the count says how many
		}
		delete(e, "seq")
		line, _ := json.Marshal(e)
		b.Write(line)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "# %d events\n", n)
	return b.Bytes()
}

func TestGuestsThroughTheCLI(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	for _, name := range guests.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exp, err := guests.Expect(name)
			if err != nil {
				t.Fatal(err)
			}
			if exp, err = exp.ResolveELF(filepath.Join(guestDir, exp.ELF)); err != nil {
				t.Fatal(err)
			}
			args := []string{"-q", "-m", fmt.Sprintf("%dM", exp.MemMiB)}
			if exp.MaxInstructions != 0 {
				args = append(args, "--max-instructions", fmt.Sprint(exp.MaxInstructions))
			}
			disks, err := exp.MakeDisks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			args = append(args, exp.DeviceArgs(disks)...)
			r := lgdbg(t, append(args, filepath.Join(guestDir, exp.BzImage))...)
			// The disks as the CLI left them: writes reached the files.
			for _, d := range disks {
				data, err := os.ReadFile(d.Path)
				if err != nil {
					t.Fatal(err)
				}
				for _, diff := range exp.CheckDisk(data, d.KiB) {
					t.Error(diff)
				}
			}

			// Exit status: 0 for power-off and requested stops, 1 for a
			// killed guest, with lguest's reason on stderr.
			var obs guests.Observed
			obs.Console = r.stdout
			wantCode := 0
			switch exp.Exit.Kind {
			case guests.ExitKill, guests.ExitKillPrefix:
				wantCode = 1
			}
			if r.code != wantCode {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, wantCode, r.stderr)
			}
			for _, e := range r.trace {
				switch e["kind"] {
				case "hcall":
					c := guests.Call{Num: uint32(e["nr"].(float64))}
					c.Async, _ = e["async"].(bool)
					if args, ok := e["args"].([]any); ok {
						for i, a := range args {
							if i < len(c.Args) {
								c.Args[i] = uint32(a.(float64))
							}
						}
					}
					obs.Calls = append(obs.Calls, c)
				case "kill":
					obs.Reason, _ = e["text"].(string)
				case "shutdown":
					obs.Reason = "CRASH: " + e["text"].(string)
				}
			}
			obs.InstructionLimit = exp.Exit.Kind == guests.ExitInstructionLimit && r.code == 0 && obs.Reason == ""
			for _, d := range exp.Check(obs) {
				t.Error(d)
			}

			got := golden(r.trace)
			path := filepath.Join("testdata", name+".jsonl")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no golden trace (run go test ./tests/e2e -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("trace differs from %s (go test ./tests/e2e -update rewrites it)\n%s", path, firstDiff(string(want), string(got)))
			}
		})
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %s\n got %s", i+1, a, b)
		}
	}
	return ""
}

// The same image and flags give the same trace, byte for byte — every
// demand fault and shadow change included.
func TestRunsAreDeterministic(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	img := filepath.Join(guestDir, "traps.bzImage")
	a := lgdbg(t, "-q", "-m", "32M", img)
	b := lgdbg(t, "-q", "-m", "32M", img)
	ja, _ := json.Marshal(a.trace)
	jb, _ := json.Marshal(b.trace)
	if len(a.trace) < 100 || !bytes.Equal(ja, jb) || a.stdout != b.stdout {
		t.Fatalf("two runs differ (or too short: %d events)\n%s", len(a.trace), firstDiff(string(ja), string(jb)))
	}
}

// The demo guest is what `lgdbg run` boots with no image: it must show the
// linear_pages handoff in order.
func TestDemoGuestShowsTheHandoff(t *testing.T) {
	r := lgdbg(t, "-q")
	if r.code != 0 {
		t.Fatalf("demo guest exit %d: %s", r.code, r.stderr)
	}
	var order []string
	for _, e := range r.trace {
		switch e["kind"] {
		case "hcall":
			if n := e["name"]; n == "LGUEST_INIT" || n == "NEW_PGTABLE" {
				order = append(order, n.(string))
			}
		case "linear-off":
			order = append(order, "linear-off")
		}
	}
	if len(order) < 3 || strings.Join(order[:3], " ") != "LGUEST_INIT NEW_PGTABLE linear-off" {
		t.Errorf("handoff order %v, want LGUEST_INIT NEW_PGTABLE linear-off", order)
	}
	if !strings.Contains(r.stdout, "boot: PASS") {
		t.Errorf("demo console %q lacks boot: PASS", r.stdout)
	}
}

// --until stops a run at the named event, with exit status 0.
func TestUntilStopsAtTheHandoff(t *testing.T) {
	r := lgdbg(t, "--until", "linear-off")
	if r.code != 0 || !strings.Contains(r.stderr, "linear_pages off") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	last := r.trace[len(r.trace)-1]
	if last["kind"] != "linear-off" && last["kind"] != "pgdir" && last["kind"] != "shadow" {
		t.Errorf("trace continues past the handoff: last event %v", last)
	}
	if strings.Contains(r.stdout, "PASS") {
		t.Errorf("the guest ran on after --until: %q", r.stdout)
	}
}

// Bad input: one clear line on stderr, a non-zero exit, never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := append([]byte(nil), guests.BootImage[:0x280]...)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// The demo guest claiming a shorter command line (hdr.cmdline_size at
	// 0x238) than the 2047 bytes of COMMAND_LINE_SIZE.
	shortCmdline := append([]byte(nil), guests.BootImage...)
	binary.LittleEndian.PutUint32(shortCmdline[0x238:], 255)
	// A sparse file: 300 MiB by its size, no disk used.
	huge := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 300<<20); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"text file", []string{write("notes.txt", []byte("hello, I am not a kernel\n"))}, "not"},
		{"truncated bzImage", []string{write("trunc", truncated)}, "trunc"},
		{"64-bit ELF", []string{lgdbgBin}, "64-bit"},
		{"missing file", []string{filepath.Join(dir, "nope")}, "no such file"},
		{"directory", []string{dir}, "directory"},
		{"tiny memory", []string{"-m", "8M"}, "32 MiB"},
		{"absurd memory", []string{"-m", "100G"}, "-m"},
		{"unknown flag", []string{"--frobnicate"}, "frobnicate"},
		{"unknown until", []string{"--until", "sunrise"}, "sunrise"},
		{"two images", []string{"a", "b"}, "more than one image"},
		{"symbols from a text file", []string{"--symbols", write("syms.txt", []byte("not an ELF\n"))}, "--symbols"},
		{"missing block file", []string{"--block", filepath.Join(dir, "nodisk")}, "no such file"},
		{"block option", []string{"--block", write("disk", make([]byte, 4096)) + ",rw"}, "only ro"},
		{"block directory", []string{"--block", dir}, "--block"},
		{"FIFO as a read-only block device", []string{"--block", fifo + ",ro"}, "--block: " + fifo + " is a FIFO"},
		{"/dev/zero as a block device", []string{"--block", "/dev/zero"}, "--block: /dev/zero is a character device"},
		{"rng value", []string{"--rng=lots"}, "--rng"},
		{"rng seed", []string{"--rng=seed:x"}, "seed"},
		// Inputs that never end or never open: refused before a byte is read.
		{"/dev/zero as the image", []string{"/dev/zero"}, "/dev/zero is a character device, not a regular file"},
		{"/dev/urandom as the image", []string{"/dev/urandom"}, "character device"},
		{"FIFO as the image", []string{fifo}, "FIFO"},
		{"/dev/zero as the initrd", []string{"--initrd", "/dev/zero"}, "--initrd: /dev/zero is a character device"},
		{"FIFO as the symbols", []string{"--symbols", fifo}, "--symbols: " + fifo + " is a FIFO"},
		{"image over the size limit", []string{huge}, "300 MiB, over the 256 MiB limit"},
		{"initrd over the size limit", []string{"--initrd", huge}, "--initrd"},
		{"command line over the kernel's cmdline_size", []string{write("short-cmdline", shortCmdline), "--append", strings.Repeat("x", 256)}, "the kernel accepts at most 255 (cmdline_size)"},
		{"command line over COMMAND_LINE_SIZE", []string{"--append", strings.Repeat("x", 2048)}, "the limit is 2047"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := lgdbg(t, c.args...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(c.want)) {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line mentioning %q", r.code, r.stderr, c.want)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("Go panic: %s", r.stderr)
			}
		})
	}
}

// TestSourcesTracked stats every source file. The binary under test is
// built by a subprocess, which go test's result cache cannot see; files a
// test stats are part of the cache key, so a change to any source file
// invalidates this package's cached results.
func TestSourcesTracked(t *testing.T) {
	n := 0
	filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".S") || strings.HasSuffix(path, ".c") || strings.HasSuffix(path, ".h")) {
			if _, err := os.Stat(path); err == nil {
				n++
			}
		}
		return nil
	})
	if n < 50 {
		t.Fatalf("found only %d source files from tests/e2e; is the working directory the package directory?", n)
	}
}
