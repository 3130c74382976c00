// Package fieldcopy copies a struct's fields by reflection, all but the
// ones named, so a checkpoint of a struct keeps capturing the fields other
// people add to it later without anyone remembering to list them.
//
// Only plain values are copied by default: a field whose type holds a
// pointer, slice, map, channel, function or interface is refused unless it
// is named as shared (copied shallowly: its referent must never be
// mutated) or skipped, so a new field of such a type fails Plan — and the
// test that builds the plan — instead of silently aliasing state between a
// checkpoint and the live struct.
package fieldcopy

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Plan is the list of fields of one struct type to copy.
type Plan struct {
	t      reflect.Type
	fields []int
}

// New plans copies of struct type t, leaving out skip and copying shared
// shallowly.
func New(t reflect.Type, skip, shared []string) (*Plan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("fieldcopy: %s is not a struct", t)
	}
	named := map[string]bool{}
	for _, n := range skip {
		named[n] = false
	}
	for _, n := range shared {
		named[n] = true
	}
	p := &Plan{t: t}
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		sh, isNamed := named[f.Name]
		seen[f.Name] = true
		switch {
		case isNamed && !sh:
			continue
		case !isNamed && holdsRefs(f.Type):
			return nil, fmt.Errorf("fieldcopy: %s.%s (%s) holds references: name it as skipped or shared", t, f.Name, f.Type)
		}
		p.fields = append(p.fields, i)
	}
	for n := range named {
		if !seen[n] {
			return nil, fmt.Errorf("fieldcopy: %s has no field %s", t, n)
		}
	}
	return p, nil
}

// Must is New for package-level plans whose test builds them too.
func Must(t reflect.Type, skip, shared []string) *Plan {
	p, err := New(t, skip, shared)
	if err != nil {
		panic(err)
	}
	return p
}

// Copy copies the planned fields from *src to *dst; both must point to the
// planned struct type.
func (p *Plan) Copy(dst, src any) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	if d.Type() != p.t || s.Type() != p.t {
		panic(fmt.Sprintf("fieldcopy: plan for %s used on %s and %s", p.t, d.Type(), s.Type()))
	}
	for _, i := range p.fields {
		df, sf := d.Field(i), s.Field(i)
		// Unexported fields are not settable through reflect; address
		// them directly (same type, same layout).
		dv := reflect.NewAt(df.Type(), unsafe.Pointer(df.UnsafeAddr())).Elem()
		sv := reflect.NewAt(sf.Type(), unsafe.Pointer(sf.UnsafeAddr())).Elem()
		dv.Set(sv)
	}
}

func holdsRefs(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer, reflect.String:
		// Strings are immutable: sharing one is safe.
		return t.Kind() != reflect.String
	case reflect.Array:
		return holdsRefs(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if holdsRefs(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
