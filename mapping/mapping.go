// Package mapping is Seam's mapping language: one expression per target
// field, compiled once when the catalog loads and evaluated per record, with
// a function library that understands the canonical model's semantic types
// (dates with declared formats, money with currency, VAT rate and basis,
// phone numbers, countries) and the conventions each system writes them in.
//
// Expressions use the expr language (github.com/expr-lang/expr): Go-like
// operators, `?:` and `??`, and list helpers such as map, filter and len.
// In an inbound mapping the decoded input is `in`; in an outbound mapping
// the canonical record's top-level fields are variables:
//
//	ordered_on: date(in.order_date)              # with the source's DD/MM/YYYY
//	total:      money(in.total_gross, in.vat_rate)
//	NetAmount:  total.net                        # outbound, from the canonical record
//
// Arithmetic on amounts is exact (decimal, never float), and a value that
// does not fit its declared convention is refused with a reason that says
// why, never guessed.
package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/seamhq/seam"
)

// Scope is what expressions can see, fixed at compile time.
type Scope struct {
	// Inbound selects the kind of mapping. true: expressions see the decoded
	// input as `in` (map[string]any, []any, string, float64, json.Number,
	// bool or nil). false: the canonical record's top-level fields are
	// variables (id, customer.email, total.net).
	Inbound bool
	// Fields are the canonical model's top-level field names, for outbound
	// scopes: an unknown name is then a compile error with a suggestion.
	// When empty, names are not checked until evaluation.
	Fields []string
	// Lookups are the declared lookup tables, for lookup("table", key).
	Lookups map[string]map[string]any
	// Conventions are those of the reading side: in an inbound scope, the
	// source system's, used implicitly by date(), decimal() and money().
	Conventions Conventions
	// Now is the clock of now() and today(); nil means time.Now. Tests and
	// replays inject it.
	Now func() time.Time
}

// CompileError is an expression that cannot be compiled, with its position
// within the expression text (Line and Column 1-based, Column in runes,
// Offset in bytes) so that `seam validate` can point into the YAML file.
type CompileError struct {
	Offset, Line, Column int
	Msg                  string
	Hint                 string // e.g. "did you mean lower?"
}

