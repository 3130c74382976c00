package boot

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		err  string // substring of the error; "" = success
	}{
		{"64", 64 << 20, ""},
		{"32", 32 << 20, ""},
		{"64M", 64 << 20, ""},
		{"128m", 128 << 20, ""},
		{"128MiB", 128 << 20, ""},
		{"128MB", 128 << 20, ""},
		{"1G", 1 << 30, ""},
		{"1g", 1 << 30, ""},
		{"3G", 3 << 30, ""},
		{"3072", 3 << 30, ""},
		{"65536K", 64 << 20, ""},
		{"65540k", 65540 << 10, ""},
		{" 64M ", 64 << 20, ""},

		{"31", 0, "minimum"},
		{"16M", 0, "16 MiB"},
		{"32767K", 0, "minimum"},
		{"0", 0, "minimum"},
		{"3073", 0, "maximum"},
		{"4G", 0, "maximum"},
		{"99999999999999999999G", 0, "maximum"},
		{"65537K", 0, "page size"},
		{"", 0, "want a number"},
		{"M", 0, "want a number"},
		{"-64", 0, "want a number"},
		{"1.5G", 0, "want a number"},
		{"0x40", 0, "want a number"},
		{"64T", 0, "unknown unit"},
		{"64B", 0, "unknown unit"},
		{"64 M", 0, "unknown unit"},
		{"64MiBx", 0, "unknown unit"},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadSize) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseSize(%q) = %d, %v; want an ErrBadSize error mentioning %q", tc.in, got, err, tc.err)
		}
	}
}

// FuzzParseSize: no panic, every error is ErrBadSize, every accepted size
// is a page multiple within [MinRAM, MaxRAM].
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64", "128M", "1G", "65536K", "3073", "1.5G", "", "99999999999999999999", "64MiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if !errors.Is(err, ErrBadSize) {
				t.Fatalf("ParseSize(%q): %v is not ErrBadSize", s, err)
			}
			return
		}
		if n < MinRAM || n > MaxRAM || n%4096 != 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}
