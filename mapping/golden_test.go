package mapping

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the expected sections of testdata/*.txtar")

// goldenConventions is how a golden file declares conventions, with the
// catalog's YAML key names.
type goldenConventions struct {
	DateFormat         string `json:"date_format"`
	DateTimeFormat     string `json:"datetime_format"`
	Timezone           string `json:"timezone"`
	Prices             string `json:"prices"`
	Currency           string `json:"currency"`
	DecimalSeparator   string `json:"decimal_separator"`
	ThousandsSeparator string `json:"thousands_separator"`
	Country            string `json:"country"`
	TwoDigitYears      bool   `json:"two_digit_years"`
}

func (g goldenConventions) conventions() Conventions { return Conventions(g) }

// TestGolden runs each testdata/*.txtar: an input body is mapped with the
// source's conventions to the canonical record, then with a route's mapping
// and encoded in the destination's conventions. Sections:
//
//	source.json, destination.json  conventions
//	input.json                     the body as the source sends it
//	inbound, outbound              one "target: expression" per line
//	canonical.json, payload.json   expected output (rewritten by -update)
//	reasons                        expected refusals, one per line (rewritten by -update)
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			require.NoError(t, err)
			sections := map[string][]byte{}
			for _, f := range ar.Files {
				sections[f.Name] = f.Data
			}
			got := runGolden(t, sections)
			if *update {
				for i, f := range ar.Files {
					if v, ok := got[f.Name]; ok {
						ar.Files[i].Data = v
						delete(got, f.Name)
					}
				}
				for _, name := range []string{"canonical.json", "payload.json", "reasons"} {
					if v, ok := got[name]; ok {
						ar.Files = append(ar.Files, txtar.File{Name: name, Data: v})
					}
				}
				require.NoError(t, os.WriteFile(file, txtar.Format(ar), 0o644))
				return
			}
			for _, name := range []string{"canonical.json", "payload.json", "reasons"} {
				require.Equal(t, string(sections[name]), string(got[name]), "section %s of %s (run with -update to accept)", name, file)
			}
		})
	}
}

func runGolden(t *testing.T, s map[string][]byte) map[string][]byte {
	t.Helper()
	var src, dst goldenConventions
	if b := s["source.json"]; len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &src))
	}
	if b := s["destination.json"]; len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &dst))
	}
	require.Empty(t, src.conventions().Check())
	require.Empty(t, dst.conventions().Check())
	clock := func() time.Time { return time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC) }

	in, errs := NewMapping(goldenFields(t, s["inbound"]), &Scope{Inbound: true, Conventions: src.conventions(), Now: clock})
	require.Empty(t, errs)
	body, err := DecodeJSON(s["input.json"])
	require.NoError(t, err)

	out := map[string][]byte{}
	rec, reasons := in.Apply(&Env{In: body})
	if reasons != nil {
		var b strings.Builder
		for _, r := range reasons {
			b.WriteString(string(r.Stage) + " " + r.Field + " [" + r.Rule + "] " + r.Message + "\n")
		}
		out["reasons"] = []byte(b.String())
		return out
	}
	canonical, err := CanonicalJSON(rec)
	require.NoError(t, err)
	out["canonical.json"] = indent(t, canonical)

	var fields []string
	for k := range rec {
		fields = append(fields, k)
	}
	route, errs := NewMapping(goldenFields(t, s["outbound"]), &Scope{Fields: append(fields, "id", "ordered_on", "customer", "total", "lines"), Now: clock})
	require.Empty(t, errs)
	payload, reasons := route.Apply(&Env{Record: rec})
	require.Empty(t, reasons)
	encoded, err := EncodeJSON(payload, dst.conventions())
	require.NoError(t, err)
	out["payload.json"] = indent(t, encoded)
	return out
}

func goldenFields(t *testing.T, b []byte) []Field {
	t.Helper()
	var fields []Field
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		target, expr, ok := strings.Cut(line, ":")
		require.True(t, ok, "line %q is not target: expression", line)
		fields = append(fields, Field{Target: strings.TrimSpace(target), Expr: strings.TrimSpace(expr)})
	}
	return fields
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Indent(&buf, b, "", "  "))
	buf.WriteByte('\n')
	return buf.Bytes()
}