// Error implements error.
func (e *CompileError) Error() string {
	s := fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Program is one compiled expression, safe for concurrent use.
type Program struct {
	src      string
	path     []string // set when the expression is a plain path (in.a.b, total.net): evaluated without the VM
	prog     *vm.Program
	inbound  bool
	usesXRef bool
	sources  []string // input paths the expression reads, for messages
}

// Env is the per-record input of an evaluation.
type Env struct {
	In     any            // inbound: the decoded input
	Record map[string]any // outbound: the canonical record
	// XRef resolves a cross-reference: the id under which system knows the
	// entity with the given canonical key. nil means none is known.
	XRef func(system, entity, key string) (string, bool)
}

// The input variable is spelled `in` by users, but `in` is an operator in
// expr ("x in list"). Before compiling, uses of `in` as a value are renamed
// to inVar, which has the same length so error positions stay right.
const (
	inVar  = "_i"
	envVar = "__env"
)

// inboundEnv is the evaluation environment of inbound programs. It is a
// struct rather than a map so it can be pooled without rebuilding a map per
// record.
type inboundEnv struct {
	In    any        `expr:"_i"`
	State *evalState `expr:"__env"`
}

// evalState is what the library's hidden functions see of an evaluation:
// the caller's Env (for xref) and, for combined inbound programs, where
// __collect puts the field values.
type evalState struct {
	env Env // a copy, so that the caller's *Env does not escape to the heap
	out []any
}

// compiler holds the expr options derived from one scope.
type compiler struct {
	sc    *Scope
	opts  []expr.Option
	funcs []string // known function names, for "did you mean"
	vars  []string // known variable names, for "did you mean"
}

func newCompiler(sc *Scope) *compiler {
	if sc == nil {
		sc = &Scope{}
	}
	c := &compiler{sc: sc}
	var specs []funcSpec
	for _, s := range append(library(sc), opFuncs()...) {
		// In an outbound scope the record's fields are the vocabulary: a
		// field called email or currency must mean the field, not the
		// function of the same name (which an outbound mapping has no use
		// for: the value was normalised on the way in).
		if !sc.Inbound && slices.Contains(sc.Fields, s.name) {
			c.opts = append(c.opts, expr.DisableBuiltin(s.name))
			continue
		}
		specs = append(specs, s)
	}
	for _, s := range specs {
		// Our functions replace expr's builtins of the same name (date,
		// trim, round…); disabling them keeps the parser from treating the
		// names specially.
		c.opts = append(c.opts, expr.DisableBuiltin(s.name))
		if !strings.HasPrefix(s.name, "__") {
			c.funcs = append(c.funcs, s.name)
		}
	}
	c.funcs = append(c.funcs, "xref")
	c.opts = append(c.opts, exprFunctions(specs)...)
	for _, b := range builtin.Names {
		if !slices.Contains(c.funcs, b) && !strings.HasPrefix(b, "$") {
			c.funcs = append(c.funcs, b)
		}
	}
	if sc.Inbound {
		c.opts = append(c.opts, expr.Env(inboundEnv{}))
		c.vars = append(c.vars, "in")
	} else {
		// The record's fields are declared by name only: their types vary
		// per record. expr would type a declared-but-nil variable as nil and
		// refuse map(lines, …), so names are left undefined to expr and
		// checked against Fields after compilation (checkNames).
		c.opts = append(c.opts, expr.Env(map[string]any{envVar: (*evalState)(nil)}), expr.AllowUndefinedVariables())
		c.vars = append(c.vars, sc.Fields...)
	}
	return c
}

// Compile compiles one expression, e.g. a route's `when:` or a flow's
// `key:`. The error, if any, is a *CompileError.
func Compile(src string, sc *Scope) (*Program, error) {
	p, cerr := newCompiler(sc).compile(src)
	if cerr != nil {
		return nil, cerr
	}
	return p, nil
}

func (c *compiler) compile(src string) (p *Program, cerr *CompileError) {
	if strings.TrimSpace(src) == "" {
		return nil, &CompileError{Line: 1, Column: 1, Msg: "the expression is empty"}
	}
	prog, pt, cerr := c.compileRaw(src)
	if cerr != nil {
		return nil, cerr
	}
	p = &Program{src: src, prog: prog, inbound: c.sc.Inbound, usesXRef: pt.usesXRef, path: plainPath(src, c.sc.Inbound)}
	for s := range pt.sources {
		p.sources = append(p.sources, s)
	}
	slices.Sort(p.sources)
	return p, nil
}

// compileRaw runs expr with the patcher and translates its errors.
func (c *compiler) compileRaw(src string) (prog *vm.Program, pt *patcher, cerr *CompileError) {
	text := src
	if c.sc.Inbound {
		text = renameIn(src)
	}
	text, inserted := wrapMapPredicates(text)
	pt = &patcher{sc: c.sc, sources: map[string]struct{}{}}
	defer func() {
		// expr reports problems as errors, but a compiler is a large
		// surface; an expression from a catalog must never take Seam down.
		if r := recover(); r != nil {
			prog, cerr = nil, &CompileError{Line: 1, Column: 1, Msg: fmt.Sprintf("the expression cannot be compiled: %v", r)}
		}
	}()
	opts := append(slices.Clip(c.opts), expr.Patch(pt))
	prog, err := expr.Compile(text, opts...)
	if err != nil {
		return nil, pt, c.translate(src, err, inserted)
	}
	if pt.err == nil && !c.sc.Inbound && len(c.sc.Fields) > 0 {
		c.checkNames(pt)
	}
	if pt.err != nil {
		loc := pt.err.node.Location()
		ce := positioned(src, unshift(loc.From, inserted))
		ce.Msg, ce.Hint = pt.err.msg, pt.err.hint
		return nil, pt, ce
	}
	return prog, pt, nil
}

// checkNames reports the first identifier of an outbound expression that
// is neither a canonical field, a function nor a let variable.
func (c *compiler) checkNames(pt *patcher) {
	for _, id := range pt.idents {
		name := id.Value
		if name == envVar || name == "$env" || pt.lets[name] || slices.Contains(c.sc.Fields, name) || slices.Contains(c.funcs, name) || strings.HasPrefix(name, "__") {
			continue
		}
		if pt.callees[id] {
			pt.fail(id, suggest(name, c.funcs), "unknown function "+name)
		} else {
			pt.fail(id, suggest(name, c.vars), fmt.Sprintf("unknown name %s: not a canonical field or a function", name))
		}
		return
	}
}

// positioned returns a CompileError pointing at the rune offset from.
func positioned(src string, from int) *CompileError {
	ce := &CompileError{Line: 1, Column: 1}
	runes := 0
	for i, r := range src {
		if runes == from {
			ce.Offset = i
			return ce
		}
		runes++
		if r == '\n' {
			ce.Line++
			ce.Column = 1
		} else {
			ce.Column++
		}
	}
	ce.Offset = len(src)
	return ce
}

// translate turns an expr error into a CompileError in the user's terms.
func (c *compiler) translate(src string, err error, inserted []int) *CompileError {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &CompileError{Line: 1, Column: 1, Msg: renameBack(err.Error())}
	}
	ce := positioned(src, unshift(fe.From, inserted))
	msg := renameBack(fe.Message)
	switch {
	case strings.HasPrefix(msg, "unknown name "):
		name := strings.TrimPrefix(msg, "unknown name ")
		if rest := strings.TrimLeft(src[min(ce.Offset+len(name), len(src)):], " \t"); strings.HasPrefix(rest, "(") {
			ce.Hint = suggest(name, c.funcs)
			msg = fmt.Sprintf("unknown function %s", name)
		} else if ce.Hint = suggest(name, c.vars); c.sc.Inbound {
			msg = fmt.Sprintf("unknown name %s: an inbound mapping reads the input as in (e.g. in.%s) and calls library functions", name, name)
		} else {
			msg = fmt.Sprintf("unknown name %s: not a canonical field or a function", name)
		}
	case !c.sc.Inbound && strings.Contains(msg, `Operator("in")`):
		msg = "in (the input) exists only in inbound mappings; an outbound mapping reads canonical fields such as customer.email"
	case strings.HasPrefix(msg, "unexpected token"):
		msg = "syntax error: " + msg
	}
	ce.Msg = msg
	return ce
}

