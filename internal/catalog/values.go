package catalog

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// scalar reports the node's text, or an error when it is not a scalar.
func (d *decoder) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, "", "expected %s, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// Duration is a length of time written the way people write it: 1s, 15m,
// 2h, 90d, 2w, 1y (365 days), or combinations such as 1h30m.
type Duration struct {
	D  time.Duration
	At Pos
}

var durationPart = regexp.MustCompile(`^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)`)

// ParseDuration parses the Duration syntax.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if in == "0" {
		return 0, nil
	}
	units := map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
	}
	var total time.Duration
	rest := in
	for rest != "" {
		m := durationPart.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		total += time.Duration(f * float64(units[m[2]]))
		rest = rest[len(m[0]):]
	}
	return total, nil
}

func (x *Duration) decodeNode(d *decoder, n *yaml.Node) {
	s, ok := d.scalar(n, "a duration such as 30s, 15m, 2h or 90d")
	if !ok {
		return
	}
	v, err := ParseDuration(s)
	if err != nil {
		d.errorf(n, "use a number and a unit: ms, s, m, h, d, w or y (e.g. 30s, 15m, 2h, 90d)", "%v", err)
		return
	}
	// At is set only for a valid duration: one that was reported here is
	// not "set" for the checks that follow (timeout 1 sec is not also
	// "timeout must be positive").
	x.D, x.At = v, d.pos(n)
}

// Set reports whether the duration was written in the catalog.
func (x Duration) Set() bool { return x.At.Line != 0 }

// Or returns the duration, or def when it was not written.
func (x Duration) Or(def time.Duration) time.Duration {
	if !x.Set() {
		return def
	}
	return x.D
}

// Size is a number of bytes: 512KiB, 1MiB, 10MB, or a plain number.
type Size struct {
	Bytes int64
	At    Pos
}

var sizeRe = regexp.MustCompile(`^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$`)

func (x *Size) decodeNode(d *decoder, n *yaml.Node) {
	x.At = d.pos(n)
	s, ok := d.scalar(n, "a size such as 1MiB")
	if !ok {
		return
	}
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		d.errorf(n, "write a number and a unit: B, KiB, MiB, GiB, KB, MB or GB (e.g. 1MiB)", "%q is not a size", s)
		return
	}
	v, _ := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "KiB": 1 << 10, "MB": 1e6, "MiB": 1 << 20, "GB": 1e9, "GiB": 1 << 30}[m[2]]
	x.Bytes = v * mult
}

// Percent is a ratio written as 5% (or 0.05).
type Percent struct {
	Ratio float64
	At    Pos
}

func (x *Percent) decodeNode(d *decoder, n *yaml.Node) {
	x.At = d.pos(n)
	s, ok := d.scalar(n, "a percentage such as 5%")
	if !ok {
		return
	}
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || f < 0 || (pct && f > 100) || (!pct && f > 1) {
		d.errorf(n, "write a percentage between 0% and 100%, e.g. 5%", "%q is not a percentage", s)
		return
	}
	if pct {
		f /= 100
	}
	x.Ratio = f
}

// Rate is a rate limit written as 50/s, 600/m or 1000/h.
type Rate struct {
	PerSecond float64
	At        Pos
}

func (x *Rate) decodeNode(d *decoder, n *yaml.Node) {
	x.At = d.pos(n)
	s, ok := d.scalar(n, "a rate such as 50/s")
	if !ok {
		return
	}
	num, unit, found := strings.Cut(strings.TrimSpace(s), "/")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[strings.TrimSpace(unit)]
	if !found || err != nil || f <= 0 || per == 0 {
		d.errorf(n, "write requests per unit of time: 50/s, 600/m or 1000/h", "%q is not a rate", s)
		return
	}
	x.PerSecond = f / per
}

// envRef matches ${NAME}, ${NAME:-default} and ${file:/path}.
var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Lookup resolves ${…} references; os.LookupEnv in production, a map in tests.
type Lookup func(name string) (string, bool)

