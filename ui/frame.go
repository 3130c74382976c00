package ui

import (
	"strings"

	"github.com/gdamore/tcell/v2"
)

// Frame is a copy of a screen's cells. Take it on the UI goroutine
// (Options.AfterDraw) so it never races with drawing; the tests read it as
// text and the screenshot tool paints it.
type Frame struct {
	W, H   int
	Runes  []rune
	Styles []tcell.Style
}

// CaptureFrame copies s's cells; empty cells become spaces.
func CaptureFrame(s tcell.Screen) Frame {
	w, h := s.Size()
	f := Frame{W: w, H: h, Runes: make([]rune, w*h), Styles: make([]tcell.Style, w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, _, st, _ := s.GetContent(x, y)
			if r == 0 {
				r = ' '
			}
			f.Runes[y*w+x], f.Styles[y*w+x] = r, st
		}
	}
	return f
}

// Text is the frame as lines of text.
func (f Frame) Text() string {
	var sb strings.Builder
	for y := 0; y < f.H; y++ {
		sb.WriteString(string(f.Runes[y*f.W : (y+1)*f.W]))
		sb.WriteByte('\n')
	}
	return sb.String()
}