// renameIn renames `in` used as a value to inVar, leaving the operator (x in
// list), strings and comments alone. `in` is the value when it starts an
// operand: at the start, after an operator or an opening bracket, or when
// it is immediately followed by "." or "?." (in.order_no).
func renameIn(src string) string {
	var b []byte
	prevValue := false // the previous token ends an operand
	prevWord := ""
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := skipString(src, i)
			prevValue, prevWord = true, ""
			i = j
			continue
		case c == '/' && i+1 < len(src) && (src[i+1] == '/' || src[i+1] == '*'):
			j := skipComment(src, i)
			i = j
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			word := src[i:j]
			if word == "in" && !afterDot(src, i) {
				next := src[j:]
				member := strings.HasPrefix(next, ".") || strings.HasPrefix(next, "?.")
				// After "not" it is the operator (x not in list) unless a
				// member follows (not in.flag).
				operand := member || (!prevValue && prevWord != "not") || (isKeyword(prevWord) && prevWord != "not")
				if operand {
					if b == nil {
						b = []byte(src)
					}
					copy(b[i:], inVar)
					prevValue, prevWord = true, ""
					i = j
					continue
				}
			}
			prevValue, prevWord = !isKeyword(word), word
			i = j
			continue
		case c >= '0' && c <= '9':
			for i < len(src) && (isIdentPart(src[i]) || src[i] == '.') {
				i++
			}
			prevValue, prevWord = true, ""
			continue
		case c == ')' || c == ']' || c == '}' || c == '#':
			prevValue, prevWord = true, ""
		default:
			prevValue, prevWord = false, ""
		}
		i++
	}
	if b == nil {
		return src
	}
	return string(b)
}

// predicateBuiltins are expr's functions whose second argument is a
// closure: map(list, {…}).
var predicateBuiltins = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true,
	"count": true, "sum": true, "find": true, "findIndex": true, "findLast": true,
	"findLastIndex": true, "groupBy": true, "sortBy": true, "reduce": true,
}

