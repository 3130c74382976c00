package ui

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv"
)

// Pane 6, Events.

func eventLine(e hv.Event) string {
	return fmt.Sprintf("%10d %s", e.ICount, sanitizeConsole(e.String()))
}
