package cpu

// Multi-instruction differential vectors (testdata/snippets.txt), recorded on
// real silicon in 32-bit protected mode at CPL 3 by tools/vecgen/snippets:
// hand-written snippets for what single-instruction vectors cannot show
// (PUSHA/POPA, ENTER/LEAVE, string ops with REP and DF, CMPXCHG8B, bit-string
// BT on memory, stack-relative forms, LOOP/JECXZ, XLAT...) and random
// flag-aware sequences from tools/vecgen/seqgen. The code runs at its
// original address with the same selectors, registers, EFLAGS and memory
// pattern; registers, the defined flags and every byte of both memory
// regions must match.

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

type snipRegion struct {
	name string
	addr uint32
	size uint32
}

type snipState struct {
	line    int
	seed    uint32
	in, out [9]uint32 // eax..edi, eflags
	diffs   map[uint32]byte
}

type snippet struct {
	name   string
	addr   uint32
	mask   uint32
	code   []byte
	states []snipState
}

type snipFile struct {
	sels     [6]uint16 // CS DS SS ES FS GS
	regions  []snipRegion
	snippets []*snippet
}

func parseSnippets(path string) (*snipFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open snippets: %w", err)
	}
	defer f.Close()
	sf := &snipFile{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	ln := 0
	h32 := func(s string) (uint32, error) {
		v, err := strconv.ParseUint(s, 16, 32)
		return uint32(v), err
	}
	for sc.Scan() {
		ln++
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fl := strings.Fields(line)
		bad := fmt.Errorf("snippets.txt:%d: malformed %q", ln, line)
		switch fl[0] {
		case "G":
			if len(fl) != 7 {
				return nil, bad
			}
			for i := range sf.sels {
				v, err := h32(fl[1+i])
				if err != nil {
					return nil, bad
				}
				sf.sels[i] = uint16(v)
			}
		case "R":
			if len(fl) != 4 {
				return nil, bad
			}
			a, err1 := h32(fl[2])
			n, err2 := h32(fl[3])
			if err1 != nil || err2 != nil {
				return nil, bad
			}
			sf.regions = append(sf.regions, snipRegion{fl[1], a, n})
		case "S":
			if len(fl) != 5 {
				return nil, bad
			}
			a, err1 := h32(fl[2])
			m, err2 := h32(fl[3])
			code, err3 := hex.DecodeString(fl[4])
			if err1 != nil || err2 != nil || err3 != nil {
				return nil, bad
			}
			sf.snippets = append(sf.snippets, &snippet{name: fl[1], addr: a, mask: m, code: code})
		case "I":
			if len(sf.snippets) == 0 || len(fl) < 21 || fl[11] != "->" {
				return nil, bad
			}
			st := snipState{line: ln, diffs: map[uint32]byte{}}
			var err error
			if st.seed, err = h32(fl[1]); err != nil {
				return nil, bad
			}
			for i := 0; i < 9; i++ {
				if st.in[i], err = h32(fl[2+i]); err != nil {
					return nil, bad
				}
				if st.out[i], err = h32(fl[12+i]); err != nil {
					return nil, bad
				}
			}
			for _, d := range fl[21:] {
				a, b, ok := strings.Cut(d, ":")
				addr, err1 := h32(a)
				bytes, err2 := hex.DecodeString(b)
				if !ok || err1 != nil || err2 != nil {
					return nil, bad
				}
				for i, v := range bytes {
					st.diffs[addr+uint32(i)] = v
				}
			}
			s := sf.snippets[len(sf.snippets)-1]
			s.states = append(s.states, st)
		default:
			return nil, bad
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read snippets: %w", err)
	}
	if len(sf.regions) == 0 || len(sf.snippets) == 0 {
		return nil, fmt.Errorf("snippets.txt has no regions or snippets")
	}
	return sf, nil
}

func snipPat(a, seed uint32) byte { return byte(((a ^ seed*0x5bd1e995) * 2654435761) >> 24) }

// snipMachine sets up the native environment: the Linux ia32 user
// selectors as flat DPL-3 segments in the live GDT, loaded with LoadSeg.
func snipMachine(t *testing.T, sf *snipFile) *machine {
	mc := newMachine(t)
	for i, s := range sf.sels {
		if s>>3 == 0 {
			continue
		}
		d := uint64(descUserDS)
		if i == 0 {
			d = descUserCS
		}
		mc.c.SetGDTEntry(int(s>>3), d)
	}
	for i, s := range []SReg{CS, DS, SS, ES, FS, GS} {
		if vec, ec, ok := mc.c.LoadSeg(s, sf.sels[i]); !ok {
			t.Fatalf("LoadSeg(%v, %#x) = #%d(%#x)", s, sf.sels[i], vec, ec)
		}
	}
	if mc.c.CPL() != 3 {
		t.Fatalf("CPL %d after loading CS %#x, want 3", mc.c.CPL(), sf.sels[0])
	}
	return mc
}

func TestVectorSnippets(t *testing.T) {
	sf, err := parseSnippets("testdata/snippets.txt")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	// each snippet runs flat (paging off), then through identity shadow
	// tables (non-PAE and PAE), so every memory form also goes through the
	// page walk, the TLB and the A/D updates
	for _, paging := range []string{"flat", "paging", "pae"} {
		t.Run(paging, func(t *testing.T) {
			for _, s := range sf.snippets {
				total += runSnippetGroup(t, sf, s, paging)
			}
		})
	}
	t.Logf("%d snippets, %d runs", len(sf.snippets), total)
}

func runSnippetGroup(t *testing.T, sf *snipFile, s *snippet, paging string) int {
	n := 0
	t.Run(s.name, func(t *testing.T) {
		mc := snipMachine(t, sf)
		if paging != "flat" {
			pt := mc.newPageTables(paging == "pae")
			pt.identity(testRAM)
			pt.install()
		}
		{
			mc.load(s.addr, s.code)
			end := s.addr + uint32(len(s.code))
			fails := 0
			for _, st := range s.states {
				n++
				if msg := runSnippet(mc, sf, s, &st, end); msg != "" {
					fails++
					if fails <= 3 {
						t.Errorf("snippets.txt:%d seed %#x: %s\n    in:  %s eflags=%08x", st.line, st.seed, msg, regsShort(regs(st.in[:8])), st.in[8])
					}
				}
			}
			if fails > 3 {
				t.Errorf("... %d of %d states fail", fails, len(s.states))
			}
		}
	})
	return n
}

func runSnippet(mc *machine, sf *snipFile, s *snippet, st *snipState, end uint32) string {
	c := mc.c
	for _, r := range sf.regions {
		b := make([]byte, r.size)
		for i := range b {
			b[i] = snipPat(r.addr+uint32(i), st.seed)
		}
		mc.load(r.addr, b)
	}
	mc.setRegs(regs(st.in[:8]))
	c.SetEFLAGS(st.in[8])
	c.SetEIP(s.addr)
	steps := 0
	for c.EIP() != end {
		if steps++; steps > 200000 {
			return fmt.Sprintf("did not reach the end %#x (eip %#x)", end, c.EIP())
		}
		if ex := c.Step(); ex.Reason != ExitStep {
			return fmt.Sprintf("exit %s at eip %#x after %d steps", exitString(ex), c.EIP(), steps-1)
		}
	}
	var d strings.Builder
	d.WriteString(regs(st.out[:8]).diff(mc.regs()))
	gotF := c.EFLAGS()
	m := s.mask | FlagIF | 2
	if (gotF^st.out[8])&m != 0 {
		fmt.Fprintf(&d, " eflags: want %#x got %#x (compared bits %#x: %s vs %s, DF %v vs %v);", st.out[8]&m, gotF&m, m,
			flagString(st.out[8]&m), flagString(gotF&m), st.out[8]&FlagDF != 0, gotF&FlagDF != 0)
	}
	nbad := 0
	for _, r := range sf.regions {
		for i := uint32(0); i < r.size; i++ {
			a := r.addr + i
			want, ok := st.diffs[a]
			if !ok {
				want = snipPat(a, st.seed)
			}
			got, _ := mc.m.Read8(a)
			if got != want {
				if nbad < 6 {
					fmt.Fprintf(&d, " mem[%#x] (%s+%#x): want %#02x got %#02x;", a, r.name, i, want, got)
				}
				nbad++
			}
		}
	}
	if nbad > 6 {
		fmt.Fprintf(&d, " ... %d bytes differ;", nbad)
	}
	return d.String()
}