// wrapMapPredicates lets map(in.items, {sku: .sku}) build an object per
// item, as people expect. In expr the braces of a predicate delimit the
// closure, so the object literal must be written ({sku: .sku}); this adds
// the parentheses around a brace that opens a predicate argument and starts
// like an object (a name or string, then ':'). It returns the offsets (in
// the output) of the inserted characters, so error positions can be mapped
// back.
func wrapMapPredicates(src string) (string, []int) {
	type open struct {
		c    byte
		call string // for '(', the word before it
	}
	var stack []open
	var wraps [][2]int // positions of '{' and its matching '}'
	var opens []int    // indexes into wraps of braces still open, -1 for others
	prevWord, prevSig := "", byte(0)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(src, i)
			prevWord, prevSig = "", '"'
			continue
		case c == '/' && i+1 < len(src) && (src[i+1] == '/' || src[i+1] == '*'):
			i = skipComment(src, i)
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			prevWord, prevSig = src[i:j], 'a'
			i = j
			continue
		case c == '(':
			call := ""
			if prevSig == 'a' {
				call = prevWord
			}
			stack = append(stack, open{c, call})
		case c == '[':
			stack = append(stack, open{c, ""})
		case c == '{':
			idx := -1
			if prevSig == ',' && len(stack) > 0 && stack[len(stack)-1].c == '(' && predicateBuiltins[stack[len(stack)-1].call] && looksLikeObject(src[i+1:]) {
				wraps = append(wraps, [2]int{i, -1})
				idx = len(wraps) - 1
			}
			stack = append(stack, open{c, ""})
			opens = append(opens, idx)
		case c == ')' || c == ']' || c == '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if c == '}' && len(opens) > 0 {
				if idx := opens[len(opens)-1]; idx >= 0 {
					wraps[idx][1] = i
				}
				opens = opens[:len(opens)-1]
			}
		}
		prevWord, prevSig = "", c
		i++
	}
	if len(wraps) == 0 {
		return src, nil
	}
	type point struct {
		pos int
		ch  byte
	}
	var points []point
	for _, w := range wraps {
		if w[1] >= 0 {
			points = append(points, point{w[0], '('}, point{w[1] + 1, ')'})
		}
	}
	// At equal positions a closing parenthesis comes before an opening one.
	slices.SortFunc(points, func(a, b point) int {
		if a.pos != b.pos {
			return a.pos - b.pos
		}
		return int(b.ch) - int(a.ch)
	})
	var b strings.Builder
	var inserted []int
	last, runes := 0, 0
	for _, p := range points {
		b.WriteString(src[last:p.pos])
		runes += utf8.RuneCountInString(src[last:p.pos])
		inserted = append(inserted, runes)
		b.WriteByte(p.ch)
		runes++
		last = p.pos
	}
	b.WriteString(src[last:])
	return b.String(), inserted
}

// looksLikeObject reports whether s (after a '{') starts like an object
// literal: a name or a quoted key followed by ':'.
func looksLikeObject(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	if s == "" {
		return false
	}
	switch {
	case s[0] == '"' || s[0] == '\'':
		s = s[skipString(s, 0):]
	case isIdentStart(s[0]) && s[0] != '$':
		j := 0
		for j < len(s) && isIdentPart(s[j]) {
			j++
		}
		s = s[j:]
	default:
		return false
	}
	s = strings.TrimLeft(s, " \t\r\n")
	return strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "::")
}

// unshift maps an offset in the preprocessed text back to the source.
func unshift(off int, inserted []int) int {
	n := 0
	for _, p := range inserted {
		if p < off {
			n++
		}
	}
	return off - n
}

// afterDot reports whether the word at i is a property name (x.in).
func afterDot(src string, i int) bool {
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t' || src[i-1] == '\n' || src[i-1] == '\r') {
		i--
	}
	return i > 0 && src[i-1] == '.'
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c|0x20 >= 'a' && c|0x20 <= 'z' || c >= utf8.RuneSelf
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// isKeyword lists expr's word operators, after which an operand starts.
func isKeyword(w string) bool {
	switch w {
	case "not", "and", "or", "in", "matches", "contains", "startsWith", "endsWith", "let", "if", "else", "return":
		return true
	}
	return false
}

func skipString(src string, i int) int {
	q := src[i]
	j := i + 1
	for j < len(src) {
		switch src[j] {
		case '\\':
			if q != '`' {
				j += 2
				continue
			}
		case q:
			return j + 1
		}
		j++
	}
	return len(src)
}

func skipComment(src string, i int) int {
	if src[i+1] == '/' {
		if k := strings.IndexByte(src[i:], '\n'); k >= 0 {
			return i + k + 1
		}
		return len(src)
	}
	if k := strings.Index(src[i+2:], "*/"); k >= 0 {
		return i + 2 + k + 2
	}
	return len(src)
}

