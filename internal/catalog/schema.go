package catalog

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Kinds of catalog file, each with its own JSON Schema.
var SchemaKinds = []string{"project", "system", "model", "flow"}

// Schema returns the JSON Schema (draft 2020-12) of one kind of catalog
// file, generated from the same types and doc tags the loader uses, so an
// editor's YAML extension checks files exactly as `seam validate` does
// (short of the checks that need the whole catalog).
func Schema(kind string) ([]byte, bool) {
	var t reflect.Type
	switch kind {
	case "project":
		t = reflect.TypeOf(Project{})
	case "system":
		t = reflect.TypeOf(System{})
	case "model":
		t = reflect.TypeOf(Model{})
	case "flow":
		t = reflect.TypeOf(Flow{})
	default:
		return nil, false
	}
	s := schemaOf(t, map[reflect.Type]bool{})
	if kind == "model" {
		s["$defs"] = obj{"ModelField": schemaOf(reflect.TypeOf(ModelField{}), map[reflect.Type]bool{})}
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://seam.dev/schema/" + kind + ".schema.json"
	s["title"] = "Seam " + kind + " file"
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n'), true
}

type obj = map[string]any

var (
	durationSchema = obj{"type": "string", "pattern": `^(0|(\d+(\.\d+)?(ms|s|m|h|d|w|y))+)$`, "examples": []string{"30s", "15m", "2h", "90d"}}
	secretSchema   = obj{"type": "string", "pattern": `^\$\{[^}]+\}$`, "description": "A reference to a secret, never its value: \"${ENV_VAR}\" or \"${file:/run/secrets/name}\"."}
	exprSchema     = obj{"type": "string", "description": "An expression of the mapping language, e.g. lower(trim(in.email))."}
)

func schemaOf(t reflect.Type, seen map[reflect.Type]bool) obj {
	switch t {
	case reflect.TypeOf(Duration{}):
		return clone(durationSchema)
	case reflect.TypeOf(Secret{}):
		return clone(secretSchema)
	case reflect.TypeOf(Text{}):
		return obj{"type": "string"}
	case reflect.TypeOf(Expr{}):
		return clone(exprSchema)
	case reflect.TypeOf(FieldMap{}):
		return obj{"type": "object", "additionalProperties": clone(exprSchema)}
	case reflect.TypeOf(Size{}):
		return obj{"type": []string{"string", "integer"}, "pattern": `^\d+\s*(B|KB|KiB|MB|MiB|GB|GiB)?$`, "examples": []string{"1MiB"}}
	case reflect.TypeOf(Percent{}):
		return obj{"type": []string{"string", "number"}, "pattern": `^\d+(\.\d+)?%$`, "examples": []string{"5%"}}
	case reflect.TypeOf(Rate{}):
		return obj{"type": "string", "pattern": `^\d+(\.\d+)?/(s|m|h)$`, "examples": []string{"50/s"}}
	case reflect.TypeOf(Schedule{}):
		return obj{"type": "string", "examples": []string{"Mon-Fri 08:00-20:00 Europe/Prague"}}
	case reflect.TypeOf(Tolerance{}):
		return obj{"type": []string{"string", "number"}, "pattern": `^\d+(\.\d+)?%?$`, "examples": []string{"0", "2.50", "1%"}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		if t.Elem() == reflect.TypeOf(ModelField{}) {
			// The short form `email: email` is a type name alone.
			return obj{"anyOf": []any{obj{"type": "string"}, schemaOf(t.Elem(), seen)}}
		}
		return schemaOf(t.Elem(), seen)
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return obj{"type": "integer"}
	case reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice:
		item := schemaOf(t.Elem(), seen)
		if t.Elem().Kind() == reflect.String {
			return obj{"anyOf": []any{obj{"type": "array", "items": item}, item}}
		}
		return obj{"type": "array", "items": item}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": schemaOf(t.Elem(), seen)}
	case reflect.Interface:
		return obj{}
	case reflect.Struct:
		if seen[t] {
			// Recursive types (a model field's fields) refer to themselves.
			return obj{"$ref": "#/$defs/" + t.Name()}
		}
		seen[t] = true
		defer delete(seen, t)
		props := obj{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			p := schemaOf(f.Type, seen)
			if doc := f.Tag.Get("doc"); doc != "" {
				p["description"] = doc
			}
			if enum := f.Tag.Get("enum"); enum != "" {
				p["enum"] = splitEnum(enum)
			}
			props[name] = p
			if f.Tag.Get("required") == "true" {
				required = append(required, name)
			}
		}
		s := obj{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return obj{}
}

// splitEnum splits an enum tag; ".,," means "." and ",".
func splitEnum(s string) []string {
	if s == ".,," {
		return []string{".", ","}
	}
	return strings.Split(s, ",")
}

func clone(o obj) obj {
	c := make(obj, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}
