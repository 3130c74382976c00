package e2e

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestGDBRecipe runs the README's gdb recipe, line for line, on boot-2g:
// a guest linked like vmlinux (head included) at PAGE_OFFSET 0x80000000,
// booted as a bzImage, so the head runs at load addresses gdb does not know
// from the ELF. From the first instruction, `x/2i startup_32` reads the
// link address, `break lguest_entry` stops at the load address with gdb's
// own breakpoint, named, and the backtrace names the frame.
func TestGDBRecipe(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Skip("gdb not installed")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)<!-- gdb-recipe -->\n```sh\n(.*?)```\n<!-- /gdb-recipe -->").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README.md has no <!-- gdb-recipe --> block")
	}
	lines := strings.Split(strings.TrimSpace(string(block[1])), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "lgdbg gdbinit ") || !strings.HasSuffix(lines[1], " &") || !strings.HasPrefix(lines[2], "gdb ") {
		t.Fatalf("the recipe is not gdbinit, run &, gdb:\n%s", block[1])
	}
	port := freePort(t)
	work := t.TempDir()
	subst := strings.NewReplacer(
		"lgdbg ", lgdbgBin+" ",
		" vmlinux", " "+filepath.Join(guestDir, "boot-2g.elf"),
		" bzImage", " "+filepath.Join(guestDir, "boot-2g.bzImage"),
		":1234", port,
		// The recipe is typed at a terminal; the test has none.
		"gdb -x", "gdb -batch -nx -x",
	)
	sh := func(line string) *exec.Cmd {
		c := exec.Command("sh", "-c", subst.Replace(line))
		c.Dir = work
		return c
	}
	if out, err := sh(lines[0]).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", lines[0], err, out)
	}
	gdbinit, _ := os.ReadFile(filepath.Join(work, "lgdbg.gdb"))
	if !strings.Contains(string(gdbinit), "add-symbol-file ") || !strings.Contains(string(gdbinit), "target remote "+port) {
		t.Fatalf("lgdbg.gdb:\n%s", gdbinit)
	}

	run := sh("exec " + strings.TrimSuffix(lines[1], " &"))
	stderr, err := run.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		run.Process.Kill()
		run.Wait()
	}()
	sc := bufio.NewScanner(stderr)
	listening := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "listening on") {
			listening = true
			break
		}
	}
	if !listening {
		t.Fatal("lgdbg never said it listens")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	gdb := sh(lines[2])
	done := make(chan struct{})
	var out []byte
	go func() {
		out, err = gdb.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		gdb.Process.Kill()
		t.Fatal("gdb did not finish")
	}
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	o := string(out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`0x80100000 <startup_32>:\s+cld`),                    // x/i at a link address at icount 0
		regexp.MustCompile(`Breakpoint 1 at 0x\w+ \(2 locations\)`),             // both link and load address
		regexp.MustCompile(`Breakpoint 1\.\d, 0x00100121 in lguest_entry \(\)`), // gdb's own breakpoint, by name
		regexp.MustCompile(`#0  0x00100121 in lguest_entry \(\)`),               // the frame is named
		regexp.MustCompile(`linear_pages: ON`),                                  // lg-linear: the command file loaded lgdbg's Python
		regexp.MustCompile(`(?m)^\$1 = 0$`),                                     // cr3: no Guest table while linear_pages is on
	} {
		if !want.MatchString(o) {
			t.Errorf("gdb output lacks %s:\n%s", want, o)
		}
	}
	// (Frame #1 of a kernel entry point has no caller: "?? ()" there is
	// the truth.)
	if regexp.MustCompile(`(?m)^(0x\w+ in|Breakpoint .*,|#0 ).*\?\? \(\)`).MatchString(o) || strings.Contains(o, "Cannot access memory") {
		t.Errorf("gdb was blind somewhere:\n%s", o)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
