package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/seamhq/seam/bench/validate/gen"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/cli"
	"github.com/seamhq/seam/internal/scaffold"
)

const regenerate = "run `make generate` (seam schema --out schema; seam schema --markdown > docs/catalog-reference.md) and commit the result"

func TestCommittedSchemasAreUpToDate(t *testing.T) {
	t.Parallel()
	for _, kind := range catalog.SchemaKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			want, ok := catalog.Schema(kind)
			require.True(t, ok)
			got, err := os.ReadFile(filepath.Join("..", "..", "schema", kind+".schema.json"))
			require.NoError(t, err, regenerate)
			require.Equal(t, string(want), string(got), "schema/%s.schema.json is stale: %s", kind, regenerate)
		})
	}
}

func TestCommittedReferenceIsUpToDate(t *testing.T) {
	t.Parallel()
	got, err := os.ReadFile(filepath.Join("..", "..", "docs", "catalog-reference.md"))
	require.NoError(t, err, regenerate)
	require.Equal(t, catalog.Reference(), string(got), "docs/catalog-reference.md is stale: %s", regenerate)
}

// compileSchemas compiles the JSON Schema of each kind of catalog file.
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	out := map[string]*jsonschema.Schema{}
	for _, kind := range catalog.SchemaKinds {
		b, _ := catalog.Schema(kind)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(t, err)
		url := "https://seam.dev/schema/" + kind + ".schema.json"
		require.NoError(t, c.AddResource(url, doc))
		s, err := c.Compile(url)
		require.NoError(t, err, "the %s schema compiles", kind)
		out[kind] = s
	}
	return out
}

// kindOf says which schema a catalog file follows, from where it is.
func kindOf(rel string) string {
	switch {
	case rel == "seam.yaml":
		return "project"
	case strings.HasPrefix(rel, "systems/"):
		return "system"
	case strings.HasPrefix(rel, "models/"):
		return "model"
	case strings.HasPrefix(rel, "flows/"):
		return "flow"
	}
	return ""
}

// yamlToJSON reads a YAML file as the JSON value a YAML editor extension
// would check against the schema.
func yamlToJSON(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var v any
	require.NoError(t, yaml.Unmarshal(b, &v), path)
	j, err := json.Marshal(v)
	require.NoError(t, err, path)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	require.NoError(t, err)
	return doc
}

// catalogFiles lists the catalog files of the project in dir, by kind.
func catalogFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if k := kindOf(filepath.ToSlash(rel)); k != "" {
			files[filepath.ToSlash(rel)] = k
		}
		return nil
	})
	require.NoError(t, err)
	return files
}

// TestCatalogFilesMatchTheirSchema checks that files the loader accepts are
// accepted by the JSON Schemas too, so that an editor never flags a valid
// file: the scaffold, the golden base project and the benchmark's catalog.
func TestCatalogFilesMatchTheirSchema(t *testing.T) {
	t.Parallel()
	schemas := compileSchemas(t)

	scaffolded := t.TempDir()
	_, err := scaffold.Write(scaffolded, false)
	require.NoError(t, err)
	generated := t.TempDir()
	_, err = gen.Write(generated, 12)
	require.NoError(t, err)
	projects := map[string]string{
		"scaffold":  scaffolded,
		"base":      filepath.Join("..", "catalog", "testdata", "base"),
		"generated": generated,
	}
	for name, dir := range projects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, diags := catalog.Load(dir, &catalog.Options{Env: func(string) (string, bool) { return "set", true }})
			require.Zero(t, diags.Errors(), "the loader accepts %s:\n%v", name, diags)
			files := catalogFiles(t, dir)
			require.NotEmpty(t, files)
			require.Contains(t, files, "seam.yaml")
			for rel, kind := range files {
				err := schemas[kind].Validate(yamlToJSON(t, filepath.Join(dir, rel)))
				require.NoError(t, err, "%s/%s against the %s schema", name, rel, kind)
			}
		})
	}
}

// TestSchemaRejectsWhatTheLoaderRejects makes sure the schema check above
// is a real one: mistakes the loader reports are flagged by the schema too.
func TestSchemaRejectsWhatTheLoaderRejects(t *testing.T) {
	t.Parallel()
	schemas := compileSchemas(t)
	tests := []struct {
		name, kind, doc string
	}{
		{name: "unknown key", kind: "flow", doc: "flow: f\nownr: ops\n"},
		{name: "missing owner", kind: "system", doc: "system: crm\n"},
		{name: "bad duration", kind: "flow", doc: "flow: f\nowner: o\nsource: {system: s}\nmodel: order\nkey: in.id\nmap: {id: in.id}\nroutes: [{to: s, http: {path: /x}, map: {a: id}, timeout: 1 sec}]\n"},
		{name: "secret in plain text", kind: "system", doc: "system: crm\nowner: o\nauth: {bearer: hunter2}\n"},
		{name: "enum value", kind: "system", doc: "system: crm\nowner: o\nconventions: {prices: grozz}\n"},
		{name: "routes as a mapping", kind: "flow", doc: "flow: f\nowner: o\nsource: {system: s}\nmodel: order\nkey: in.id\nmap: {id: in.id}\nroutes: {s: {http: {path: /x}, map: {a: id}}}\n"},
		{name: "wrong type", kind: "flow", doc: "flow: f\nowner: o\nsource: {system: s}\nmodel: order\nkey: in.id\nmap: {id: in.id}\nroutes: [{to: s, http: {path: /x}, map: {a: id}, retry: {attempts: many}}]\n"},
		{name: "model field without type", kind: "model", doc: "model: m\nfields: {a: {required: true}}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "f.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.doc), 0o644))
			require.Error(t, schemas[tt.kind].Validate(yamlToJSON(t, path)))
		})
	}
}

