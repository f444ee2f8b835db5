package catalog

import (
	"reflect"

	"go.yaml.in/yaml/v3"
)

// FieldTypes are the semantic types a model field can have, besides the
// name of another model.
var FieldTypes = []string{
	"string", "integer", "decimal", "bool", "date", "datetime", "money",
	"email", "phone", "country", "currency", "enum", "id", "object", "list",
	// json is any JSON value, passed through unchanged: for data that one
	// system sends and another needs as is (e.g. order items).
	"json",
}

func isFieldType(t string) bool {
	for _, ft := range FieldTypes {
		if ft == t {
			return true
		}
	}
	return false
}

// keyOrder lists the keys of the mapping under key in n, as written.
func keyOrder(n *yaml.Node, key string) []string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != key {
			continue
		}
		v := resolve(n.Content[i+1])
		if v == nil || v.Kind != yaml.MappingNode {
			return nil
		}
		var out []string
		for j := 0; j+1 < len(v.Content); j += 2 {
			out = append(out, v.Content[j].Value)
		}
		return out
	}
	return nil
}

func (m *Model) decodeNode(d *decoder, n *yaml.Node) {
	d.decodeStruct(n, reflect.ValueOf(m).Elem())
	m.Order = keyOrder(n, "fields")
}

// decodeNode accepts the short form `email: email` as well as a mapping.
func (f *ModelField) decodeNode(d *decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		f.Type = n.Value
		f.At = d.pos(n)
		return
	}
	d.decodeStruct(n, reflect.ValueOf(f).Elem())
	f.Order = keyOrder(n, "fields")
}

// Field finds a field of the model by name.
func (m *Model) Field(name string) (*ModelField, bool) {
	f, ok := m.Fields[name]
	return f, ok
}
