package cpu

import "testing"

// The generated names are the ones the gdb stub, the UI and the Host print
// (AT&T register names, lower case).
func TestEnumNames(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{EAX.String(), "eax"}, {EDI.String(), "edi"}, {ESP.String(), "esp"},
		{ES.String(), "es"}, {GS.String(), "gs"},
		{ExitTrap.String(), "trap"}, {ExitUnimplemented.String(), "unimplemented"},
		{WatchWrite.String(), "write"}, {WatchRead.String(), "read"}, {WatchAccess.String(), "access"},
		{Reg(8).String(), "Reg(8)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
