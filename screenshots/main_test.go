package main

import (
	"github.com/lgdbg/lgdbg/ui"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
)

// TestGenerate runs the generator into a temporary directory and checks
// that each PNG is a real picture of the state its script reaches.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	shots, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"start":      {"linear_pages ON", "PAUSED", "1 Registers", "7 Console"},
		"linear-off": {"linear_pages OFF", "LGUEST_INIT", "NEW_PGTABLE", "step at eip"},
		"power-off":  {"linear_pages OFF", "DEAD", "boot: PASS"},
		"help":       {"lgdbg keys", "toggle a breakpoint"},
		"travel":     {"PAUSED", "history 0..", "travelled to icount", "shadow pgd written @"},
		"handoff":    {"handoff: LGUEST_INIT @", "slot 1 -> ", "breakpoint at eip 0xc01", "Enter jumped: walk", "LGUEST_INIT lguest_data="},
	}
	if len(shots) != len(want) {
		t.Fatalf("%d shots, want %d", len(shots), len(want))
	}
	for _, s := range shots {
		for _, w := range want[s.name] {
			if !strings.Contains(s.text, w) {
				t.Errorf("%s: frame lacks %q:\n%s", s.name, w, s.text)
			}
		}
		img := decode(t, s.path)
		w, h := cols, rows
		if s.name == "handoff" || s.name == "travel" {
			w, h = 200, 55
		}
		if b := img.Bounds(); b.Dx() != w*cellW || b.Dy() != h*cellH {
			t.Errorf("%s: %v, want %dx%d pixels", s.name, b, w*cellW, h*cellH)
		}
		colours := map[color.RGBA]int{}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				r, g, bl, _ := img.At(x, y).RGBA()
				colours[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 0xff}]++
			}
		}
		// Text in several colours on the background, not a blank image.
		if len(colours) < 4 || colours[defaultBG] == 0 || colours[defaultFG] == 0 {
			t.Errorf("%s: %d colours (background %d px, text %d px): not a rendered screen",
				s.name, len(colours), colours[defaultBG], colours[defaultFG])
		}
	}
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestRenderCells(t *testing.T) {
	// A reversed red "A" next to a box corner: the cell colours swap and
	// the corner is drawn although the font has no glyph for it.
	f := ui.Frame{W: 2, H: 1, Runes: []rune{'A', '┌'}}
	f.Styles = make([]tcell.Style, 2)
	f.Styles[0] = tcell.StyleDefault.Foreground(tcell.ColorRed).Reverse(true)
	img := render(f)
	if got := img.RGBAAt(0, 0); got != (color.RGBA{0xff, 0, 0, 0xff}) {
		t.Errorf("reversed cell background = %v, want red", got)
	}
	corner := 0
	for y := 0; y < cellH; y++ {
		for x := cellW; x < 2*cellW; x++ {
			if img.RGBAAt(x, y) == defaultFG {
				corner++
			}
		}
	}
	if want := cellW/2 + cellH/2 - 1; corner != want { // two arms sharing the centre pixel
		t.Errorf("box corner drew %d pixels, want %d", corner, want)
	}
}
