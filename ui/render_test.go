package ui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/lgdbg/lgdbg/hv/symbols"
	"github.com/rivo/tview"
)

// testSyms: a head linked and loaded at 0x100000, the rest linked at
// 0xc0100000 and loaded at 0x200000.
var testSyms = symtab{symbols.New(0x100000,
	[]symbols.Segment{{Link: 0x100000, Load: 0x100000, Size: 0x1000, Exec: true}, {Link: 0xc0100000, Load: 0x200000, Size: 0x200000, Exec: true}},
	nil,
	[]symbols.Symbol{
		{Name: "startup_32", Addr: 0x100000, Kind: symbols.Label, Global: true},
		{Name: "start_kernel", Addr: 0xc0100000, Size: 0x40, Kind: symbols.Func, Global: true},
		{Name: "start_kernel_alias", Addr: 0xc0100000, Kind: symbols.Label},
		{Name: "add", Addr: 0xc0100040, Size: 0x10, Kind: symbols.Func, Global: true},
		{Name: "lguest_data", Addr: 0xc0200000, Size: 0x100, Kind: symbols.Object, Global: true},
	})}

func TestParseAddr(t *testing.T) {
	regs := hv.Regs{EIP: 0xc0100010, CR2: 0xdead0000}
	regs.GPR[4] = 0xc0129f94 // esp
	tests := []struct {
		in      string
		want    uint32
		wantErr string
	}{
		{in: "c0100000", want: 0xc0100000},
		{in: "0xC0100000", want: 0xc0100000},
		{in: "0d4096", want: 4096},
		{in: "1000", want: 0x1000},
		{in: "start_kernel", want: 0xc0100000},
		{in: "start_kernel+0x10", want: 0xc0100010},
		{in: "start_kernel + 10", want: 0xc0100010},
		{in: "lguest_data-4", want: 0xc01ffffc},
		{in: "add", want: 0xc0100040}, // a symbol, not the hex number 0xadd
		{in: "$esp", want: 0xc0129f94},
		{in: "esp+8", want: 0xc0129f9c},
		{in: "$eip", want: 0xc0100010},
		{in: "cr2", want: 0xdead0000},
		{in: "ffff_ffff", want: 0xffffffff},
		{in: "", wantErr: "empty address"},
		{in: "nosuch", wantErr: "not a symbol, register or hex number"},
		{in: "$foo", wantErr: "unknown register"},
		{in: "1+", wantErr: "missing term"},
		{in: "100000000", wantErr: "not a symbol"},
		{in: "0d12x", wantErr: "bad decimal"},
	}
	for _, tc := range tests {
		got, err := parseAddr(tc.in, regs, testSyms)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseAddr(%q) = %#x, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseAddr(%q) = %#x, %v; want %#x", tc.in, got, err, tc.want)
		}
	}
}

