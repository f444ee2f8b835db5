package catalog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func mapEnv(env map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// decodeValue decodes the value of the key `v` in doc into out, as the
// loader does, and returns what it reported.
func decodeValue(t *testing.T, doc string, env map[string]string, out any) Diagnostics {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(doc), &n))
	root := resolve(&n)
	require.Equal(t, yaml.MappingNode, root.Kind)
	require.Equal(t, "v", root.Content[0].Value)
	r := &report{}
	d := &decoder{file: "test.yaml", r: r, env: mapEnv(env), src: []byte(doc)}
	d.decode(root.Content[1], reflect.ValueOf(out).Elem())
	return r.diags
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     time.Duration
		wantErr  bool
	}{
		{name: "seconds", in: "1s", want: time.Second},
		{name: "minutes", in: "15m", want: 15 * time.Minute},
		{name: "milliseconds", in: "250ms", want: 250 * time.Millisecond},
		{name: "combined", in: "1h30m", want: 90 * time.Minute},
		{name: "days", in: "90d", want: 90 * 24 * time.Hour},
		{name: "weeks", in: "2w", want: 14 * 24 * time.Hour},
		{name: "years are 365 days", in: "2y", want: 2 * 365 * 24 * time.Hour},
		{name: "fraction", in: "1.5h", want: 90 * time.Minute},
		{name: "zero", in: "0", want: 0},
		{name: "surrounding spaces", in: " 2h ", want: 2 * time.Hour},
		{name: "empty", in: "", wantErr: true},
		{name: "unit spelt out", in: "1 sec", wantErr: true},
		{name: "unit word", in: "1sec", wantErr: true},
		{name: "no unit", in: "5", wantErr: true},
		{name: "no number", in: "h", wantErr: true},
		{name: "negative", in: "-1s", wantErr: true},
		{name: "trailing number", in: "1s2", wantErr: true},
		{name: "months are ambiguous", in: "1mo", wantErr: true},
		{name: "Go syntax with microseconds", in: "1us", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDurationDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      time.Duration
		wantSet   bool
		wantErr   string
	}{
		{name: "valid", doc: "v: 30s", want: 30 * time.Second, wantSet: true},
		{name: "invalid is not set", doc: "v: 1 sec", wantErr: `"1 sec" is not a duration`},
		{name: "a number is not a duration", doc: "v: 30", wantErr: `"30" is not a duration`},
		{name: "a list", doc: "v: [1s]", wantErr: "expected a duration such as 30s, 15m, 2h or 90d, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d Duration
			diags := decodeValue(t, tt.doc, nil, &d)
			require.Equal(t, tt.want, d.D)
			require.Equal(t, tt.wantSet, d.Set())
			require.Equal(t, 42*time.Minute, Duration{}.Or(42*time.Minute))
			if tt.wantErr == "" {
				require.Empty(t, diags)
				require.Equal(t, tt.want, d.Or(time.Hour))
				return
			}
			require.Len(t, diags, 1)
			require.Equal(t, tt.wantErr, diags[0].Msg)
			require.Equal(t, Pos{File: "test.yaml", Line: 1, Col: 4}, diags[0].Pos)
		})
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      int64
		wantErr   bool
	}{
		{name: "mebibytes", doc: "v: 1MiB", want: 1 << 20},
		{name: "kibibytes", doc: "v: 512KiB", want: 512 << 10},
		{name: "megabytes", doc: "v: 10MB", want: 10_000_000},
		{name: "gibibytes", doc: "v: 2GiB", want: 2 << 30},
		{name: "bytes", doc: "v: 100B", want: 100},
		{name: "plain number", doc: "v: 1024", want: 1024},
		{name: "space before unit", doc: "v: 1 MiB", want: 1 << 20},
		{name: "unknown unit", doc: "v: 1TB", wantErr: true},
		{name: "fraction", doc: "v: 1.5MiB", wantErr: true},
		{name: "negative", doc: "v: -1", wantErr: true},
		{name: "word", doc: "v: lots", wantErr: true},
		{name: "lower-case unit", doc: "v: 1mib", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Size
			diags := decodeValue(t, tt.doc, nil, &s)
			if tt.wantErr {
				require.Len(t, diags, 1)
				require.Contains(t, diags[0].Msg, "is not a size")
				require.Contains(t, diags[0].Hint, "MiB")
				return
			}
			require.Empty(t, diags)
			require.Equal(t, tt.want, s.Bytes)
		})
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      float64
		wantErr   bool
	}{
		{name: "percent", doc: "v: 5%", want: 0.05},
		{name: "fraction of a percent", doc: "v: 0.5%", want: 0.005},
		{name: "ratio", doc: "v: 0.05", want: 0.05},
		{name: "all", doc: "v: 100%", want: 1},
		{name: "none", doc: "v: 0%", want: 0},
		{name: "space before sign", doc: "v: 5 %", want: 0.05},
		{name: "above 100%", doc: "v: 150%", wantErr: true},
		{name: "ratio above 1", doc: "v: 5", wantErr: true},
		{name: "negative", doc: "v: -1%", wantErr: true},
		{name: "word", doc: "v: five", wantErr: true},
		{name: "empty", doc: "v: '%'", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p Percent
			diags := decodeValue(t, tt.doc, nil, &p)
			if tt.wantErr {
				require.Len(t, diags, 1)
				require.Contains(t, diags[0].Msg, "is not a percentage")
				return
			}
			require.Empty(t, diags)
			require.InDelta(t, tt.want, p.Ratio, 1e-12)
		})
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      float64
		wantErr   bool
	}{
		{name: "per second", doc: "v: 50/s", want: 50},
		{name: "per minute", doc: "v: 600/m", want: 10},
		{name: "per hour", doc: "v: 3600/h", want: 1},
		{name: "fraction", doc: "v: 0.5/s", want: 0.5},
		{name: "spaces", doc: "v: 10 / s", want: 10},
		{name: "no unit", doc: "v: 50", wantErr: true},
		{name: "per day", doc: "v: 50/d", wantErr: true},
		{name: "zero", doc: "v: 0/s", wantErr: true},
		{name: "negative", doc: "v: -1/s", wantErr: true},
		{name: "word", doc: "v: many/s", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r Rate
			diags := decodeValue(t, tt.doc, nil, &r)
			if tt.wantErr {
				require.Len(t, diags, 1)
				require.Contains(t, diags[0].Msg, "is not a rate")
				return
			}
			require.Empty(t, diags)
			require.InDelta(t, tt.want, r.PerSecond, 1e-12)
		})
	}
}

