// Package catalog loads and checks a Seam project: seam.yaml, systems/,
// models/ and flows/. Every problem is reported at once with its file, line
// and column, and a hint where one helps. The loaded catalog also carries
// the compiled expressions that the engine runs.
package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Catalog is a loaded project.
type Catalog struct {
	Dir     string
	Project *Project
	Systems map[string]*System
	Models  map[string]*Model
	Flows   map[string]*Flow
}

// SystemNames, FlowNames and ModelNames return sorted names, for stable output.
func (c *Catalog) SystemNames() []string { return sortedKeys(c.Systems) }

// FlowNames returns the flow names in order.
func (c *Catalog) FlowNames() []string { return sortedKeys(c.Flows) }

// ModelNames returns the model names in order.
func (c *Catalog) ModelNames() []string { return sortedKeys(c.Models) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Options tune a load.
type Options struct {
	// Env resolves ${…} references when checking them; nil means the
	// process environment.
	Env Lookup
}

// Load reads and checks the project in dir. It returns the catalog even
// when there are errors (as far as it could be read) so that tools can
// show as much as possible; Diagnostics.Errors() says whether it is usable.
func Load(dir string, opts *Options) (*Catalog, Diagnostics) {
	r := &report{}
	env := os.LookupEnv
	if opts != nil && opts.Env != nil {
		env = opts.Env
	}
	c := &Catalog{Dir: dir, Systems: map[string]*System{}, Models: map[string]*Model{}, Flows: map[string]*Flow{}}
	c.loadBuiltins(r)

	projectFile := filepath.Join(dir, "seam.yaml")
	if _, err := os.Stat(projectFile); errors.Is(err, fs.ErrNotExist) {
		if _, err2 := os.Stat(filepath.Join(dir, "seam.yml")); err2 == nil {
			projectFile = filepath.Join(dir, "seam.yml")
		} else {
			r.errorf(Pos{File: rel(dir, projectFile)}, "run `seam init "+dir+"` to create a project, or pass the project folder", "%s is not a Seam project: it has no seam.yaml", dir)
			return c, finish(r)
		}
	}
	var p Project
	if decodeFile(r, env, dir, projectFile, &p) {
		c.Project = &p
	} else {
		c.Project = &Project{}
	}

	for _, f := range listYAML(r, dir, "systems") {
		var s System
		if decodeFile(r, env, dir, f, &s) {
			c.addSystem(r, &s)
		}
	}
	for _, f := range listYAML(r, dir, "models") {
		var m Model
		if decodeFile(r, env, dir, f, &m) {
			c.addModel(r, &m)
		}
	}
	for _, f := range listYAML(r, dir, "flows") {
		var fl Flow
		if decodeFile(r, env, dir, f, &fl) {
			c.addFlow(r, &fl)
		}
	}
	check(c, r)
	compile(c, r)
	return c, finish(r)
}

func finish(r *report) Diagnostics {
	r.diags.Sort()
	return r.diags
}

func rel(dir, path string) string {
	if p, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(p, "..") {
		return p
	}
	return path
}

func listYAML(r *report, dir, sub string) []string {
	var out []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, sub, pat))
		if err != nil {
			r.errorf(Pos{File: sub}, "", "list %s: %v", sub, err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	return out
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeFile parses one catalog file into v, reporting YAML syntax errors
// and every decoding problem.
func decodeFile(r *report, env Lookup, dir, path string, v any) bool {
	name := rel(dir, path)
	b, err := os.ReadFile(path)
	if err != nil {
		r.errorf(Pos{File: name}, "", "read: %v", err)
		return false
	}
	return decodeBytes(r, env, name, b, v)
}

func decodeBytes(r *report, env Lookup, name string, b []byte, v any) bool {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.errorf(Pos{File: name}, "write its content (`seam init` writes an example project), or delete the file", "the file is empty")
			return false
		}
		syntaxError(r, name, b, err)
		return false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		r.errorf(Pos{File: name, Line: extra.Line, Col: extra.Column}, "put each system, model and flow in a file of its own", "a catalog file holds one document; this is a second one")
	}
	if msg, at := checkAliases(&doc); msg != "" {
		r.errorf(Pos{File: name, Line: at.Line, Col: at.Column}, "write the values out instead of repeating them with *aliases", "%s", msg)
		return false
	}
	root := resolve(&doc)
	if root == nil || isNull(root) {
		r.errorf(Pos{File: name}, "write its content (`seam init` writes an example project), or delete the file", "the file is empty")
		return false
	}
	if root.Kind != yaml.MappingNode {
		r.errorf(Pos{File: name, Line: root.Line, Col: root.Column}, "", "expected a mapping (key: value) at the top of the file, got %s", kindName(root))
		return false
	}
	d := &decoder{file: name, r: r, env: env, src: b}
	d.decode(root, reflect.ValueOf(v).Elem())
	return true
}

// maxExpanded bounds how many nodes a file may stand for once its aliases
// are followed. A catalog file is small; a "billion laughs" file of nested
// aliases would otherwise make the decoder walk (and build) billions of
// values from a few lines.
const maxExpanded = 100_000

