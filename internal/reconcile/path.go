package reconcile

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The JSON paths of a check are dot paths: data.count, items.0.total,
// orders.*.ref (* is every item of a list). That covers the answers of
// report endpoints without a query language to learn.

// walk returns every value at path in v; a path that is not there gives
// none.
func walk(v any, path string) ([]any, error) {
	cur := []any{v}
	if path == "" {
		return cur, nil
	}
	for seg := range strings.SplitSeq(path, ".") {
		if seg == "" {
			return nil, fmt.Errorf("json path %q has an empty step", path)
		}
		var next []any
		for _, c := range cur {
			switch x := c.(type) {
			case map[string]any:
				if seg == "*" {
					return nil, fmt.Errorf("json path %q: * goes over a list, and %s is an object", path, seg)
				}
				if v, ok := x[seg]; ok {
					next = append(next, v)
				}
			case []any:
				if seg == "*" {
					next = append(next, x...)
					continue
				}
				i, err := strconv.Atoi(seg)
				if err != nil {
					return nil, fmt.Errorf("json path %q: %q is a list; write an index or *", path, seg)
				}
				if i >= 0 && i < len(x) {
					next = append(next, x[i])
				}
			}
		}
		cur = next
	}
	return cur, nil
}

// one returns the single value at path.
func one(v any, path string) (any, error) {
	got, err := walk(v, path)
	if err != nil {
		return nil, err
	}
	switch len(got) {
	case 0:
		return nil, fmt.Errorf("nothing at json path %q", path)
	case 1:
		return got[0], nil
	}
	return nil, fmt.Errorf("json path %q gives %d values, not one", path, len(got))
}

// keyList returns the keys at path: the items of the list there, or the
// values a * path collects.
func keyList(v any, path string) ([]string, error) {
	got, err := walk(v, path)
	if err != nil {
		return nil, err
	}
	if len(got) == 1 {
		if list, ok := got[0].([]any); ok {
			got = list
		}
	}
	keys := make([]string, 0, len(got))
	for _, g := range got {
		switch x := g.(type) {
		case string:
			keys = append(keys, x)
		case json.Number:
			keys = append(keys, x.String())
		default:
			return nil, fmt.Errorf("json path %q: a key must be text or a number, got %s", path, kindOf(g))
		}
	}
	return keys, nil
}
