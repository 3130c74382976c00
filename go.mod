module github.com/lgdbg/lgdbg

go 1.26.8

require (
	github.com/gdamore/tcell/v2 v2.13.10
	github.com/pierrec/lz4/v4 v4.1.33
	github.com/rivo/tview v0.42.0
	github.com/ulikunitz/xz v0.5.17
	golang.org/x/arch v0.32.0
	golang.org/x/image v0.47.0
	golang.org/x/term v0.37.0
)

require (
	github.com/gdamore/encoding v1.0.1 // indirect
	github.com/lucasb-eyer/go-colorful v1.3.0 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
