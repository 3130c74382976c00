package ui

import (
	"strings"
)

// The panes are plain text with tview colour tags, produced by the pure
// functions in this file from Machine snapshots, so they can be tested
// without a screen. Red means "changed" or "differs" throughout, as in
// Bochs' debugger GUI and gdb's TUI register window.
const (
	tagChanged = "[red::b]"
	tagOff     = "[-:-:-]"
	tagDim     = "[gray]"
	tagLabel   = "[yellow]"
	tagFake    = "[yellow]"
	tagPC      = "[green::b]"
	tagBP      = "[red::b]"
)

func endTag(open string) string {
	if open == "" {
		return ""
	}
	return tagOff
}

// stripTags removes the colour tags this file writes, for width sums.
func stripTags(s string) string {
	var sb strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			sb.WriteString(s)
			break
		}
		sb.WriteString(s[:i])
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			sb.WriteString(s[i:])
			break
		}
		s = s[i+j+1:]
	}
	return sb.String()
}
