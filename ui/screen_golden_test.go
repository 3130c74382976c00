package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
)

// Screen goldens: the demo Guest paused right after the handoff (the
// ":until linear-off" stop, a deterministic instant), drawn at the
// advertised minimum and at a large terminal, the whole layout and each
// pane zoomed (testdata/screen-WxH-NAME.golden; -update rewrites them).

// settle waits until the frame stops changing and returns it. "Stopped"
// means the same frame for half a second: a zoom's refresh (a new
// Snapshot for the larger pane, then a draw) can take longer than one
// short tick under the race detector on a loaded machine.
func (hs *harness) settle() string {
	hs.t.Helper()
	prev, same := "", 0
	for range 200 {
		time.Sleep(50 * time.Millisecond)
		s := hs.text()
		if s != prev {
			prev, same = s, 0
			continue
		}
		if same++; same >= 10 {
			return s
		}
	}
	hs.t.Fatalf("the screen never settled:\n%s", prev)
	return ""
}

func TestScreenGoldens(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 55}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			hs := start(t, sz[0], sz[1])
			hs.command("until linear-off")
			hs.waitFor("linear_pages OFF")
			hs.waitFor("NEW_PGTABLE @98468")
			hs.key('2') // clears the message: the frame is the layout alone
			golden(t, fmt.Sprintf("screen-%dx%d-layout.golden", sz[0], sz[1]), hs.settle())
			for p := pane(0); p < numPanes; p++ {
				if p == paneConsole {
					hs.focusAndWait(paneHcalls)
					hs.key('z')
					hs.waitFor("3 Hypercalls")
					hs.key('7') // the zoom follows the focus
				} else {
					hs.focusAndWait(p)
					hs.key('z')
				}
				title := fmt.Sprintf("%d %s", p+1, paneNames[p])
				hs.waitUntil("the zoom", func(s string) bool {
					return strings.Contains(s, title) && strings.Count(s, "┐") <= 1
				})
				golden(t, fmt.Sprintf("screen-%dx%d-%s.golden", sz[0], sz[1], strings.ToLower(paneNames[p])), hs.settle())
				if p == paneConsole {
					hs.special(tcell.KeyEscape) // leave the console: z is a key again
					hs.waitFor("[Disassembly]")
				}
				hs.key('z')
				hs.waitFor("linear_pages")
			}
		})
	}
}
