package e2e

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/tests/guests"
)

// Debian's gdb drives lgdbg backwards: reverse-stepi, reverse-continue to a
// breakpoint and to the start of history, monitor goto, and reverse-stepi
// then stepi returning to the same registers.
func TestGDBReverseExecution(t *testing.T) {
	r := startGDBRun(t)
	o := r.gdb(t,
		"stepi", "stepi", "set $a = $pc",
		"stepi", "set $b = $pc", "info registers",
		"stepi",
		"reverse-stepi",
		`printf "back at b: %d\n", $pc == $b`,
		"info registers",
		"reverse-stepi",
		`printf "back at a: %d\n", $pc == $a`,
		"monitor goto 0",
		"maint flush register-cache",
		`printf "goto 0: %#x\n", $pc`,
		"break *$a",
		"stepi 6", // stops at the breakpoint
		"stepi 4",
		"reverse-continue",
		`printf "reverse-continue at a: %d\n", $pc == $a`,
		"delete",
		"reverse-continue",
		`printf "start of history: %#x\n", $pc`,
		"monitor history",
		"continue")
	for _, want := range []string{"back at b: 1", "back at a: 1", "goto 0: 0x100000",
		"reverse-continue at a: 1", "No more reverse-execution history", "start of history: 0x100000",
		"history: icount 0 to 0", "exited normally"} {
		if !strings.Contains(o, want) {
			t.Errorf("gdb output lacks %q:\n%s", want, o)
		}
	}
	// The registers at b, before stepping forward and after coming back.
	regs := regexp.MustCompile(`(?s)eax +0x.*?gs +0x[0-9a-f]+`).FindAllString(o, -1)
	if len(regs) < 2 || regs[0] != regs[1] {
		t.Errorf("registers differ after stepi, reverse-stepi:\n%q", regs)
	}
}

// gdbSections splits gdb's output at lines "@@NAME" (echo @@NAME\n before
// a command): each section is what the commands after its marker printed.
func gdbSections(t *testing.T, o string) map[string]string {
	t.Helper()
	secs := map[string]string{}
	parts := regexp.MustCompile(`(?m)^@@(\w+)\n`).Split(o, -1)
	names := regexp.MustCompile(`(?m)^@@(\w+)\n`).FindAllStringSubmatch(o, -1)
	for i, n := range names {
		secs[n[1]] = parts[i+1]
	}
	return secs
}

// sourceLine is the line of src/FILE in the test guests' sources that holds
// marker (a comment), so tests name lines by what they do.
func sourceLine(t *testing.T, file, marker string) int {
	t.Helper()
	dir, err := guests.SourceDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "src", file))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("src/%s has no line with %q", file, marker)
	return 0
}

