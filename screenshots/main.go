// Command screenshots renders lgdbg's TUI in a few scripted states to PNG
// files for the README:
//
//	go run ./screenshots [-out DIR]
//
// It drives the real UI (ui.Run) on the built-in demo guest with a tcell
// SimulationScreen, copies each frame's cells on the UI goroutine, and
// paints them with the Inconsolata 8x16 bitmap font, honouring colours,
// bold and reverse video. Box-drawing and block characters, which the
// font lacks, are drawn as lines and rectangles. No terminal, ttyd, ffmpeg
// or browser is involved, so the images are the same on every machine.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
	"github.com/lgdbg/lgdbg/ui"
	"golang.org/x/image/font"
	"golang.org/x/image/font/inconsolata"
	"golang.org/x/image/math/fixed"
)

func main() {
	out := flag.String("out", defaultOut(), "directory for the PNG files")
	flag.Parse()
	shots, err := generate(*out)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
	for _, s := range shots {
		fmt.Println(s.path)
	}
}

// defaultOut is this directory when run from the repository root (go run
// ./screenshots), else the current directory.
func defaultOut() string {
	if st, err := os.Stat(filepath.Join("screenshots", "main.go")); err == nil && !st.IsDir() {
		return "screenshots"
	}
	return "."
}

// Terminal size of every shot: the size the README recommends.
const cols, rows = 120, 40

// shot is one rendered state.
type shot struct {
	name string
	path string
	text string // the frame as text, for tests
}

// step is one scripted action: keys to type, then text to wait for.
type step struct {
	keys string // runes; "\x1b" is Esc, "\r" Enter
	wait string
}

var scripts = []struct {
	name  string
	steps []step
	// elf, when set, is a test guest built from tests/guests (with its
	// symbols) instead of the embedded demo image; w x h overrides the
	// size.
	elf  string
	w, h int
	// history turns time travel on (hv.Config.History).
	history bool
}{
	{name: "start", steps: []step{{wait: "linear_pages ON"}}},
	// A kernel-like boot (head_32's path into start_kernel, with
	// symbols) paused at the handoff, on a large terminal: the whole
	// decoded log, the handoff line and the walk of the new tables.
	{name: "handoff", elf: "boot.elf", w: 200, h: 55, steps: []step{
		{keys: ":until linear-off\r", wait: "until linear-off: linear_pages off"},
		{keys: ":break start_kernel\r", wait: "breakpoint 1 at"},
		{keys: "c", wait: "breakpoint at eip"},
		{keys: "6/#PF\r", wait: "Events /#PF"},
		{keys: "\r", wait: "Enter jumped"},
	}},
	{name: "linear-off", steps: []step{
		{keys: ":until linear-off\r", wait: "until linear-off: linear_pages off"},
		{keys: "s", wait: "step at eip"},
		{keys: "s", wait: "step at eip"},
	}},
	{name: "power-off", steps: []step{{keys: "c", wait: "boot: PASS"}, {wait: "DEAD"}}},
	{name: "help", steps: []step{{keys: "?", wait: "lgdbg keys"}}},
	// Time travel: from the dead Guest back to just before its second
	// page fault, picked in the Events pane (Enter expands, Enter again
	// travels); the walk shows who wrote its shadow entries.
	{name: "travel", history: true, w: 200, h: 55, steps: []step{
		{keys: "c", wait: "DEAD"},
		{keys: "6/cr2 0x104000\r", wait: "Events /cr2 0x104000 1/1"},
		{keys: "\r", wait: "Enter again or g"},
		{keys: "\r", wait: "travelled to icount"},
	}},
}

// generate writes one PNG per script into dir.
func generate(dir string) ([]shot, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	var shots []shot
	var err error
	for _, sc := range scripts {
		image := guests.BootImage
		name := "boot.bzImage (demo)"
		if sc.elf != "" {
			if image, err = builtGuest(sc.elf); err != nil {
				return nil, fmt.Errorf("%s: %w", sc.name, err)
			}
			name = "tests/guests/" + sc.elf
		}
		w, h := cols, rows
		if sc.w != 0 {
			w, h = sc.w, sc.h
		}
		var history int64
		if sc.history {
			history = 64 << 20
		}
		f, err := runScript(image, name, w, h, history, sc.steps)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		path := filepath.Join(dir, sc.name+".png")
		if err := writePNG(path, render(f)); err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		shots = append(shots, shot{name: sc.name, path: path, text: f.Text()})
	}
	return shots, nil
}

