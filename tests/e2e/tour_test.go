package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tourTag is a guided-tour comment: "// H:100 ...".
var tourTag = regexp.MustCompile(`^\s*// ([LHSM]:\d{3}) `)

// TestTourMatchesCode checks that docs/ARCHITECTURE.md lists every tour
// comment in the code, with its file, and nothing else.
func TestTourMatchesCode(t *testing.T) {
	root := filepath.Join("..", "..")
	inCode := map[string]string{} // tag -> file
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, line := range strings.Split(string(b), "\n") {
			if m := tourTag.FindStringSubmatch(line); m != nil {
				if prev, dup := inCode[m[1]]; dup {
					t.Errorf("tour stop %s is in both %s and %s", m[1], prev, rel)
				}
				inCode[m[1]] = filepath.ToSlash(rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, list, _ := strings.Cut(string(doc), "<!-- tour -->")
	list, _, _ = strings.Cut(list, "<!-- /tour -->")
	item := regexp.MustCompile("^- ([LHSM]:\\d{3}) `([^`]+)`")
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		m := item.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("tour line %q is not \"- TAG `file` — what\"", line)
			continue
		}
		listed[m[1]] = true
		if f, ok := inCode[m[1]]; !ok {
			t.Errorf("the tour lists %s, which no code comment carries", m[1])
		} else if f != m[2] {
			t.Errorf("the tour puts %s in %s; the code has it in %s", m[1], m[2], f)
		}
	}
	for tag, f := range inCode {
		if !listed[tag] {
			t.Errorf("%s (%s) is missing from the tour in docs/ARCHITECTURE.md", tag, f)
		}
	}
}
