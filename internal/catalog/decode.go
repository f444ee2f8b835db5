package catalog

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The catalog is decoded through yaml.Node rather than yaml.Unmarshal so
// that every diagnostic can carry a line and column, every unknown key is
// an error with a did-you-mean, and one mistake does not hide the others.

// nodeDecoder is implemented by value types that decode themselves from a
// node (durations, secrets, expressions, ordered mappings).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node)
}

type decoder struct {
	file string
	r    *report
	env  Lookup // for checking ${…} references
	src  []byte // the file's text, for what yaml.Node does not say (block indentation)
}

// lineIndent returns the indentation of the 1-based line of the source, or
// 0 when it is not known.
func (d *decoder) lineIndent(line int) int {
	s := d.src
	for i := 1; i < line && len(s) > 0; i++ {
		nl := bytes.IndexByte(s, '\n')
		if nl < 0 {
			return 0
		}
		s = s[nl+1:]
	}
	n := 0
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(n *yaml.Node, hint, format string, args ...any) {
	d.r.errorf(d.pos(n), hint, format, args...)
}

var (
	posType  = reflect.TypeOf(Pos{})
	keysType = reflect.TypeOf(map[string]Pos{})
	anyType  = reflect.TypeOf((*any)(nil)).Elem()
)

// kindName describes a node the way a person reading YAML would.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "true/false"
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("the text %q", shorten(n.Value, 40))
	}
	return "an unsupported YAML node"
}

func shorten(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else {
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		}
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// decode fills v from n, reporting every mismatch.
func (d *decoder) decode(n *yaml.Node, v reflect.Value) {
	n = resolve(n)
	if n == nil {
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.Type().Elem().Kind() != reflect.Struct {
			// A pointer to a number says "written or not": a value that
			// did not decode is not written, so that a later check does
			// not report the zero it would otherwise hold (attempts: many
			// is not also "attempts must be at least 1, got 0").
			before := len(d.r.diags)
			nv := reflect.New(v.Type().Elem())
			d.decode(n, nv.Elem())
			if len(d.r.diags) == before {
				v.Set(nv)
			}
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.String:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode {
			hint := ""
			if n.Kind == yaml.SequenceNode {
				hint = "write one value here, not a list"
			}
			d.errorf(n, hint, "expected text, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.errorf(n, "write true or false", "expected true or false, got %s", kindName(n))
			return
		}
		b, _ := strconv.ParseBool(n.Value)
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.errorf(n, "write a whole number in digits, e.g. 12", "expected a whole number, got %s", kindName(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			d.errorf(n, "write a whole number in digits, e.g. 12", "expected a whole number, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			d.errorf(n, "", "expected a number, got %s", kindName(n))
			return
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			d.errorf(n, "", "expected a number, got %s", kindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		items := n.Content
		if n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String {
			// `alert: email` is read as `alert: [email]`: one is a list of one.
			items = []*yaml.Node{n}
		} else if n.Kind != yaml.SequenceNode {
			d.errorf(n, "start each item with \"- \"", "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			d.decode(item, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n, "", "expected a mapping (key: value), got %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if seen[k.Value] {
				d.errorf(k, "remove one of the two", "%q is declared twice", k.Value)
				continue
			}
			seen[k.Value] = true
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n, "", "cannot read value: %v", err)
			return
		}
		v.Set(reflect.ValueOf(normalize(x)))
	default:
		panic(fmt.Sprintf("catalog: no decoder for %s", v.Type()))
	}
}

// normalize turns YAML-decoded values into their JSON shapes so that test
// inputs behave exactly like webhook bodies.
func normalize(x any) any {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			t[k] = normalize(v)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[fmt.Sprint(k)] = normalize(v)
		}
		return m
	case []any:
		for i := range t {
			t[i] = normalize(t[i])
		}
		return t
	}
	return x
}

// structInfo is what fieldsOf says about a struct type.
type structInfo struct {
	names    []string
	index    map[string]int
	at, keys int
}

// structInfos caches fieldsOf: a catalog decodes the same few types
// thousands of times.
var structInfos sync.Map // reflect.Type → *structInfo

func cachedFieldsOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{}
	si.names, si.index, si.at, si.keys = fieldsOf(t)
	structInfos.Store(t, si)
	return si
}

// fieldsOf lists the YAML keys of a struct type with their field indexes,
// and the indexes of its At (where the mapping starts) and Keys (where
// each key's value is) fields, -1 when it has none.
func fieldsOf(t reflect.Type) (names []string, index map[string]int, at, keys int) {
	index = map[string]int{}
	at, keys = -1, -1
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == posType && f.Name == "At" {
			at = i
			continue
		}
		if f.Type == keysType && f.Name == "Keys" {
			keys = i
			continue
		}
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		names = append(names, tag)
		index[tag] = i
	}
	return names, index, at, keys
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	si := cachedFieldsOf(v.Type())
	names, index, at, keys := si.names, si.index, si.at, si.keys
	if at >= 0 {
		v.Field(at).Set(reflect.ValueOf(d.pos(n)))
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", "expected a mapping (key: value), got %s", kindName(n))
		return
	}
	var keyPos map[string]Pos
	if keys >= 0 {
		keyPos = make(map[string]Pos, len(n.Content)/2)
		v.Field(keys).Set(reflect.ValueOf(keyPos))
	}
	seen := map[string]bool{}
	// A misspelt key (ownr) already says what is missing, and a merge key
	// may hold anything: "missing" would only repeat or guess.
	excused := map[string]bool{}
	merged := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Value == "<<" {
			d.errorf(k, "write the keys out; merge keys hide what a flow really does", "YAML merge keys are not supported")
			merged = true
			continue
		}
		fi, ok := index[k.Value]
		if !ok {
			if s := closest(k.Value, names); s != "" {
				excused[s] = true
			}
			d.errorf(k, suggestOrList(k.Value, names, "valid keys here"), "unknown key %q", k.Value)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "remove one of the two", "%q is declared twice", k.Value)
			continue
		}
		seen[k.Value] = true
		if keyPos != nil {
			if rv := resolve(val); rv != nil {
				keyPos[k.Value] = d.pos(rv)
			}
		}
		d.decode(val, v.Field(fi))
	}
	if merged {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if f.Tag.Get("required") == "true" && !seen[tag] && !excused[tag] {
			d.errorf(n, fmt.Sprintf("add `%s: …`: %s", tag, f.Tag.Get("doc")), "missing %q", tag)
		}
	}
}