// renameBack restores `in` in messages that mention the renamed variable.
func renameBack(msg string) string {
	if !strings.Contains(msg, inVar) {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		if strings.HasPrefix(msg[i:], inVar) && (i == 0 || !isIdentPart(msg[i-1])) && (i+len(inVar) == len(msg) || !isIdentPart(msg[i+len(inVar)])) {
			b.WriteString("in")
			i += len(inVar)
			continue
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}

// suggest returns "did you mean X?" for the closest known name, if close.
func suggest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := levenshtein(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	limit := 2
	if n := utf8.RuneCountInString(name); n <= 3 {
		limit = 1
	} else if n >= 9 {
		limit = 3
	}
	if best == "" || bestD > limit {
		return ""
	}
	return "did you mean " + best + "?"
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// evaluator is a reusable expr VM plus the inbound environment; pooling it
// keeps an evaluation from allocating a VM, its stack and its environment
// per record.
type evaluator struct {
	vm      vm.VM
	in      inboundEnv
	state   evalState
	scratch []any
}

var evaluators = sync.Pool{New: func() any { return new(evaluator) }}

func getEvaluator() *evaluator { return evaluators.Get().(*evaluator) }

// release returns the evaluator to the pool without keeping references to
// the record it evaluated.
func (ev *evaluator) release() {
	clear(ev.state.out)
	ev.state = evalState{out: ev.state.out[:0]}
	clear(ev.scratch)
	ev.scratch = ev.scratch[:0]
	ev.in = inboundEnv{}
	evaluators.Put(ev)
}

// run evaluates prog for env.
func (ev *evaluator) run(prog *vm.Program, inbound, usesXRef bool, env *Env) (any, error) {
	ev.state.env = *env
	if inbound {
		ev.in = inboundEnv{In: env.In, State: &ev.state}
		return ev.vm.Run(prog, &ev.in)
	}
	rec := env.Record
	if usesXRef {
		// The record is the caller's; the hidden variable goes into a copy.
		cp := make(map[string]any, len(rec)+1)
		for k, v := range rec {
			cp[k] = v
		}
		cp[envVar] = &evalState{env: *env}
		rec = cp
	}
	return ev.vm.Run(prog, rec)
}

// plainPath splits an expression that only reads a value (in.customer.name
// inbound, customer.email outbound) into its segments, or returns nil.
// Such fields, the majority of most mappings, are read directly instead of
// through the VM, with the same semantics as __get.
func plainPath(src string, inbound bool) []string {
	parts := strings.Split(strings.TrimSpace(src), ".")
	for _, part := range parts {
		if part == "" || !isIdentStart(part[0]) || part[0] == '$' || part[0] >= utf8.RuneSelf {
			return nil
		}
		for i := 1; i < len(part); i++ {
			if !isIdentPart(part[i]) || part[i] >= utf8.RuneSelf {
				return nil
			}
		}
		if isKeyword(part) || part == "nil" || part == "true" || part == "false" {
			return nil
		}
	}
	if inbound {
		if parts[0] != "in" {
			return nil
		}
		return parts[1:]
	}
	if len(parts) == 1 && strings.HasPrefix(parts[0], "__") {
		return nil
	}
	return parts
}

// evalPath reads a plain path from the environment.
func (p *Program) evalPath(env *Env) (any, error) {
	var v any
	path := p.path
	if p.inbound {
		v = env.In
	} else {
		v, path = env.Record[path[0]], path[1:]
	}
	for _, k := range path {
		var err error
		if v, err = getField(v, k); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Eval evaluates the expression for one record.
func (p *Program) Eval(env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	if p.path != nil {
		v, err := p.evalPath(env)
		if err != nil {
			return nil, p.evalError(err)
		}
		return v, nil
	}
	ev := getEvaluator()
	out, err := ev.run(p.prog, p.inbound, p.usesXRef, env)
	ev.release()
	if err != nil {
		return nil, p.evalError(err)
	}
	return out, nil
}

// evalError extracts the library's ValueError from expr's wrapping, or
// phrases expr's own runtime error as one.
func (p *Program) evalError(err error) *ValueError {
	var ve *ValueError
	if errors.As(err, &ve) {
		out := *ve
		// Name the input field when the expression reads only one, since
		// the sender knows their field names, not the canonical ones.
		if len(p.sources) == 1 && ve.Rule != "xref" && ve.Rule != "lookup" {
			if ve.Value != "" && strings.HasPrefix(ve.Msg, quote(ve.Value)) {
				out.Msg = p.sources[0] + " " + ve.Msg
			} else {
				out.Msg += "; read from " + p.sources[0]
			}
		}
		return &out
	}
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
	}
	return &ValueError{Rule: "expression", Msg: "the expression failed: " + renameBack(msg)}
}

// Field is one target field of a mapping and its expression.
type Field struct {
	Target string // a dot path: "customer.email", "total"
	Expr   string
}

// FieldError is a field whose expression or target is wrong.
type FieldError struct {
	Target string
	Err    *CompileError
}

// Error implements error.
func (e *FieldError) Error() string { return e.Target + ": " + e.Err.Error() }

// Mapping is a compiled set of fields, safe for concurrent use.
type Mapping struct {
	fields  []*Program
	targets []string
	tree    *outNode
	// all evaluates every field in one VM run ([e1, e2, …]); nil when the
	// fields could not be combined, in which case they run one by one.
	all      *vm.Program
	usesXRef bool
	inbound  bool
	stage    seam.Stage
	viaVM    []int // fields that need the VM (not plain paths), in order
}

// outNode is the shape of the output: nested maps down to the fields.
type outNode struct {
	key      string
	field    int // index into fields, or -1 for a nested object
	children []*outNode
}

// NewMapping compiles every field and reports every bad one, not only the
// first, so a catalog author fixes them in one pass.
func NewMapping(fields []Field, sc *Scope) (*Mapping, []*FieldError) {
	c := newCompiler(sc)
	m := &Mapping{tree: &outNode{field: -1}, inbound: c.sc.Inbound, stage: seam.StageMap}
	if !c.sc.Inbound {
		m.stage = seam.StageRoute
	}
	var errs []*FieldError
	for _, f := range fields {
		if msg := m.addTarget(f.Target, len(m.fields)); msg != "" {
			errs = append(errs, &FieldError{Target: f.Target, Err: &CompileError{Line: 1, Column: 1, Msg: msg}})
			continue
		}
		p, cerr := c.compile(f.Expr)
		if cerr != nil {
			errs = append(errs, &FieldError{Target: f.Target, Err: cerr})
			m.removeTarget(f.Target)
			continue
		}
		m.fields = append(m.fields, p)
		m.targets = append(m.targets, f.Target)
		m.usesXRef = m.usesXRef || p.usesXRef
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for i, p := range m.fields {
		if p.path == nil {
			m.viaVM = append(m.viaVM, i)
		}
	}
	vm := make([]*Program, len(m.viaVM))
	for k, i := range m.viaVM {
		vm[k] = m.fields[i]
	}
	m.all = c.combine(vm)
	return m, nil
}

// collectFunc is __collect(state, v1, v2, …): it hands the values of a
// combined inbound program to Apply through the pooled state, which costs
// no allocation, where returning a list would cost two.
func collectFunc(a ...any) (any, error) {
	if st, ok := a[0].(*evalState); ok && st != nil {
		st.out = append(st.out[:0], a[1:]...)
	}
	return nil, nil
}

// combine compiles all fields into one program returning a list, so a
// record costs one VM run instead of one per field. Any failure just means
// the fields run one by one.
func (c *compiler) combine(fields []*Program) *vm.Program {
	if len(fields) == 0 {
		return nil
	}
	var b strings.Builder
	open, end := "[", "]"
	if c.sc.Inbound {
		open, end = "__collect("+envVar+",", ")"
	}
	b.WriteString(open)
	for i, f := range fields {
		if i > 0 {
			b.WriteString(",")
		}
		// Newlines end any trailing // comment inside the field.
		b.WriteString("(\n")
		b.WriteString(f.src)
		b.WriteString("\n)")
	}
	b.WriteString(end)
	prog, _, cerr := c.compileRaw(b.String())
	if cerr != nil {
		return nil
	}
	return prog
}

// addTarget places a target path in the output tree; it returns a message
// when the path is malformed or clashes with another target.
func (m *Mapping) addTarget(target string, field int) string {
	if target == "" {
		return "the target field name is empty"
	}
	parts := strings.Split(target, ".")
	for _, p := range parts {
		if p == "" {
			return fmt.Sprintf("%q is not a field path (empty segment)", target)
		}
	}
	n := m.tree
	for i, p := range parts {
		var next *outNode
		for _, ch := range n.children {
			if ch.key == p {
				next = ch
				break
			}
		}
		last := i == len(parts)-1
		switch {
		case next == nil:
			next = &outNode{key: p, field: -1}
			if last {
				next.field = field
			}
			n.children = append(n.children, next)
		case last && next.field >= 0:
			return fmt.Sprintf("%s is mapped twice", target)
		case last:
			return fmt.Sprintf("%s is an object here (other fields map into it); map its fields instead", target)
		case next.field >= 0:
			return fmt.Sprintf("%s is already mapped as a whole, so %s cannot be mapped too", strings.Join(parts[:i+1], "."), target)
		}
		n = next
	}
	return ""
}

// removeTarget drops a target whose expression failed to compile.
func (m *Mapping) removeTarget(target string) {
	parts := strings.Split(target, ".")
	var walk func(n *outNode, i int) bool
	walk = func(n *outNode, i int) bool {
		for k, ch := range n.children {
			if ch.key != parts[i] {
				continue
			}
			if i == len(parts)-1 || walk(ch, i+1) && len(ch.children) == 0 && ch.field < 0 {
				n.children = append(n.children[:k], n.children[k+1:]...)
			}
			return true
		}
		return false
	}
	walk(m.tree, 0)
}

// Targets returns the target paths in declaration order.
func (m *Mapping) Targets() []string { return slices.Clone(m.targets) }

// Apply maps one record. The result is nested ("customer.email" becomes
// out["customer"]["email"]); fields that evaluate to nil are left out, so a
// missing input stays missing and the model's validation decides whether
// that is allowed. Every failing field is reported, each as a seam.Reason
// with Stage map (inbound) or route (outbound).
func (m *Mapping) Apply(env *Env) (map[string]any, []seam.Reason) {
	if env == nil {
		env = &Env{}
	}
	ev := getEvaluator()
	defer ev.release()
	if m.all != nil || len(m.viaVM) == 0 {
		if vals, ok := m.fast(ev, env); ok {
			return m.build(m.tree, vals), nil
		}
	}
	// Slow path: one run per field, to attribute every failure to its field.
	vals := make([]any, len(m.fields))
	var reasons []seam.Reason
	for i, p := range m.fields {
		var v any
		var err error
		if p.path != nil {
			v, err = p.evalPath(env)
		} else {
			v, err = ev.run(p.prog, p.inbound, p.usesXRef, env)
		}
		if err != nil {
			ve := p.evalError(err)
			reasons = append(reasons, seam.Reason{Stage: m.stage, Field: m.targets[i], Value: ve.Value, Rule: ve.Rule, Message: ve.Msg})
			continue
		}
		vals[i] = v
	}
	if reasons != nil {
		return nil, reasons
	}
	return m.build(m.tree, vals), nil
}

// fast evaluates every field at once: plain paths directly, the rest in one
// VM run. ok is false when anything failed; the caller then evaluates field
// by field to report each failure.
func (m *Mapping) fast(ev *evaluator, env *Env) (vals []any, ok bool) {
	var vmVals []any
	if m.all != nil {
		out, err := ev.run(m.all, m.inbound, m.usesXRef, env)
		if err != nil {
			return nil, false
		}
		if m.inbound {
			vmVals = ev.state.out
		} else if vmVals, ok = out.([]any); !ok {
			return nil, false
		}
		if len(vmVals) != len(m.viaVM) {
			return nil, false
		}
	}
	// The values go into the pooled scratch of the evaluator: build copies
	// them into the result maps, so nothing here outlives the call.
	vals = ev.scratch[:0]
	k := 0
	for _, p := range m.fields {
		if p.path == nil {
			vals = append(vals, vmVals[k])
			k++
			continue
		}
		v, err := p.evalPath(env)
		if err != nil {
			return nil, false
		}
		vals = append(vals, v)
	}
	ev.scratch = vals
	return vals, true
}

func (m *Mapping) build(n *outNode, vals []any) map[string]any {
	out := make(map[string]any, len(n.children))
	for _, ch := range n.children {
		if ch.field >= 0 {
			if v := vals[ch.field]; v != nil {
				out[ch.key] = v
			}
			continue
		}
		if sub := m.build(ch, vals); len(sub) > 0 {
			out[ch.key] = sub
		}
	}
	return out
}