func TestSymtabName(t *testing.T) {
	tests := []struct {
		addr uint32
		want string
	}{
		{0x100000, "<startup_32>"},
		{0x100123, "<startup_32+0x123>"},
		{0x101000, ""},                 // a size-less label ends with its segment
		{0xc0100000, "<start_kernel>"}, // the function wins over the alias
		{0xc010003f, "<start_kernel+0x3f>"},
		{0xc0100040, "<add>"},
		{0xc0100050, ""}, // past add's size
		{0xc02000ff, "<lguest_data+0xff>"},
		{0x200000, "<start_kernel> (load address)"},
		{0x300004, "<lguest_data+0x4> (load address)"},
		{0xfff, ""},
	}
	for _, tc := range tests {
		if got := testSyms.display(tc.addr); got != tc.want {
			t.Errorf("display(%#x) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if _, _, ok := (symtab{}).lookup(0x1234); ok {
		t.Error("an empty table found a symbol")
	}
}

// window places code at base, optionally with an unreadable tail.
func window(base uint32, code []byte, unreadable int) codeWindow {
	data := append(append([]byte(nil), code...), make([]byte, unreadable)...)
	ok := make([]bool, len(data))
	for i := range code {
		ok[i] = true
	}
	return codeWindow{base: base, data: data, ok: ok}
}

func TestDisassemble(t *testing.T) {
	// head.S's first instructions, as the demo guest has them.
	code := []byte{
		0xfc,                         // cld
		0xbf, 0x00, 0x40, 0x10, 0x00, // mov $0x104000,%edi
		0xb9, 0x00, 0xe0, 0x16, 0x00, // mov $0x16e000,%ecx
		0x29, 0xf9, // sub %edi,%ecx
		0xc1, 0xe9, 0x02, // shr $0x2,%ecx
		0xe8, 0xeb, 0xff, 0xff, 0xff, // call 0x100000 (startup_32)
		0xb8, 0x18, 0x00, 0x20, 0xc0, // mov $lguest_data+0x18,%eax (a kernel address: negative as int32)
	}
	w := window(0x100000, code, 8)
	tests := []struct {
		name          string
		anchor        uint32
		before, total int
		syntax        string
		want          []string // text of each line
		wantFirst     uint32
	}{
		{"from the symbol", 0x10000b, 2, 4, "gnu",
			[]string{"mov $0x104000,%edi", "mov $0x16e000,%ecx", "sub %edi,%ecx", "shr $0x2,%ecx"}, 0x100001},
		{"intel", 0x100001, 1, 2, "intel",
			[]string{"cld", "mov edi, 0x104000"}, 0x100000},
		{"call target symbolised", 0x100010, 0, 1, "gnu",
			[]string{"call startup_32"}, 0x100010},
		{"kernel immediate symbolised", 0x100015, 0, 1, "gnu",
			[]string{"mov $lguest_data+0x18,%eax"}, 0x100015},
		{"unmapped tail", 0x100015, 0, 3, "gnu",
			[]string{"mov $lguest_data+0x18,%eax", "(not mapped)", "(not mapped)"}, 0x100015},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := disassemble(w, tc.anchor, tc.before, tc.total, tc.syntax, testSyms)
			var got []string
			for _, l := range lines {
				got = append(got, l.text)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			if len(lines) > 0 && lines[0].addr != tc.wantFirst {
				t.Errorf("first line at %#x, want %#x", lines[0].addr, tc.wantFirst)
			}
		})
	}
	// Without symbols the backward search still lands on instruction
	// boundaries.
	lines := disassemble(w, 0x10000d, 3, 4, "gnu", symtab{})
	if lines[0].addr != 0x100001 || lines[3].addr != 0x10000d {
		t.Errorf("without symbols: lines at %#x..%#x, want 0x100001..0x10000d", lines[0].addr, lines[3].addr)
	}
	if lines := disassemble(w, 0x100000, 0, 1, "gnu", testSyms); lines[0].label != "<startup_32>" {
		t.Errorf("no label on startup_32: %+v", lines[0])
	}
	// Undecodable bytes advance one at a time.
	bad := window(0x2000, []byte{0x0f, 0xff, 0x90}, 0)
	if l := decodeAt(bad, 0x2000, "gnu", symtab{}); !strings.HasPrefix(l.text, ".byte") || l.size != 1 {
		t.Errorf("bad opcode: %+v", l)
	}
}

func TestRenderRegsMarksChanges(t *testing.T) {
	prev := hv.Regs{EIP: 0x100000, EFLAGS: 0x202}
	cur := prev
	cur.EIP = 0x100001
	cur.GPR[1] = 7          // ecx
	cur.EFLAGS = 0x202 | 64 // ZF set
	got := renderRegs(cur, prev, true)
	for _, want := range []string{"eip " + tagChanged + "00100001", "ecx " + tagChanged + "00000007", tagChanged + "ZF", "eax 00000000"} {
		if !strings.Contains(got, want) {
			t.Errorf("renderRegs lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(renderRegs(cur, prev, false), tagChanged) {
		t.Error("changes marked without a previous stop")
	}
	for _, l := range strings.Split(stripTags(got), "\n") {
		if len(l) > regsWidth {
			t.Errorf("line wider than the pane (%d > %d): %q", len(l), regsWidth, l)
		}
	}
}

func TestRenderWalk(t *testing.T) {
	lv := func(k pgtable.LevelKind, idx uint32, raw uint64, flags string) pgtable.Level {
		// flags documents what raw holds; the pane decodes raw itself.
		if got := hcall.EntryFlags(raw, k == pgtable.LevelPTE, true); got != flags {
			t.Fatalf("test table: entry %#x has flags %q, not %q", raw, got, flags)
		}
		return pgtable.Level{Kind: k, Index: idx, Raw: raw, Present: raw&1 != 0}
	}
	tests := []struct {
		name    string
		w       hv.Walks
		pae     bool
		width   int
		want    []string
		notWant []string
	}{
		{
			name: "shadow lacks RW and the frame differs",
			w: hv.Walks{
				Guest:  pgtable.Walk{VAddr: 0xc01011af, Mapped: true, PA: 0x1011af, Levels: []pgtable.Level{lv(pgtable.LevelPGD, 768, 0x105067, "P RW US A D"), lv(pgtable.LevelPTE, 257, 0x101023, "P RW A")}},
				Shadow: pgtable.Walk{VAddr: 0xc01011af, Mapped: true, PA: 0x2011af, Levels: []pgtable.Level{lv(pgtable.LevelPGD, 768, 0x400e067, "P RW US A D"), lv(pgtable.LevelPTE, 257, 0x201021, "P A")}},
				Slot:   3,
			},
			width: 118,
			want: []string{
				"shadow slot 3", "pgd[768]", "pte[257]",
				"P " + tagChanged + "RW" + tagOff + " A", // the guest has RW, the shadow not
				tagChanged + "00201021" + tagOff,         // different frame
				tagChanged + "002011af" + tagOff,         // different PA
				" │ ",                                    // side by side
			},
			notWant: []string{"FAKE", tagChanged + "00105067", tagChanged + "0400e067"},
		},
		{
			name: "linear_pages fakes, stacked when narrow",
			w: hv.Walks{
				Guest:  pgtable.Walk{VAddr: 0x100000, Linear: true, Mapped: true, PA: 0x100000, Levels: []pgtable.Level{lv(pgtable.LevelPGD, 0, 0x67, "P RW US A D"), lv(pgtable.LevelPTE, 256, 0x100003, "P RW")}},
				Shadow: pgtable.Walk{VAddr: 0x100000, Shadow: true, End: pgtable.EndNotPresent, EndLevel: pgtable.LevelPGD, Levels: []pgtable.Level{lv(pgtable.LevelPGD, 0, 0, "")}},
				Linear: true, Slot: 1,
			},
			width: 60,
			want: []string{
				"linear_pages FAKE", tagFake + "00000067", "g = ", "s 00000000 " + tagChanged + "(not present)",
				"guest: linear_pages: fake 1:1 mapping", "shadow: pgd not present", "unmapped",
			},
			notWant: []string{" │ "},
		},
		{
			name: "PAE has a pmd and 64-bit entries",
			w: hv.Walks{
				Guest:  pgtable.Walk{VAddr: 0xc0000000, Mapped: true, PA: 0, Levels: []pgtable.Level{lv(pgtable.LevelPGD, 3, 0x1001, "P"), lv(pgtable.LevelPMD, 0, 0x8000000000102063, "P RW A D NX"), lv(pgtable.LevelPTE, 0, 0x63, "P RW A D")}},
				Shadow: pgtable.Walk{VAddr: 0xc0000000, Mapped: true, PA: 0, Levels: []pgtable.Level{lv(pgtable.LevelPGD, 3, 0x4001001, "P"), lv(pgtable.LevelPMD, 0, 0x8000000004003063, "P RW A D NX"), lv(pgtable.LevelPTE, 0, 0x63, "P RW A D")}},
			},
			pae: true, width: 118,
			want: []string{"pmd[0]", "8000000000102063", "0000000000000063 P RW A D"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := renderWalk(tc.w, tc.pae, tc.width)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("has %q:\n%s", w, got)
				}
			}
			for _, l := range strings.Split(stripTags(got), "\n") {
				if n := len([]rune(l)); n > tc.width && !strings.HasPrefix(l, "guest:") && !strings.HasPrefix(l, "shadow:") {
					t.Errorf("row of %d runes in a %d-wide pane: %q", n, tc.width, l)
				}
			}
		})
	}
}

func TestRenderHex(t *testing.T) {
	data := []byte("ABCDEFGH\x00\x01\x7f\xffijkl")
	ok := make([]bool, len(data))
	for i := range ok {
		ok[i] = i < 12
	}
	got := renderHex(0xc0000000, data, ok, 8)
	lines := strings.Split(stripTags(got), "\n")
	want := []string{
		"c0000000  41 42 43 44 45 46 47 48  ABCDEFGH",
		"c0000008  00 01 7f ff ?? ?? ?? ??  ....    ",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, tc := range []struct{ width, want int }{{80, 16}, {75, 16}, {74, 8}, {43, 8}, {42, 4}, {10, 4}} {
		if got := hexPerLine(tc.width); got != tc.want {
			t.Errorf("hexPerLine(%d) = %d, want %d", tc.width, got, tc.want)
		}
	}
}

func TestSanitizeConsole(t *testing.T) {
	tests := []struct{ in, want string }{
		{"boot: PASS\n", "boot: PASS\n"},
		{"a\tb\r\n", "a\tb\n"},
		{"\x1b[2J", ".[2J"}, // no escape sequences reach the terminal
		{"\xff\xfe ok", ".. ok"},
		{"[red]x", "[red]x"}, // the console pane interprets no tags
		{"héllo", "héllo"},
	}
	for _, tc := range tests {
		if got := sanitizeConsole(tc.in); got != tc.want {
			t.Errorf("sanitizeConsole(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRenderLinear(t *testing.T) {
	on := renderLinear(linearState{on: true}, 60)
	off := renderLinear(linearState{offAt: 98468, haveOff: true, slot: 3, gpgdir: 0x104000, haveSlot: true}, 60)
	for _, tc := range []struct {
		got  string
		want []string
	}{
		{on, []string{"linear_pages ON", bigText("ON")[0], "no NEW_PGTABLE yet"}},
		{off, []string{"linear_pages OFF", bigText("OFF")[2], "off at icount 98468", "slot 3 pgdir 00104000"}},
		{renderLinear(linearState{}, 10), []string{"linear_pages OFF", "no longer in the ring"}},
		{renderLinear(linearState{on: true}, 20), []string{"linear_pages ON\nfake 1:1 mapping"}},         // narrow: no letters
		{renderLinear(linearState{on: true}, 60), []string{bigText("ON")[0] + "       linear_pages ON"}}, // side by side
	} {
		for _, w := range tc.want {
			if !strings.Contains(stripTags(tc.got), w) {
				t.Errorf("lacks %q:\n%s", w, tc.got)
			}
		}
	}
	if strings.Contains(renderLinear(linearState{on: true}, 30), "█") {
		t.Error("big letters drawn in a pane too narrow for them")
	}
}

func TestRenderHost(t *testing.T) {
	tests := []struct {
		h    hv.HostState
		want []string
	}{
		{hv.HostState{}, []string{"no LGUEST_INIT yet", "irqs pending 00000000 timer off"}},
		{hv.HostState{HaveLguestData: true, LguestData: 0x103000, KernelAddress: 0xc0000000, IrqsPending: 1,
			TimerArmed: true, TimerDeadline: 5000, Now: 1000, Halted: true},
			[]string{"lguest_data 00103000 kernel_address c0000000", "irqs pending 00000001 timer in 4000 ns halted"}},
		{hv.HostState{Dead: true}, []string{"timer off dead"}},
	}
	for _, tc := range tests {
		got := stripTags(renderHost(tc.h))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("renderHost(%+v) = %q, lacks %q", tc.h, got, w)
			}
		}
	}
}

func TestKeymap(t *testing.T) {
	seen := map[string]string{}
	for _, b := range keymap {
		if b.act == nil || b.help == "" || b.label == "" {
			t.Errorf("incomplete binding %+v", b)
		}
		for _, k := range b.keys {
			id := b.scope + "/" + tcell.NewEventKey(k.key, k.r, tcell.ModNone).Name()
			if prev, dup := seen[id]; dup {
				t.Errorf("key %s bound twice: %q and %q", id, prev, b.help)
			}
			seen[id] = b.help
		}
	}
	// The keys the brief asks for are all bound globally.
	for _, r := range "cpsiwgb?:/q1234567" {
		if _, ok := findKey(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone), scopeGlobal); !ok {
			t.Errorf("%q is not bound", r)
		}
	}
	for _, k := range []tcell.Key{tcell.KeyTab, tcell.KeyBacktab, tcell.KeyCtrlC} {
		if _, ok := findKey(tcell.NewEventKey(k, 0, tcell.ModNone), scopeGlobal); !ok {
			t.Errorf("%v is not bound", k)
		}
	}
	// Pane bindings win in their pane only.
	down := tcell.NewEventKey(tcell.KeyDown, 0, tcell.ModNone)
	if b, ok := lookupKey(down, scopeMemory); !ok || b.scope != scopeMemory {
		t.Errorf("Down in the memory pane: %+v", b)
	}
	if _, ok := lookupKey(down, scopeGlobal); ok {
		t.Error("Down is bound outside the panes that use it")
	}
	help := tview.NewTextView().SetDynamicColors(true).SetText(helpText()).GetText(true)
	for _, c := range commands {
		if !strings.Contains(help, strings.Fields(c.usage)[0]) {
			t.Errorf("help lacks the command %q", c.usage)
		}
	}
	for _, b := range keymap {
		if !strings.Contains(help, b.label) || !strings.Contains(help, b.help) {
			t.Errorf("help lacks %q %q", b.label, b.help)
		}
	}
}

func TestDrawTooSmall(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{79, 23}, {30, 3}, {12, 2}, {1, 1}, {0, 0}} {
		scr := tcell.NewSimulationScreen("UTF-8")
		if err := scr.Init(); err != nil {
			t.Fatal(err)
		}
		scr.SetSize(sz.w, sz.h)
		drawTooSmall(scr, sz.w, sz.h) // must not panic at any size
		scr.Show()
		f := CaptureFrame(scr)
		text := strings.Join(strings.Fields(f.Text()), " ")
		if sz.w >= 30 && !strings.Contains(text, TooSmallMessage) {
			t.Errorf("%dx%d: %q lacks %q", sz.w, sz.h, text, TooSmallMessage)
		}
		scr.Fini()
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestHelpGolden pins the help overlay's text (testdata/help.golden; -update
// rewrites it), so a keymap change is a visible diff in review.
func TestHelpGolden(t *testing.T) {
	// What the overlay shows: tview's own tag stripping, which also
	// undoes the escaping of "[ADDR]".
	got := tview.NewTextView().SetDynamicColors(true).SetText(helpText()).GetText(true)
	golden(t, "help.golden", got)
}

// golden compares got with testdata/name (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, got)
	}
}

// TestRenderListingGolden pins the disassembly pane's marks: a label, the
// breakpoint and EIP gutter, bytes in a wide pane, the focused cursor.
func TestRenderListingGolden(t *testing.T) {
	listing := []asmLine{
		{addr: 0xc0100000, size: 1, bytes: []byte{0xfc}, text: "cld", label: "<startup_32>", mapped: true},
		{addr: 0xc0100001, size: 5, bytes: []byte{0xbf, 0, 0x10, 0x40, 0}, text: "mov $0x401000,%edi", mapped: true},
		{addr: 0xc0100006, size: 2, bytes: []byte{0x31, 0xc0}, text: "xor %eax,%eax", mapped: true},
		{addr: 0xc0100008, size: 1, text: "(not mapped)"},
	}
	bps := map[uint32]bool{0xc0100001: true, 0xc0100006: true}
	var sb strings.Builder
	for _, c := range []struct {
		name string
		mk   listingMarks
	}{
		{"wide, focused, EIP on a breakpoint", listingMarks{eip: 0xc0100006, cursor: 0xc0100000, bps: bps, focused: true, wide: true}},
		{"narrow, unfocused", listingMarks{eip: 0xc0100000, cursor: 0xc0100000, bps: bps}},
	} {
		fmt.Fprintf(&sb, "== %s\n%s\n", c.name, renderListing(listing, c.mk))
	}
	golden(t, "listing.golden", sb.String())
}

// TestRenderStatusGolden pins the status line in each run state.
func TestRenderStatusGolden(t *testing.T) {
	regs := hv.Regs{EIP: 0xc0100000, ICount: 1234567}
	var sb strings.Builder
	for _, c := range []struct {
		name  string
		s     snapshot
		pae   bool
		focus string
	}{
		{"running", snapshot{running: true, regs: regs}, false, "Disassembly"},
		{"paused", snapshot{regs: regs, stop: hv.Stop{Reason: hv.StopBreakpoint, EIP: 0xc0100000, ICount: 1234567}}, true, ""},
		{"dead", snapshot{regs: regs, stop: hv.Stop{Reason: hv.StopKilled, Text: "bad [stack] page", ICount: 1234567}}, false, "Console"},
	} {
		fmt.Fprintf(&sb, "== %s\n%s\n", c.name, renderStatus(&c.s, 303.5, "vmlinux", c.pae, c.focus))
	}
	golden(t, "status.golden", sb.String())
}