const waitLimit = 20 * time.Second

// runScript runs the UI on a fresh demo guest, plays the steps and returns
// the frame after the last one has settled.
func runScript(image []byte, name string, cols, rows int, history int64, steps []step) (ui.Frame, error) {
	m, err := hv.New(hv.Config{Image: image, History: history})
	if err != nil {
		return ui.Frame{}, err
	}
	scr := tcell.NewSimulationScreen("UTF-8")
	var (
		mu   sync.Mutex
		last ui.Frame
		n    int // frames drawn
	)
	opts := ui.Options{
		StartPaused: true,
		ImageName:   name,
		Screen:      scr,
		AfterDraw: func(s tcell.Screen) {
			f := ui.CaptureFrame(s)
			mu.Lock()
			last, n = f, n+1
			mu.Unlock()
		},
	}
	done := make(chan error, 1)
	go func() { done <- ui.Run(m, opts) }()
	current := func() (ui.Frame, int) {
		mu.Lock()
		defer mu.Unlock()
		return last, n
	}
	waitFor := func(what string, ok func(ui.Frame) bool) error {
		deadline := time.Now().Add(waitLimit)
		for {
			select {
			case err := <-done:
				return fmt.Errorf("the UI exited while waiting for %s: %v", what, err)
			default:
			}
			if f, _ := current(); ok(f) {
				return nil
			}
			if time.Now().After(deadline) {
				f, _ := current()
				return fmt.Errorf("timed out waiting for %s; screen:\n%s", what, f.Text())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	quit := func() error {
		scr.InjectKey(tcell.KeyEscape, 0, tcell.ModNone) // close help or a prompt
		scr.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
		select {
		case err := <-done:
			return err
		case <-time.After(waitLimit):
			return errors.New("the UI did not quit")
		}
	}

	// The simulation screen starts at 80x25; resize once it is up.
	if err := waitFor("the first frame", func(f ui.Frame) bool { return f.W > 0 }); err != nil {
		return ui.Frame{}, errors.Join(err, quit())
	}
	scr.SetSize(cols, rows)
	scr.PostEvent(tcell.NewEventResize(cols, rows))
	if err := waitFor("the resize", func(f ui.Frame) bool { return f.W == cols && f.H == rows }); err != nil {
		return ui.Frame{}, errors.Join(err, quit())
	}
	for _, st := range steps {
		for _, r := range st.keys {
			switch r {
			case '\x1b':
				scr.InjectKey(tcell.KeyEscape, 0, tcell.ModNone)
			case '\r':
				scr.InjectKey(tcell.KeyEnter, 0, tcell.ModNone)
			default:
				scr.InjectKey(tcell.KeyRune, r, tcell.ModNone)
			}
		}
		if st.wait != "" {
			if err := waitFor(fmt.Sprintf("%q", st.wait), func(f ui.Frame) bool { return strings.Contains(f.Text(), st.wait) }); err != nil {
				return ui.Frame{}, errors.Join(err, quit())
			}
		}
	}
	// Settle: the guest is stopped, so after a few more refreshes the
	// frame no longer changes.
	var f ui.Frame
	for range 50 {
		_, before := current()
		time.Sleep(150 * time.Millisecond)
		var after int
		f, after = current()
		prev := f.Text()
		time.Sleep(150 * time.Millisecond)
		g, _ := current()
		if after > before && g.Text() == prev {
			break
		}
	}
	return f, quit()
}

// Cell size in pixels (Inconsolata 8x16).
const cellW, cellH = 8, 16

var (
	defaultFG = color.RGBA{0xd0, 0xd0, 0xd0, 0xff}
	defaultBG = color.RGBA{0x1c, 0x1c, 0x1c, 0xff}
)

func rgb(c tcell.Color, def color.RGBA) color.RGBA {
	if c == tcell.ColorDefault || !c.Valid() {
		return def
	}
	r, g, b := c.RGB()
	if r < 0 {
		return def
	}
	return color.RGBA{uint8(r), uint8(g), uint8(b), 0xff}
}

// render paints a ui.Frame.
func render(f ui.Frame) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.W*cellW, f.H*cellH))
	draw.Draw(img, img.Bounds(), &image.Uniform{defaultBG}, image.Point{}, draw.Src)
	regular := inconsolata.Regular8x16
	bold := inconsolata.Bold8x16
	for y := 0; y < f.H; y++ {
		for x := 0; x < f.W; x++ {
			r, st := f.Runes[y*f.W+x], f.Styles[y*f.W+x]
			fgc, bgc, attr := st.Decompose()
			fg, bg := rgb(fgc, defaultFG), rgb(bgc, defaultBG)
			if attr&tcell.AttrReverse != 0 {
				fg, bg = bg, fg
			}
			if attr&tcell.AttrDim != 0 {
				fg = color.RGBA{fg.R / 2, fg.G / 2, fg.B / 2, 0xff}
			}
			cell := image.Rect(x*cellW, y*cellH, (x+1)*cellW, (y+1)*cellH)
			draw.Draw(img, cell, &image.Uniform{bg}, image.Point{}, draw.Src)
			if r == ' ' {
				continue
			}
			if drawBox(img, cell, r, fg) {
				continue
			}
			face := font.Face(regular)
			if attr&tcell.AttrBold != 0 {
				face = bold
			}
			d := font.Drawer{Dst: img, Src: &image.Uniform{fg}, Face: face,
				Dot: fixed.P(cell.Min.X, cell.Min.Y+face.Metrics().Ascent.Ceil())}
			if _, ok := face.GlyphAdvance(r); !ok {
				r = '?'
			}
			d.DrawString(string(r))
		}
	}
	return img
}