// secretHolder has secrets in every place a struct can hold one.
type secretHolder struct {
	Plain   Secret            `json:"plain" yaml:"plain"`
	List    []Secret          `json:"list" yaml:"list"`
	Map     map[string]Secret `json:"map" yaml:"map"`
	Pointer *Secret           `json:"pointer" yaml:"pointer"`
	Nested  struct {
		Inner Secret `json:"inner" yaml:"inner"`
	} `json:"nested" yaml:"nested"`
}

// TestSecretsNeverPrint is in the spirit of Alertmanager's
// TestHideConfigSecrets: every way of printing a value that holds secrets
// shows exactly one redaction per secret and never the reference or the
// value.
func TestSecretsNeverPrint(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ERP_PASSWORD": "hunter2-value"}
	var s Secret
	require.Empty(t, decodeValue(t, `v: "${ERP_PASSWORD}"`, env, &s))
	require.True(t, s.Set())
	v, err := s.Value(mapEnv(env))
	require.NoError(t, err)
	require.Equal(t, "hunter2-value", v)

	h := secretHolder{Plain: s, List: []Secret{s, s}, Map: map[string]Secret{"a": s}, Pointer: &s}
	h.Nested.Inner = s
	const secrets = 6

	jsonOut := mustJSON(t, h)
	yamlOut, err := yaml.Marshal(h)
	require.NoError(t, err)
	outputs := map[string]string{
		"String":       s.String(),
		"%v":           fmt.Sprintf("%v", s),
		"%s":           fmt.Sprintf("%s", s),
		"%+v":          fmt.Sprintf("%+v", s),
		"%#v":          fmt.Sprintf("%#v", s),
		"%v holder":    fmt.Sprintf("%v", h),
		"%+v holder":   fmt.Sprintf("%+v", h),
		"%#v holder":   fmt.Sprintf("%#v", h),
		"json":         jsonOut,
		"yaml":         string(yamlOut),
		"json pointer": mustJSON(t, &s),
	}
	wantCount := map[string]int{"%v holder": secrets, "%+v holder": secrets, "%#v holder": secrets, "json": secrets, "yaml": secrets}
	for name, out := range outputs {
		require.NotContains(t, out, "hunter2", name)
		require.NotContains(t, out, "ERP_PASSWORD", name)
		want := 1
		if n, ok := wantCount[name]; ok {
			want = n
		}
		require.Equal(t, want, strings.Count(out, "<secret>"), "%s: %s", name, out)
	}
}