// resolveRef resolves the inside of one ${…}.
func resolveRef(ref string, env Lookup) (string, error) {
	if path, ok := strings.CutPrefix(ref, "file:"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read secret file %s: %w", path, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	name, def, hasDef := strings.Cut(ref, ":-")
	if v, ok := env(name); ok && v != "" {
		return v, nil
	}
	if hasDef {
		return def, nil
	}
	return "", fmt.Errorf("environment variable %s is not set", name)
}

// checkRefs reports malformed references and, as warnings, variables that
// are not set here: they are errors only at run time, since the machine
// that validates is often not the one that runs.
func checkRefs(d *decoder, n *yaml.Node, s string) {
	for _, m := range envRef.FindAllStringSubmatch(s, -1) {
		ref := m[1]
		if path, ok := strings.CutPrefix(ref, "file:"); ok {
			if _, err := os.Stat(path); err != nil {
				d.r.warnf(d.pos(n), "create the file, or point to another one", "secret file %s is not readable here", path)
			}
			continue
		}
		name, _, hasDef := strings.Cut(ref, ":-")
		if !envName.MatchString(name) {
			d.errorf(n, "write ${NAME} with letters, digits and underscores", "%q is not a valid environment variable reference", m[0])
			continue
		}
		// Empty counts as unset, as in resolveRef: run time would refuse it.
		if v, ok := d.env(name); (!ok || v == "") && !hasDef {
			d.r.warnf(d.pos(n), fmt.Sprintf("export %s=… before `seam run`; it is an error at run time", name), "environment variable %s is not set", name)
		}
	}
}

// Secret is a credential. It must be a ${ENV} or ${file:/path} reference,
// never the value itself, and it never prints its value: String, JSON and
// YAML all give <secret>.
type Secret struct {
	Ref string // the ${…} reference as written
	At  Pos
}

func (x *Secret) decodeNode(d *decoder, n *yaml.Node) {
	x.At = d.pos(n)
	s, ok := d.scalar(n, `a secret reference such as "${ERP_PASSWORD}"`)
	if !ok {
		return
	}
	t := strings.TrimSpace(s)
	m := envRef.FindStringSubmatchIndex(t)
	if m == nil || m[0] != 0 || m[1] != len(t) {
		// Never echo the value: it may be a real password pasted in.
		d.errorf(n, `write a reference such as "${ERP_PASSWORD}" and set the variable in the environment, or "${file:/run/secrets/erp}"`,
			"secrets must not be written in the catalog")
		return
	}
	if strings.Contains(t, ":-") {
		d.errorf(n, "remove the default and set the variable in the environment", "a secret may not have a default value in the catalog")
		return
	}
	x.Ref = t
	checkRefs(d, n, t)
}

// Set reports whether a reference was written.
func (x Secret) Set() bool { return x.Ref != "" }

// Value resolves the secret; the error names the variable, never a value.
func (x Secret) Value(env Lookup) (string, error) {
	if x.Ref == "" {
		return "", nil
	}
	return resolveRef(x.Ref[2:len(x.Ref)-1], env)
}

// String implements fmt.Stringer without revealing anything.
func (x Secret) String() string { return "<secret>" }

// GoString keeps %#v from printing the reference's fields either.
func (x Secret) GoString() string { return "<secret>" }

// MarshalJSON implements json.Marshaler.
func (x Secret) MarshalJSON() ([]byte, error) { return []byte(`"<secret>"`), nil }

// MarshalYAML implements yaml.Marshaler.
func (x Secret) MarshalYAML() (any, error) { return "<secret>", nil }

// Text is a string that may hold ${ENV} references (a base URL, a webhook
// URL, a host name), resolved at run time.
type Text struct {
	Raw string
	At  Pos
}

func (x *Text) decodeNode(d *decoder, n *yaml.Node) {
	x.At = d.pos(n)
	s, ok := d.scalar(n, "text")
	if !ok {
		return
	}
	x.Raw = s
	checkRefs(d, n, s)
}

// Value resolves every ${…} reference in the text.
func (x Text) Value(env Lookup) (string, error) {
	var firstErr error
	out := envRef.ReplaceAllStringFunc(x.Raw, func(m string) string {
		v, err := resolveRef(m[2:len(m)-1], env)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// Expr is one expression of the mapping language, with where it was
// written so that a compile error points into the file.
type Expr struct {
	Src    string
	At     Pos
	style  yaml.Style
	indent int // of the text of a block scalar (| or >), in the file
	// inFlow is set when the expression is a value of a { … } mapping,
	// where YAML ends a plain value at the first comma.
	inFlow bool
}

func (x *Expr) decodeNode(d *decoder, n *yaml.Node) {
	x.At = d.pos(n)
	x.style = n.Style
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		x.indent = d.lineIndent(n.Line + 1)
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, `write one expression, e.g. lower(trim(in.email)); quote it if it contains ": " or starts with a quote`,
			"expected an expression, got %s", kindName(n))
		return
	}
	if isNull(n) {
		d.errorf(n, "write an expression; for a constant text, quote it twice: '\"order-received\"'", "the expression is empty")
		return
	}
	x.Src = n.Value
}

// Set reports whether an expression was written.
func (x Expr) Set() bool { return x.At.Line != 0 }

// PosAt maps a 1-based line and column inside the expression text to the
// position in the file.
func (x Expr) PosAt(line, col int) Pos {
	p := x.At
	switch x.style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after the | or > indicator; its
		// indentation is not part of the value.
		p.Line += line
		p.Col = x.indent + col
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		p.Line += line - 1
		if line == 1 {
			p.Col += col // after the opening quote
		} else {
			p.Col = col
		}
	default:
		p.Line += line - 1
		if line == 1 {
			p.Col += col - 1
		} else {
			p.Col = col
		}
	}
	return p
}

// FieldMap is an ordered mapping of target fields to expressions, as
// written: order is kept because it is the order people read in docs.
type FieldMap []FieldExpr

// FieldExpr is one `target: expression` line.
type FieldExpr struct {
	Target string
	Expr   Expr
	At     Pos // of the target key
}

func (x *FieldMap) decodeNode(d *decoder, n *yaml.Node) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "write one `field: expression` per line", "expected a mapping of fields to expressions, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.errorf(k, "remove one of the two", "field %q is mapped twice", k.Value)
			continue
		}
		seen[k.Value] = true
		if n.Style&yaml.FlowStyle != 0 && strings.ContainsAny(k.Value, "()") && isNull(resolve(v)) {
			// The tail of an expression YAML split at a comma inside { … }
			// ("in.vat)" of money(in.total, in.vat)): the head's error
			// already says what happened, so this is not a field.
			continue
		}
		fe := FieldExpr{Target: k.Value, At: d.pos(k)}
		fe.Expr.decodeNode(d, resolve(v))
		fe.Expr.inFlow = n.Style&yaml.FlowStyle != 0 && resolve(v).Style == 0
		*x = append(*x, fe)
	}
}

// Get returns the expression for target, if mapped.
func (x FieldMap) Get(target string) (FieldExpr, bool) {
	for _, f := range x {
		if f.Target == target {
			return f, true
		}
	}
	return FieldExpr{}, false
}
