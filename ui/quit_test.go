package ui

import (
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// Options.Quit ends Run as q does, whether it is closed while the UI runs
// or before tview has even opened the screen (a signal at start-up), and
// leaves the Guest paused.
func TestQuitChannelEndsRun(t *testing.T) {
	for _, early := range []bool{false, true} {
		name := "while running"
		if early {
			name = "before the screen opens"
		}
		t.Run(name, func(t *testing.T) {
			m, err := hv.New(hv.Config{Image: guests.BootImage})
			if err != nil {
				t.Fatal(err)
			}
			quit := make(chan struct{})
			if early {
				close(quit)
			}
			scr := tcell.NewSimulationScreen("UTF-8")
			drawn := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				done <- Run(m, Options{Screen: scr, Quit: quit, AfterDraw: func(tcell.Screen) {
					select {
					case drawn <- struct{}{}:
					default:
					}
				}})
			}()
			if !early {
				select {
				case <-drawn:
				case <-time.After(waitLimit):
					t.Fatal("the UI never drew a frame")
				}
				close(quit)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Fatal("Run did not return after Quit was closed")
			}
			if m.Running() {
				t.Error("the guest is still running after the UI quit")
			}
		})
	}
}
