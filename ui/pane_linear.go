package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lgdbg/lgdbg/hv"
)

// The linear_pages indicator and the Host state beside it.

// Three-row block letters for the linear_pages indicator: the one fact a
// kernel developer watching the handoff must not miss (spec §7.8: the
// first NEW_PGTABLE clears linear_pages and the fake 1:1 mapping is gone).
var bigFont = map[rune][3]string{
	'O': {"█▀▀█", "█  █", "▀▀▀▀"},
	'N': {"█▄ █", "█ ▀█", "▀  ▀"},
	'F': {"█▀▀▀", "█▀▀ ", "▀   "},
}

// bigOFFWidth is the width of the widest word the indicator shows.
var bigOFFWidth = utf8.RuneCountInString(bigText("OFF")[0])

func bigText(s string) [3]string {
	var rows [3]string
	for i, r := range s {
		g := bigFont[r]
		for row := range rows {
			if i > 0 {
				rows[row] += " "
			}
			rows[row] += g[row]
		}
	}
	return rows
}

// linearState is what the indicator shows.
type linearState struct {
	on       bool
	offAt    uint64 // icount of the linear-off event
	haveOff  bool
	gpgdir   uint32
	slot     int
	haveSlot bool
}

func renderLinear(s linearState, width int) string {
	word, color := "OFF", "[red::b]"
	if s.on {
		word, color = "ON", "[lime::b]"
	}
	text := []string{color + "linear_pages " + word + tagOff}
	switch {
	case s.on:
		text = append(text, "fake 1:1 mapping (no NEW_PGTABLE yet)")
	case s.haveOff:
		text = append(text, fmt.Sprintf("off at icount %d", s.offAt))
	default:
		text = append(text, "off (event no longer in the ring)")
	}
	if s.haveSlot {
		text = append(text, fmt.Sprintf("slot %d pgdir %08x", s.slot, s.gpgdir))
	}
	big := bigText(word)
	bigW := utf8.RuneCountInString(big[0]) // ON is narrower than OFF
	textW := 0
	for _, t := range text {
		textW = max(textW, utf8.RuneCountInString(stripTags(t)))
	}
	var lines []string
	switch {
	case width >= bigOFFWidth+2+textW:
		// Letters on the left, the facts beside them.
		for i, row := range big {
			// Pad to the width of "OFF" so the facts do not jump sideways
			// when the flag flips.
			l := color + row + tagOff + strings.Repeat(" ", max(0, bigOFFWidth-bigW)+2)
			if i < len(text) {
				l += text[i]
			}
			lines = append(lines, l)
		}
	default:
		// Narrow: the facts alone, so the pgdir and the Host lines
		// under them still fit (issue 12: the letters pushed them out).
		lines = text
	}
	return strings.Join(lines, "\n")
}

// renderHost adds what the Host knows beyond the registers under the
// indicator: where lguest_data is (LGUEST_INIT, spec §3.3.2, §4), the pending
// interrupts and the clock.
func renderHost(h hv.HostState) string {
	data := tagDim + "no LGUEST_INIT yet" + tagOff
	if h.HaveLguestData {
		data = fmt.Sprintf("lguest_data %08x kernel_address %08x", h.LguestData, h.KernelAddress)
	}
	timer := "timer off"
	if h.TimerArmed {
		timer = fmt.Sprintf("timer in %d ns", int64(h.TimerDeadline-h.Now))
	}
	state := ""
	if h.Halted {
		state = " halted"
	}
	if h.Dead {
		state = " " + tagChanged + "dead" + tagOff
	}
	return fmt.Sprintf("%s\nirqs pending %08x %s%s", data, h.IrqsPending, timer, state)
}
