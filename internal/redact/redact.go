// Package redact masks the fields a model marks `personal` (names, e-mails,
// phones) in a record before it is written to a log: logs travel to places
// a ledger never goes, and are kept by people who should not need to see
// who bought what.
package redact

import (
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/mapping"
)

// Mask replaces personal values.
const Mask = "[redacted]"

// Record returns a plain (JSON-able) copy of a canonical record with every
// personal field of its model masked, at any depth (nested models, objects
// and lists of them). The record itself is not modified.
func Record(c *catalog.Catalog, model string, rec map[string]any) map[string]any {
	plain := mapping.ToPlain(rec)
	m, ok := c.Models[model]
	if !ok {
		return plain
	}
	object(c, m.Fields, plain)
	return plain
}

func object(c *catalog.Catalog, fields map[string]*catalog.ModelField, rec map[string]any) {
	for name, v := range rec {
		f := fields[name]
		if f == nil || v == nil {
			continue
		}
		if f.Personal {
			rec[name] = Mask
			continue
		}
		rec[name] = value(c, f, v)
	}
}

func value(c *catalog.Catalog, f *catalog.ModelField, v any) any {
	switch t := v.(type) {
	case map[string]any:
		if f.Type == "object" {
			object(c, f.Fields, t)
		} else if m, ok := c.Models[f.Type]; ok {
			object(c, m.Fields, t)
		}
	case []any:
		item := &catalog.ModelField{Type: f.Of}
		for i := range t {
			t[i] = value(c, item, t[i])
		}
	}
	return v
}