// checkAliases reports an alias that refers to the value containing it
// (the decoder would never finish) or aliases that expand to more than
// maxExpanded nodes beyond what is written, with the node to blame; "" when
// the file is fine.
func checkAliases(doc *yaml.Node) (string, *yaml.Node) {
	const inProgress = -1
	size := map[*yaml.Node]int{}
	written := 0
	var walk func(n *yaml.Node) (int, string, *yaml.Node)
	walk = func(n *yaml.Node) (int, string, *yaml.Node) {
		if s, ok := size[n]; ok {
			return s, "", nil
		}
		size[n] = inProgress
		written++
		total := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			if size[n.Alias] == inProgress {
				return 0, fmt.Sprintf("the alias *%s is inside the value it refers to", n.Value), n
			}
			s, msg, at := walk(n.Alias)
			if msg != "" {
				return 0, msg, at
			}
			total += s
		}
		for _, c := range n.Content {
			s, msg, at := walk(c)
			if msg != "" {
				return 0, msg, at
			}
			total += s
			if total > maxExpanded+written {
				return 0, fmt.Sprintf("the aliases in this value expand to more than %d values", maxExpanded), n
			}
		}
		size[n] = total
		return total, "", nil
	}
	_, msg, at := walk(doc)
	return msg, at
}

func syntaxError(r *report, name string, src []byte, err error) {
	msg := err.Error()
	line, col := 0, 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		col = 1
	}
	hint := "check indentation (spaces only, no tabs) and quote values that contain \": \" or start with a quote"
	// The YAML parser often says only "found character that cannot start
	// any token" for a tab: find it, since it is the commonest cause.
	l := sourceLine(src, line)
	indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	if i := strings.IndexByte(indent, '\t'); i >= 0 {
		hint = "YAML does not allow tabs for indentation; use spaces"
		col = i + 1
	} else if strings.Contains(msg, "tab") {
		hint = "YAML does not allow tabs for indentation; use spaces"
	}
	r.errorf(Pos{File: name, Line: line, Col: col}, hint, "YAML syntax error: %s", msg)
}

// sourceLine returns the 1-based line of src, or "".
func sourceLine(src []byte, line int) string {
	if line < 1 {
		return ""
	}
	for i := 1; i < line; i++ {
		nl := bytes.IndexByte(src, '\n')
		if nl < 0 {
			return ""
		}
		src = src[nl+1:]
	}
	if nl := bytes.IndexByte(src, '\n'); nl >= 0 {
		src = src[:nl]
	}
	return string(src)
}

func (c *Catalog) loadBuiltins(r *report) {
	entries, _ := builtinFS.ReadDir("builtin")
	for _, e := range entries {
		b, _ := builtinFS.ReadFile("builtin/" + e.Name())
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				// The built-in models are ours: a syntax error is a bug that
				// tests catch, never a user's problem to fix.
				panic(fmt.Sprintf("built-in model %s: %v", e.Name(), err))
			}
			var m Model
			d := &decoder{file: "builtin:" + e.Name(), r: r, env: os.LookupEnv}
			d.decode(&doc, reflect.ValueOf(&m).Elem())
			m.Builtin = true
			c.Models[m.Name] = &m
		}
	}
}

// fileStem is what a catalog file should declare as its name.
func fileStem(at Pos) string {
	return strings.TrimSuffix(strings.TrimSuffix(filepath.Base(at.File), ".yaml"), ".yml")
}

func (c *Catalog) addSystem(r *report, s *System) {
	if s.Name == "" {
		return // reported by the decoder
	}
	if prev, ok := c.Systems[s.Name]; ok {
		r.errorf(keyAt(s.Keys, "system", s.At), "rename one of them", "system %q is already declared in %s", s.Name, prev.At)
		return
	}
	c.Systems[s.Name] = s
}

func (c *Catalog) addModel(r *report, m *Model) {
	if m.Name == "" {
		return // reported by the decoder
	}
	if prev, ok := c.Models[m.Name]; ok {
		if prev.Builtin && m.Extends != m.Name {
			r.errorf(keyAt(m.Keys, "model", m.At), fmt.Sprintf("write `extends: %s` to add fields to the built-in model, or choose another name", m.Name), "model %q is built in", m.Name)
			return
		}
		if !prev.Builtin {
			r.errorf(keyAt(m.Keys, "model", m.At), "rename one of them", "model %q is already declared in %s", m.Name, prev.At)
			return
		}
		// Extending the built-in model of the same name: merge now, while
		// the built-in is still at hand.
		merge(m, prev)
	}
	c.Models[m.Name] = m
}

func (c *Catalog) addFlow(r *report, f *Flow) {
	if f.Name == "" {
		return // reported by the decoder
	}
	if prev, ok := c.Flows[f.Name]; ok {
		r.errorf(keyAt(f.Keys, "flow", f.At), "rename one of them", "flow %q is already declared in %s", f.Name, prev.At)
		return
	}
	c.Flows[f.Name] = f
}