// mustJSON encodes v without HTML escaping, so that "<secret>" reads as
// written.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return b.String()
}

func TestSecretDecode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "erp")
	require.NoError(t, os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600))
	tests := []struct {
		name, doc string
		env       map[string]string
		wantRef   string
		wantValue string
		wantErr   string // message of the one diagnostic, if any
		wantWarn  string
	}{
		{name: "env reference", doc: `v: "${ERP_PASSWORD}"`, env: map[string]string{"ERP_PASSWORD": "pw"}, wantRef: "${ERP_PASSWORD}", wantValue: "pw"},
		{name: "file reference", doc: `v: "${file:` + secretFile + `}"`, wantRef: "${file:" + secretFile + "}", wantValue: "from-a-file"},
		{name: "unset variable warns", doc: `v: "${ERP_PASSWORD}"`, wantRef: "${ERP_PASSWORD}", wantWarn: "environment variable ERP_PASSWORD is not set"},
		{name: "missing file warns", doc: `v: "${file:` + secretFile + `.missing}"`, wantRef: "${file:" + secretFile + ".missing}", wantWarn: "is not readable here"},
		{name: "plain text", doc: `v: hunter2`, wantErr: "secrets must not be written in the catalog"},
		{name: "reference inside text", doc: `v: "pw-${ERP_PASSWORD}"`, wantErr: "secrets must not be written in the catalog"},
		{name: "default value", doc: `v: "${ERP_PASSWORD:-hunter2}"`, wantErr: "a secret may not have a default value in the catalog"},
		{name: "bad variable name", doc: `v: "${1PASSWORD}"`, wantErr: `"${1PASSWORD}" is not a valid environment variable reference`},
		{name: "a number", doc: `v: 1234`, wantErr: "secrets must not be written in the catalog"},
		{name: "nothing", doc: `v: ~`, wantErr: `expected a secret reference such as "${ERP_PASSWORD}", got nothing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Secret
			diags := decodeValue(t, tt.doc, tt.env, &s)
			for _, d := range diags {
				require.NotContains(t, d.String(), "hunter2", "a diagnostic never repeats a secret")
				require.NotContains(t, d.String(), "1234")
			}
			switch {
			case tt.wantErr != "":
				require.Len(t, diags, 1)
				require.Equal(t, SevError, diags[0].Severity)
				require.Equal(t, tt.wantErr, diags[0].Msg)
				return
			case tt.wantWarn != "":
				require.Len(t, diags, 1)
				require.Equal(t, SevWarning, diags[0].Severity)
				require.Contains(t, diags[0].Msg, tt.wantWarn)
			default:
				require.Empty(t, diags)
			}
			require.Equal(t, tt.wantRef, s.Ref)
			v, err := s.Value(mapEnv(tt.env))
			if tt.wantWarn != "" {
				require.Error(t, err, "what warns at validation fails at run time")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantValue, v)
		})
	}
}

func TestSecretValueErrorNamesTheVariable(t *testing.T) {
	t.Parallel()
	_, err := Secret{Ref: "${ERP_PASSWORD}"}.Value(mapEnv(nil))
	require.EqualError(t, err, "environment variable ERP_PASSWORD is not set")
	v, err := Secret{}.Value(mapEnv(nil))
	require.NoError(t, err)
	require.Empty(t, v)
}

func TestTextValue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hostFile := filepath.Join(dir, "host")
	require.NoError(t, os.WriteFile(hostFile, []byte("file.example\r\n"), 0o600))
	env := map[string]string{"HOST": "erp.example", "EMPTY": ""}
	tests := []struct {
		name, raw string
		want      string
		wantErr   string
	}{
		{name: "no reference", raw: "https://erp.example", want: "https://erp.example"},
		{name: "one reference", raw: "https://${HOST}/api", want: "https://erp.example/api"},
		{name: "default used when unset", raw: "https://${HOST}:${PORT:-8443}", want: "https://erp.example:8443"},
		{name: "default used when empty", raw: "${EMPTY:-fallback}", want: "fallback"},
		{name: "default ignored when set", raw: "${HOST:-other}", want: "erp.example"},
		{name: "file reference", raw: "https://${file:" + hostFile + "}", want: "https://file.example"},
		{name: "unset without default", raw: "https://${MISSING}/", wantErr: "environment variable MISSING is not set"},
		{name: "empty without default", raw: "${EMPTY}", wantErr: "environment variable EMPTY is not set"},
		{name: "missing file", raw: "${file:" + hostFile + ".missing}", wantErr: "read secret file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Text{Raw: tt.raw}.Value(mapEnv(env))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestTextDecodeChecksReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		env       map[string]string
		want      []string // diagnostics, as printed
	}{
		{name: "set", doc: `v: "https://${HOST}"`, env: map[string]string{"HOST": "x"}},
		{name: "default", doc: `v: "https://${HOST:-erp.example}"`},
		{name: "no reference", doc: `v: https://erp.example`},
		{name: "unset", doc: `v: "https://${HOST}"`, want: []string{
			"test.yaml:1:4: warning: environment variable HOST is not set\n\thint: export HOST=… before `seam run`; it is an error at run time",
		}},
		{name: "two unset", doc: `v: "${SCHEME}://${HOST}"`, want: []string{
			"test.yaml:1:4: warning: environment variable SCHEME is not set\n\thint: export SCHEME=… before `seam run`; it is an error at run time",
			"test.yaml:1:4: warning: environment variable HOST is not set\n\thint: export HOST=… before `seam run`; it is an error at run time",
		}},
		{name: "bad name", doc: `v: "${ERP URL}"`, want: []string{
			"test.yaml:1:4: \"${ERP URL}\" is not a valid environment variable reference\n\thint: write ${NAME} with letters, digits and underscores",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var x Text
			diags := decodeValue(t, tt.doc, tt.env, &x)
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestExprPosAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		// a place inside the expression text, and where it is in the file
		line, col int
		want      Pos
	}{
		{name: "plain", doc: "v: in.a + in.b", line: 1, col: 8, want: Pos{Line: 1, Col: 11}},
		{name: "plain, first character", doc: "v: in.a", line: 1, col: 1, want: Pos{Line: 1, Col: 4}},
		{name: "single-quoted", doc: `v: '"x" + in.a'`, line: 1, col: 7, want: Pos{Line: 1, Col: 11}},
		{name: "double-quoted", doc: `v: "in.a != ''"`, line: 1, col: 6, want: Pos{Line: 1, Col: 10}},
		{name: "nested plain", doc: "x:\n  - y: 1\n    v: lower(in.a)", line: 1, col: 7, want: Pos{Line: 3, Col: 14}},
		{name: "literal block, first line", doc: "v: |\n  in.a\n    + lowr(in.b)", line: 1, col: 1, want: Pos{Line: 2, Col: 3}},
		{name: "literal block, later line", doc: "v: |\n  in.a\n    + lowr(in.b)", line: 2, col: 5, want: Pos{Line: 3, Col: 7}},
		{name: "literal block, deeper", doc: "routes:\n  - to: erp\n    v: |\n      in.a != nil\n        ? lowr(in.a)\n        : \"\"", line: 2, col: 5, want: Pos{Line: 5, Col: 11}},
		{name: "literal block, strip indicator", doc: "v: |-\n   in.a\n   + lowr(in.b)", line: 2, col: 3, want: Pos{Line: 3, Col: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n yaml.Node
			require.NoError(t, yaml.Unmarshal([]byte(tt.doc), &n))
			r := &report{}
			d := &decoder{file: "test.yaml", r: r, src: []byte(tt.doc)}
			v := findKey(resolve(&n), "v")
			require.NotNil(t, v)
			var x Expr
			x.decodeNode(d, v)
			require.Empty(t, r.diags)
			tt.want.File = "test.yaml"
			require.Equal(t, tt.want, x.PosAt(tt.line, tt.col))
			// The position names the character the expression has there.
			exprLine := strings.Split(x.Src, "\n")[tt.line-1]
			fileLine := strings.Split(tt.doc, "\n")[tt.want.Line-1]
			require.Equal(t, exprLine[tt.col-1:tt.col], fileLine[tt.want.Col-1:tt.want.Col])
		})
	}
}

// findKey finds the value of key anywhere under n.
func findKey(n *yaml.Node, key string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
			if v := findKey(n.Content[i+1], key); v != nil {
				return v
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if v := findKey(c, key); v != nil {
				return v
			}
		}
	}
	return nil
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		from     []string
		want     string
	}{
		{name: "one letter missing", in: "ownr", from: []string{"owner", "model"}, want: `did you mean "owner"?`},
		{name: "swapped letters", in: "emial", from: []string{"email", "phone"}, want: `did you mean "email"?`},
		{name: "case", in: "Owner", from: []string{"owner"}, want: `did you mean "owner"?`},
		{name: "too different", in: "sales", from: []string{"ecommerce", "finance"}, want: ""},
		{name: "nothing to suggest", in: "x", from: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, suggest(tt.in, tt.from))
		})
	}
}