// hexField is the number after key in s ("pc 0x1234" -> 0x1234).
func hexField(t *testing.T, s, key string) uint64 {
	t.Helper()
	m := regexp.MustCompile(`\b` + key + ` (0x[0-9a-f]+|\d+)\b`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %q in:\n%s", key, s)
	}
	v, err := strconv.ParseUint(m[1], 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func revdebugRun(t *testing.T) *gdbRun {
	t.Helper()
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	r := startGDBRun(t, filepath.Join(guestDir, "revdebug.bzImage"))
	r.elf = filepath.Join(guestDir, "revdebug.elf")
	return r
}

// Debian's gdb steps back through C with line info (the revdebug guest:
// guest_main calls rev_mid, which calls rev_leaf twice): reverse-nexti
// back over a return lands on the call instruction, reverse-next steps
// back over a whole call to the start of its line, reverse-step enters the
// callee at its last line, reverse-finish goes back to the instruction that
// called it. gdb builds these from bs, bc and temporary breakpoints (at a
// callee's entry, at a call site), so each needs bc to stop at the right,
// most recent, hit. Lines are the source's (found by their comments),
// addresses gdb's own (info line, x/i), values the C code's (x*3+1).
func TestGDBReverseStepping(t *testing.T) {
	r := revdebugRun(t)
	o := r.gdb(t,
		"break rev_leaf", "continue", "delete",
		"echo @@finish\\n", "finish", `printf "pc %#x\n", $pc`,
		"echo @@rnexti\\n", "reverse-nexti", "x/2i $pc", "bt 1", `printf "pc %#x counter %d\n", $pc, rev_counter`,
		"echo @@nexti\\n", "nexti", `printf "pc %#x\n", $pc`,
		"echo @@next2\\n", "next", "next", "info line *$pc", `printf "counter %d\n", rev_counter`,
		"echo @@rnext\\n", "reverse-next", "info line *$pc", `printf "pc %#x counter %d\n", $pc, rev_counter`, "bt 1",
		"echo @@rstep\\n", "reverse-step", "info line *$pc", "bt 2",
		"echo @@rfinish\\n", "reverse-finish", "x/i $pc", "info line *$pc", `printf "pc %#x counter %d\n", $pc, rev_counter`,
		"echo @@stepi\\n", "stepi", `printf "at rev_leaf %d\n", $pc == rev_leaf`,
		"echo @@end\\n", "kill")
	s := gdbSections(t, o)
	if len(s) != 9 {
		t.Fatalf("gdb output has %d sections, want 9:\n%s", len(s), o)
	}
	call1, call2, call2Next := sourceLine(t, "revdebug.c", "rev-call1"), sourceLine(t, "revdebug.c", "rev-call2"), sourceLine(t, "revdebug.c", "rev_trail[x & 7]")
	leafEnd := sourceLine(t, "revdebug.c", "rev-read") + 1 // rev_leaf's closing brace
	line := func(sec string, n int) {
		t.Helper()
		if !regexp.MustCompile(fmt.Sprintf(`Line %d of "src/revdebug.c"`, n)).MatchString(s[sec]) {
			t.Errorf("%s: not at line %d:\n%s", sec, n, s[sec])
		}
	}
	has := func(sec string, re string) {
		t.Helper()
		if !regexp.MustCompile(re).MatchString(s[sec]) {
			t.Errorf("%s: lacks %s:\n%s", sec, re, s[sec])
		}
	}
	ret := hexField(t, s["finish"], "pc") // the return address of rev_mid's first call

	// reverse-nexti from the return address: the call instruction, in
	// rev_mid, before rev_leaf ran; the next instruction is the return
	// address.
	call := hexField(t, s["rnexti"], "pc")
	has("rnexti", `=> 0x[0-9a-f]+ <rev_mid\+\d+>:\s+call\s+0x[0-9a-f]+ <rev_leaf>`)
	has("rnexti", fmt.Sprintf(`(?m)^\s+%#x <rev_mid\+\d+>:`, ret))
	has("rnexti", `#0  0x[0-9a-f]+ in rev_mid \(`)
	has("rnexti", `counter 0\n`)
	if got := hexField(t, s["nexti"], "pc"); got != ret {
		t.Errorf("nexti after reverse-nexti: pc %#x, want the return address %#x", got, ret)
	}
	line("next2", call2Next)
	has("next2", `counter 7\n`) // rev_leaf(2) wrote 2*3+1
	// reverse-next: back over the second call to the start of its line.
	line("rnext", call2)
	start := hexField(t, s["rnext"], "starts at address")
	if pc := hexField(t, s["rnext"], "pc"); pc != start {
		t.Errorf("reverse-next: pc %#x, not the start of line %d (%#x)", pc, call2, start)
	}
	has("rnext", `counter 1\n`) // before rev_leaf(2): rev_leaf(0)'s 0*3+1
	has("rnext", `#0  rev_mid \(x=x@entry=0\)`)
	// reverse-step: into the first call's rev_leaf, at its last line.
	line("rstep", leafEnd)
	has("rstep", `#0  0x[0-9a-f]+ in rev_leaf \(x=x@entry=0\)`)
	has("rstep", `#1  0x[0-9a-f]+ in rev_mid \(x=x@entry=0\)`)
	// reverse-finish: back to the call instruction of that call.
	has("rfinish", `=> 0x[0-9a-f]+ <rev_mid\+\d+>:\s+call\s+0x[0-9a-f]+ <rev_leaf>`)
	line("rfinish", call1)
	if pc := hexField(t, s["rfinish"], "pc"); pc != call {
		t.Errorf("reverse-finish: pc %#x, want the first call at %#x", pc, call)
	}
	has("rfinish", `counter 0\n`)
	has("stepi", `at rev_leaf 1\n`)
}

// Reverse watchpoints with Debian's gdb, as rr and gdb's own record target
// give them: reverse-continue stops before the instruction that made the
// access, gdb printing the present value as Old and the earlier one as
// New. The first reverse-continue starts right after a forward watchpoint
// hit (the write is the instruction just before the present); the next
// goes back across rev_spin's checkpoint intervals, the next to the first
// write, the last finds no more and says so; forward again the first write
// is found anew. rwatch and awatch work backwards too.
func TestGDBReverseWatchpoints(t *testing.T) {
	r := revdebugRun(t)
	o := r.gdb(t,
		"watch rev_counter",
		`printf "addr %#x\n", &rev_counter`,
		"echo @@fwd3\\n", "continue", "continue", "continue", `printf "icount %d\n", $icount`,
		"echo @@rc1\\n", "reverse-continue", `printf "icount %d counter %d\n", $icount, rev_counter`, "x/i $pc", "info line *$pc",
		"echo @@rc2\\n", "reverse-continue", `printf "icount %d counter %d\n", $icount, rev_counter`,
		"echo @@rc3\\n", "reverse-continue", `printf "icount %d counter %d\n", $icount, rev_counter`,
		"echo @@rc4\\n", "reverse-continue",
		"echo @@fwd1\\n", "continue", `printf "icount %d counter %d\n", $icount, rev_counter`,
		"delete", "rwatch rev_counter",
		"echo @@rw\\n", "continue", `printf "icount %d\n", $icount`,
		"echo @@rrw\\n", "reverse-continue", `printf "icount %d\n", $icount`, "x/i $pc",
		"delete", "awatch rev_counter",
		"echo @@raw\\n", "reverse-continue", `printf "icount %d counter %d\n", $icount, rev_counter`,
		"echo @@stepi\\n", "stepi", `printf "counter %d\n", rev_counter`,
		"echo @@end\\n", "kill")
	s := gdbSections(t, o)
	if len(s) != 11 {
		t.Fatalf("gdb output has %d sections, want 11:\n%s", len(s), o)
	}
	has := func(sec string, re string) {
		t.Helper()
		if !regexp.MustCompile(re).MatchString(s[sec]) {
			t.Errorf("%s: lacks %s:\n%s", sec, re, s[sec])
		}
	}
	if !strings.Contains(o, "Hardware watchpoint 1: rev_counter") {
		t.Fatalf("gdb did not set a hardware watchpoint:\n%s", o)
	}
	addr := hexField(t, o, "addr")
	// Forward: rev_leaf(0) writes 1, rev_leaf(2) 7, then, after rev_spin,
	// rev_leaf(1) 4.
	has("fwd3", `Old value = 7\nNew value = 4\n`)
	i3 := hexField(t, s["fwd3"], "icount")
	// Back: before the store of 4, at the store.
	has("rc1", `Old value = 4\nNew value = 7\n`)
	if ic := hexField(t, s["rc1"], "icount"); ic != i3-1 {
		t.Errorf("reverse-continue after the write at %d stopped at icount %d, want %d", i3, ic, i3-1)
	}
	has("rc1", `counter 7\n`)
	has("rc1", fmt.Sprintf(`=> 0x[0-9a-f]+ <rev_leaf\+\d+>:\s+mov\s+%%eax,%#x\n`, addr))
	has("rc1", fmt.Sprintf(`Line %d of "src/revdebug.c"`, sourceLine(t, "revdebug.c", "rev-write")))
	has("rc2", `Old value = 7\nNew value = 1\n`)
	has("rc2", `counter 1\n`)
	if i2 := hexField(t, s["rc2"], "icount"); i3-i2 < 1_000_000 {
		t.Errorf("the writes at %d and %d are close: rev_spin no longer separates them", i2+1, i3)
	}
	has("rc3", `Old value = 1\nNew value = 0\n`)
	has("rc3", `counter 0\n`)
	i1 := hexField(t, s["rc3"], "icount")
	has("rc4", `No more reverse-execution history.`)
	has("fwd1", `Old value = 0\nNew value = 1\n`)
	if ic := hexField(t, s["fwd1"], "icount"); ic != i1+1 {
		t.Errorf("forward from the start of history: the first write at icount %d, want %d", ic, i1+1)
	}
	// rwatch: the read of rev_counter after the write, then back before it.
	has("rw", `Hardware read watchpoint 2: rev_counter\n\nValue = 1\n`)
	read := hexField(t, s["rw"], "icount")
	has("rrw", `Value = 1\n`)
	if ic := hexField(t, s["rrw"], "icount"); ic != read-1 {
		t.Errorf("reverse-continue to the read: icount %d, want %d", ic, read-1)
	}
	has("rrw", fmt.Sprintf(`=> 0x[0-9a-f]+ <rev_leaf\+\d+>:\s+mov\s+%#x,%%eax\n`, addr))
	// awatch: back from before the read to before the write.
	has("raw", `Old value = 1\nNew value = 0\n`)
	if ic := hexField(t, s["raw"], "icount"); ic != i1 {
		t.Errorf("awatch reverse-continue: icount %d, want the first write's %d", ic, i1)
	}
	has("stepi", `counter 1\n`) // one stepi makes the write again
}

// loadAddress is where sym of a built guest's ELF is loaded: its link
// address moved by its PT_LOAD segment's p_paddr - p_vaddr.
func loadAddress(t *testing.T, elfName, sym string) (link, load uint32) {
	t.Helper()
	link = elfSymbol(t, elfName, sym)
	f, err := elf.Open(filepath.Join(guestDir, elfName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && uint64(link) >= p.Vaddr && uint64(link) < p.Vaddr+p.Memsz {
			return link, uint32(uint64(link) - p.Vaddr + p.Paddr)
		}
	}
	t.Fatalf("%s: %s at %#x is in no PT_LOAD segment", elfName, sym, link)
	return 0, 0
}

// A breakpoint on a kernel symbol that ran at its load address under
// linear_pages is hit going backwards too, from past the handoff: on
// boot-2g (linked at 0x80000000, head included), both with `lgdbg
// gdbinit`'s command file (gdb's own breakpoint at both addresses, named)
// and with the vmlinux alone (the stub arms the load alias of gdb's link
// address breakpoint), reverse-continue from guest_main stops at
// lguest_entry's load address at the icount the forward hit had.
func TestGDBReverseAliasBreakpoint(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	elfPath := filepath.Join(guestDir, "boot-2g.elf")
	link, load := loadAddress(t, "boot-2g.elf", "lguest_entry")
	if link == load {
		t.Fatalf("lguest_entry is linked at its load address %#x", load)
	}
	cmds := []string{
		"break lguest_entry", "echo @@fwd\\n", "continue", `printf "pc %#x icount %d\n", $pc, $icount`,
		"break guest_main", "echo @@later\\n", "continue", `printf "icount %d linear %d\n", $icount, $linear_pages`, "delete 2",
		"echo @@back\\n", "reverse-continue", `printf "pc %#x icount %d\n", $pc, $icount`,
		"echo @@end\\n", "kill",
	}
	for _, tc := range []struct {
		name    string
		gdbinit bool
		hit     string // how gdb reports the hit
	}{
		{"gdbinit", true, fmt.Sprintf(`Breakpoint 1\.\d, %#08x in lguest_entry \(\)`, load)},
		{"vmlinux-only", false, fmt.Sprintf(`%#08x in \?\? \(\)`, load)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startGDBRun(t, filepath.Join(guestDir, "boot-2g.bzImage"))
			var o string
			if tc.gdbinit {
				cf := filepath.Join(t.TempDir(), "lgdbg.gdb")
				out, err := exec.Command(lgdbgBin, "gdbinit", "--gdb", r.addr, elfPath).Output()
				if err != nil {
					t.Fatalf("lgdbg gdbinit: %v", err)
				}
				if err := os.WriteFile(cf, out, 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"-batch", "-nx", "-x", cf}
				for _, c := range cmds {
					args = append(args, "-ex", c)
				}
				b, err := exec.Command("gdb", args...).CombinedOutput()
				if err != nil {
					t.Fatalf("gdb: %v\n%s", err, b)
				}
				o = string(b)
			} else {
				r.elf = elfPath
				o = r.gdb(t, cmds...)
			}
			s := gdbSections(t, o)
			if len(s) != 4 {
				t.Fatalf("gdb output has %d sections, want 4:\n%s", len(s), o)
			}
			for _, sec := range []string{"fwd", "back"} {
				if !regexp.MustCompile(tc.hit).MatchString(s[sec]) {
					t.Errorf("%s: lacks %s:\n%s", sec, tc.hit, s[sec])
				}
				if pc := hexField(t, s[sec], "pc"); pc != uint64(load) {
					t.Errorf("%s: pc %#x, want lguest_entry's load address %#x", sec, pc, load)
				}
			}
			if !strings.Contains(s["later"], "linear 0") {
				t.Errorf("guest_main is not past the handoff:\n%s", s["later"])
			}
			if f, b := hexField(t, s["fwd"], "icount"), hexField(t, s["back"], "icount"); f != b || b >= hexField(t, s["later"], "icount") {
				t.Errorf("reverse-continue stopped at icount %d, the forward hit was at %d", b, f)
			}
		})
	}
}

// Proof by determinism through gdb: at instants of the revdebug guest (a
// breakpoint in C, right after a hypercall, a monitor goto into rev_spin),
// stepi then reverse-stepi, and reverse-stepi then stepi, give back every
// register gdb knows (info all-registers: general, segment, x87, SSE and
// lgdbg's Host view, icount included) and the same memory (monitor hash:
// all of physical memory, the Host's shadow pages included). After the
// hypercall, reverse-stepi goes back before the int $0x1f that made it.
func TestGDBReverseStepiIsIdentity(t *testing.T) {
	r := revdebugRun(t)
	cmds := []string{"break rev_leaf", "continue", "delete"}
	snap := func(name string) []string {
		// @@x ends the section: what the next command prints is not in it
		return []string{"echo @@" + name + "\\n", "info all-registers", "monitor hash", "x/i $pc", "echo @@x\\n"}
	}
	instant := func(name string, arrive ...string) {
		cmds = append(cmds, arrive...)
		cmds = append(cmds, snap(name+"0")...)
		cmds = append(cmds, "stepi")
		cmds = append(cmds, snap(name+"1")...)
		cmds = append(cmds, "reverse-stepi")
		cmds = append(cmds, snap(name+"2")...)
		cmds = append(cmds, "reverse-stepi")
		cmds = append(cmds, snap(name+"3")...)
		cmds = append(cmds, "stepi")
		cmds = append(cmds, snap(name+"4")...)
	}
	instant("bp")
	instant("hcall", "monitor stop-on hcall", "continue", "monitor stop-on -d")
	instant("goto", "monitor goto 4000000", "maint flush register-cache")
	cmds = append(cmds, "echo @@end\\n", "kill")
	o := r.gdb(t, cmds...)
	s := gdbSections(t, o)
	if len(s) != 17 {
		t.Fatalf("gdb output has %d sections, want 17:\n%s", len(s), o)
	}
	for _, name := range []string{"bp", "hcall", "goto"} {
		for _, k := range []string{"0", "1", "2", "3", "4"} {
			sec := s[name+k]
			if !strings.Contains(sec, "memory hash 0x") || !regexp.MustCompile(`(?m)^eip +0x`).MatchString(sec) ||
				!regexp.MustCompile(`(?m)^st0 `).MatchString(sec) || !regexp.MustCompile(`(?m)^xmm0 `).MatchString(sec) ||
				!regexp.MustCompile(`(?m)^icount `).MatchString(sec) {
				t.Fatalf("%s%s: not all registers, or no hash:\n%s", name, k, sec)
			}
		}
		if s[name+"0"] == s[name+"1"] || s[name+"0"] == s[name+"3"] {
			t.Errorf("%s: stepi or reverse-stepi changed nothing:\n%s", name, s[name+"0"])
		}
		if s[name+"2"] != s[name+"0"] {
			t.Errorf("%s: stepi, reverse-stepi is not where it started: %s", name, firstDiff(s[name+"0"], s[name+"2"]))
		}
		if s[name+"4"] != s[name+"0"] {
			t.Errorf("%s: reverse-stepi, stepi is not where it started: %s", name, firstDiff(s[name+"0"], s[name+"4"]))
		}
	}
	if !regexp.MustCompile(`=> 0x[0-9a-f]+ <console_write\+\d+>:\s+int\s+\$0x1f`).MatchString(s["hcall3"]) {
		t.Errorf("reverse-stepi after the hypercall is not before its int $0x1f:\n%s", s["hcall3"])
	}
}