// Box-drawing arms: up, down, left, right; 1 = light, 2 = heavy/double.
var boxArms = map[rune][4]int{
	'─': {0, 0, 1, 1}, '│': {1, 1, 0, 0}, '┌': {0, 1, 0, 1}, '┐': {0, 1, 1, 0},
	'└': {1, 0, 0, 1}, '┘': {1, 0, 1, 0}, '├': {1, 1, 0, 1}, '┤': {1, 1, 1, 0},
	'┬': {0, 1, 1, 1}, '┴': {1, 0, 1, 1}, '┼': {1, 1, 1, 1},
	'═': {0, 0, 2, 2}, '║': {2, 2, 0, 0}, '╔': {0, 2, 0, 2}, '╗': {0, 2, 2, 0},
	'╚': {2, 0, 0, 2}, '╝': {2, 0, 2, 0},
}

// drawBox draws the box-drawing and block characters tview and the
// linear_pages indicator use; it reports whether r was one of them.
func drawBox(img *image.RGBA, c image.Rectangle, r rune, fg color.RGBA) bool {
	fill := func(rc image.Rectangle) { draw.Draw(img, rc.Intersect(c), &image.Uniform{fg}, image.Point{}, draw.Src) }
	mx, my := c.Min.X+cellW/2, c.Min.Y+cellH/2
	switch r {
	case '█':
		fill(c)
		return true
	case '▀':
		fill(image.Rect(c.Min.X, c.Min.Y, c.Max.X, my))
		return true
	case '▄':
		fill(image.Rect(c.Min.X, my, c.Max.X, c.Max.Y))
		return true
	}
	arms, ok := boxArms[r]
	if !ok {
		return false
	}
	// A double line is two thin lines two pixels either side of the
	// centre; a light line is one line through it.
	offs := func(kind int) []int {
		if kind == 2 {
			return []int{-2, 2}
		}
		return []int{0}
	}
	for i, kind := range arms {
		if kind == 0 {
			continue
		}
		for _, o := range offs(kind) {
			switch i {
			case 0: // up
				fill(image.Rect(mx+o, c.Min.Y, mx+o+1, my+1))
			case 1: // down
				fill(image.Rect(mx+o, my, mx+o+1, c.Max.Y))
			case 2: // left
				fill(image.Rect(c.Min.X, my+o, mx+1, my+o+1))
			case 3: // right
				fill(image.Rect(mx, my+o, c.Max.X, my+o+1))
			}
		}
	}
	// Double corners: join the two parallel lines (the crossing pieces
	// above overlap in the middle, which reads well at this size).
	return true
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// builtGuest builds the test guests once (gcc -m32 and ld, tests/guests)
// and returns one of them.
func builtGuest(file string) ([]byte, error) {
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "lgdbg-screenshots"); buildErr == nil {
			buildErr = guests.Build(buildDir)
		}
	})
	if buildErr != nil {
		return nil, fmt.Errorf("building the test guests: %w", buildErr)
	}
	return os.ReadFile(filepath.Join(buildDir, file))
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)
