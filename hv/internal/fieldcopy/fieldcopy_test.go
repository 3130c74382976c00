package fieldcopy

import (
	"reflect"
	"strings"
	"testing"
)

type sample struct {
	a     int
	b     [4]uint32
	name  string
	cache []byte
	share *int
}

func TestPlans(t *testing.T) {
	typ := reflect.TypeOf(sample{})
	for _, tc := range []struct {
		skip, shared []string
		err          string
	}{
		{nil, nil, "cache"},
		{[]string{"cache"}, nil, "share"},
		{[]string{"cache", "nosuch"}, []string{"share"}, "no field nosuch"},
		{[]string{"cache"}, []string{"share"}, ""},
	} {
		_, err := New(typ, tc.skip, tc.shared)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("skip %v shared %v: %v", tc.skip, tc.shared, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("skip %v shared %v: error %v, want one naming %q", tc.skip, tc.shared, err, tc.err)
		}
	}
}

func TestCopyLeavesSkippedFields(t *testing.T) {
	p := Must(reflect.TypeOf(sample{}), []string{"cache"}, []string{"share"})
	n := 7
	src := sample{a: 1, b: [4]uint32{1, 2, 3, 4}, name: "x", cache: []byte{9}, share: &n}
	dst := sample{cache: []byte{5}}
	p.Copy(&dst, &src)
	if dst.a != 1 || dst.b != src.b || dst.name != "x" || dst.share != &n {
		t.Errorf("copied %+v", dst)
	}
	if len(dst.cache) != 1 || dst.cache[0] != 5 {
		t.Errorf("skipped field changed: %v", dst.cache)
	}
}