// run runs seam in-process with its own environment and returns the exit
// code and what it printed.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &cli.Main{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), Getenv: func(k string) string { return env[k] }}
	code := m.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func TestValidateJSON(t *testing.T) {
	t.Parallel()
	type result struct {
		Valid       bool                `json:"valid"`
		Errors      int                 `json:"errors"`
		Warnings    int                 `json:"warnings"`
		Diagnostics catalog.Diagnostics `json:"diagnostics"`
		Counts      map[string]int      `json:"counts"`
	}
	secrets := map[string]string{"ESHOP_HOOK_SECRET": "x", "SEAM_ADMIN_TOKEN": "x", "ERP_PASSWORD": "x", "MAILING_TOKEN": "x"}
	tests := []struct {
		name     string
		env      map[string]string
		strict   bool
		breakIt  bool
		wantCode int
		want     result
	}{
		{name: "valid with secrets", env: secrets, wantCode: 0, want: result{Valid: true}},
		{name: "valid, secrets unset", wantCode: 0, want: result{Valid: true, Warnings: 4}},
		{name: "strict, secrets unset", strict: true, wantCode: 1, want: result{Valid: false, Warnings: 4}},
		{name: "broken", env: secrets, breakIt: true, wantCode: 1, want: result{Valid: false, Errors: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, err := scaffold.Write(dir, false)
			require.NoError(t, err)
			if tt.breakIt {
				p := filepath.Join(dir, "systems", "erp.yaml")
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(p, bytes.Replace(b, []byte("owner: finance"), []byte("owner: finanse"), 1), 0o644))
			}
			args := []string{"validate", dir, "--json"}
			if tt.strict {
				args = append(args, "--strict")
			}
			code, stdout, stderr := run(t, tt.env, args...)
			require.Equal(t, tt.wantCode, code, stderr)
			require.Empty(t, stderr)
			var got result
			require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
			require.Equal(t, tt.want.Valid, got.Valid)
			require.Equal(t, tt.want.Errors, got.Errors)
			require.Equal(t, tt.want.Warnings, got.Warnings)
			require.Len(t, got.Diagnostics, tt.want.Errors+tt.want.Warnings)
			require.NotNil(t, got.Diagnostics, "diagnostics is [] rather than null")
			require.Equal(t, map[string]int{"systems": 3, "flows": 1, "routes": 2, "models": 8, "owners": 2}, got.Counts)
			for _, d := range got.Diagnostics {
				require.NotEmpty(t, d.File)
				require.Positive(t, d.Line)
				require.Positive(t, d.Col)
			}
			if tt.breakIt {
				d := got.Diagnostics[0]
				require.Equal(t, catalog.Pos{File: filepath.Join("systems", "erp.yaml"), Line: 4, Col: 8}, d.Pos)
				require.Equal(t, catalog.SevError, d.Severity)
				require.Equal(t, `system erp: owner "finanse" is not declared in seam.yaml`, d.Msg)
				require.Equal(t, `did you mean "finance"?`, d.Hint)
			}
		})
	}
}

// commandsIn lists the subcommands a --help output shows.
func commandsIn(help string) []string {
	_, list, ok := strings.Cut(help, "Available Commands:\n")
	if !ok {
		return nil
	}
	list, _, _ = strings.Cut(list, "\n\n")
	var out []string
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// TestEveryCommandHasAnExample walks the command tree from `seam --help`:
// every command that runs something shows an Examples section in its help,
// and the root does too.
func TestEveryCommandHasAnExample(t *testing.T) {
	t.Parallel()
	var walk func(path []string)
	seen := 0
	walk = func(path []string) {
		code, help, stderr := run(t, nil, append(append([]string{}, path...), "--help")...)
		require.Equal(t, 0, code, stderr)
		subs := commandsIn(help)
		if len(subs) == 0 {
			seen++
			require.Contains(t, help, "\nExamples:\n", "seam %s --help has no example", strings.Join(path, " "))
			return
		}
		// A group (seam store) only lists its commands; they have examples.
		for _, sub := range subs {
			if sub == "help" || sub == "completion" {
				continue // cobra's own
			}
			walk(append(append([]string{}, path...), sub))
		}
	}
	walk(nil)
	_, rootHelp, _ := run(t, nil, "--help")
	require.Contains(t, rootHelp, "\nExamples:\n")
	require.GreaterOrEqual(t, seen, 3, "at least init, validate and schema")
}
