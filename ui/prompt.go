package ui

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
)

// The ":" prompt's history (Up/Down, kept across runs) and Tab completion
// of commands, symbols and event words.

// maxHistory bounds the history kept in memory and on disk.
const maxHistory = 500

// history is the command lines run, oldest first, and the browsing
// position while the prompt is open (len(lines) = the line being typed).
type history struct {
	lines []string
	pos   int
	draft string // what was typed before Up
	file  string // "" = not kept across runs
}

// DefaultHistoryFile is where the TUI keeps its command history: the XDG
// state directory ($XDG_STATE_HOME/lgdbg/history, else
// ~/.local/state/lgdbg/history); "" when neither is known.
func DefaultHistoryFile() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "lgdbg", "history")
}

// loadHistory reads file; a missing file is an empty history.
func loadHistory(file string) (*history, error) {
	h := &history{file: file}
	if file == "" {
		return h, nil
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			h.lines = append(h.lines, l)
		}
	}
	h.lines = h.lines[max(0, len(h.lines)-maxHistory):]
	h.pos = len(h.lines)
	return h, sc.Err()
}

// add records a line run (not a repeat of the last one) and saves the
// history; the error is for the message line, the line is kept anyway.
func (h *history) add(line string) error {
	line = strings.TrimSpace(line)
	h.pos, h.draft = len(h.lines), ""
	if line == "" || (len(h.lines) > 0 && h.lines[len(h.lines)-1] == line) {
		return nil
	}
	h.lines = append(h.lines, line)
	h.lines = h.lines[max(0, len(h.lines)-maxHistory):]
	h.pos = len(h.lines)
	return h.save()
}

func (h *history) save() error {
	if h.file == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(h.file), 0o700); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	tmp := h.file + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(h.lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := os.Rename(tmp, h.file); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// step moves through the history (-1 older, +1 newer) from the line
// being typed, and returns the line to show.
func (h *history) step(d int, typed string) string {
	if h.pos == len(h.lines) {
		h.draft = typed
	}
	h.pos = max(0, min(len(h.lines), h.pos+d))
	if h.pos == len(h.lines) {
		return h.draft
	}
	return h.lines[h.pos]
}

// promptKey handles the prompt's own keys before the input field does.
func (a *app) promptKey(ev *tcell.EventKey) *tcell.EventKey {
	if a.prompt.GetLabel() != ":" {
		return ev
	}
	switch ev.Key() {
	case tcell.KeyUp, tcell.KeyDown:
		d := -1
		if ev.Key() == tcell.KeyDown {
			d = 1
		}
		a.prompt.SetText(a.hist.step(d, a.prompt.GetText()))
		return nil
	case tcell.KeyTab:
		line, cands := complete(a.prompt.GetText(), a.completionWords)
		a.prompt.SetText(line)
		if len(cands) > 1 {
			a.setMsg(false, strings.Join(cands[:min(len(cands), 12)], " ")+more(len(cands)-12))
		}
		return nil
	case tcell.KeyBacktab:
		return nil
	}
	return ev
}

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" ... (%d more)", n)
}

// completionWords lists what may follow cmd: symbols after a command
// taking an address, the event words after until.
func (a *app) completionWords(cmd string) []string {
	switch cmd {
	case "until":
		return eventWords()
	case "walk", "w", "x", "mem", "break", "b", "clear", "delete", "d", "disas", "advance", "tbreak":
		return a.syms.names()
	case "syntax":
		return []string{"gnu", "intel"}
	case "info", "i":
		return []string{"break", "breakpoints"}
	}
	return nil
}

// eventWords is every ":until" word: the kinds of hv/event's table, and
// hcall:NAME for every hypercall.
func eventWords() []string {
	var out []string
	for _, w := range event.Words {
		out = append(out, string(w.Kind))
		if w.Arg == event.ArgHypercall {
			for _, n := range hcall.Names() {
				out = append(out, string(w.Kind)+":"+n)
			}
		}
	}
	return out
}

// commandNames is every command name the prompt accepts.
func commandNames() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.names...)
	}
	sort.Strings(out)
	return out
}

// complete completes the last word of line: a command name first, then
// what that command takes (words(cmd)). It returns the new line and the
// candidates (more than one: the line got their common prefix).
func complete(line string, words func(cmd string) []string) (string, []string) {
	cmd, rest, hasArg := strings.Cut(strings.TrimLeft(line, " "), " ")
	var pool []string
	prefix := cmd
	if hasArg {
		pool = words(cmd)
		// The word being completed is the last term of an address
		// expression (start_kernel+0x10) or the whole argument.
		i := strings.LastIndexAny(rest, " +-")
		prefix = rest[i+1:]
	} else {
		pool = commandNames()
	}
	var cands []string
	for _, w := range pool {
		if strings.HasPrefix(w, prefix) {
			cands = append(cands, w)
		}
	}
	cands = dedupSorted(cands)
	if len(cands) == 0 {
		return line, nil
	}
	common := cands[0]
	for _, c := range cands[1:] {
		for !strings.HasPrefix(c, common) {
			common = common[:len(common)-1]
		}
	}
	completed := line[:len(line)-len(prefix)] + common
	if len(cands) == 1 && !hasArg {
		completed += " "
	}
	return completed, cands
}

func dedupSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
