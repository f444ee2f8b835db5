package lineage

import (
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/parser/lexer"

	"github.com/seamhq/seam/internal/catalog"
)

// inVar stands for the input `in` while parsing: `in` is an operator in
// expr ("x in list"), so the mapping package renames it before compiling,
// and so must we. Same length, so positions stay right.
const inVar = "_i"

// Reads returns the fields an expression reads, sorted and without
// duplicates. In an inbound expression (inbound true) they are the input
// paths after `in.` (in.customer.email → "customer.email"); in an outbound
// one they are canonical paths (total.net → "total.net", id → "id"). A read
// of the whole input is "". Member chains stop at the first part that is
// not a constant name (in.items[0].sku → "items").
//
// An expression that does not parse yields an error and no reads: the
// catalog reports the error with its position, and lineage degrades to
// "reads nothing we can tell" rather than guessing.
func Reads(src string, inbound bool) ([]string, error) {
	tree, err := parser.Parse(prepare(src))
	if err != nil {
		return nil, err
	}
	w := &readWalker{inner: map[ast.Node]bool{}, callee: map[ast.Node]bool{}, lets: map[string]bool{}}
	ast.Walk(&tree.Node, w)
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, n := range w.nodes {
		if w.inner[n] || w.callee[n] {
			continue
		}
		root, path, ok := chain(n)
		if !ok {
			continue
		}
		switch {
		case inbound && root == inVar:
			add(path)
		case !inbound && root != inVar && !w.lets[root] && !reserved[root]:
			if path != "" {
				root += "." + path
			}
			add(root)
		}
	}
	slices.Sort(out)
	return out, nil
}

// reserved names are never canonical fields.
var reserved = map[string]bool{"__env": true, "$env": true, "nil": true, "true": true, "false": true}

// readWalker collects identifiers and member nodes, noting which member
// nodes are inside a longer chain (only the longest chain counts) and
// which identifiers are called rather than read.
type readWalker struct {
	nodes  []ast.Node
	inner  map[ast.Node]bool
	callee map[ast.Node]bool
	lets   map[string]bool
}

// Visit implements ast.Visitor. ast.Walk visits children first, so a
// chain's inner nodes are recorded before the chain itself; they are
// filtered out after the walk.
func (w *readWalker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		w.nodes = append(w.nodes, n)
	case *ast.MemberNode:
		w.nodes = append(w.nodes, n)
		w.inner[n.Node] = true
	case *ast.ChainNode:
		// a?.b is Chain(Member(a, b)): the member is the chain's value.
	case *ast.CallNode:
		w.callee[n.Callee] = true
	case *ast.VariableDeclaratorNode:
		w.lets[n.Name] = true
	}
}

// chain splits a member chain into its root identifier and the constant
// path after it ("" for the root alone).
func chain(n ast.Node) (root, path string, ok bool) {
	root, path, _, ok = chainStop(n)
	return root, path, ok
}

// chainStop is chain, also saying whether the path stopped at a part
// that is not a constant name: in.items[0].sku reads items, not items.sku.
func chainStop(n ast.Node) (root, path string, stopped, ok bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x.Value, "", false, true
	case *ast.ChainNode:
		return chainStop(x.Node)
	case *ast.MemberNode:
		r, p, stopped, ok := chainStop(x.Node)
		if !ok || stopped {
			return r, p, stopped, ok
		}
		s, isName := x.Property.(*ast.StringNode)
		if !isName {
			return r, p, true, true
		}
		if p == "" {
			return r, s.Value, false, true
		}
		return r, p + "." + s.Value, false, true
	}
	return "", "", false, false
}

// prepare turns a mapping expression into one expr's parser accepts, as
// the mapping package does before compiling: `in` used as a value becomes
// inVar, and an object literal written as a predicate's body
// (map(in.items, {sku: .sku})) gets the parentheses expr needs.
func prepare(src string) string {
	toks, err := lexer.Lex(file.NewSource(src))
	if err != nil {
		return src
	}
	runes := []rune(src)
	type insert struct {
		at int
		s  string
	}
	var inserts []insert
	var stack []bool // per open bracket: is it a brace we wrapped?
	for i, t := range toks {
		var prev, next lexer.Token
		if i > 0 {
			prev = toks[i-1]
		}
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch {
		case t.Is(lexer.Operator, "in") && isInValue(prev, next):
			copy(runes[t.From:], []rune(inVar))
		case t.Is(lexer.Bracket, "{"):
			wrap := prev.Is(lexer.Operator, ",") && (next.Kind == lexer.Identifier || next.Kind == lexer.String) &&
				i+2 < len(toks) && toks[i+2].Is(lexer.Operator, ":")
			if wrap {
				inserts = append(inserts, insert{t.From, "("})
			}
			stack = append(stack, wrap)
		case t.Is(lexer.Bracket, "(") || t.Is(lexer.Bracket, "["):
			stack = append(stack, false)
		case t.Kind == lexer.Bracket && len(stack) > 0:
			if stack[len(stack)-1] && t.Value == "}" {
				inserts = append(inserts, insert{t.To, ")"})
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(inserts) == 0 {
		return string(runes)
	}
	var b strings.Builder
	last := 0
	for _, in := range inserts {
		b.WriteString(string(runes[last:in.at]))
		b.WriteString(in.s)
		last = in.at
	}
	b.WriteString(string(runes[last:]))
	return b.String()
}

// isInValue reports whether an `in` token is the input rather than the
// operator: it is followed by a member access, or it starts an operand.
func isInValue(prev, next lexer.Token) bool {
	if next.Is(lexer.Operator, ".", "?.") || next.Is(lexer.Bracket, "[") && prev.Kind == "" {
		return true
	}
	switch prev.Kind {
	case "":
		return true
	case lexer.Identifier, lexer.Number, lexer.String, lexer.Bytes:
		return false
	case lexer.Bracket:
		return prev.Value == "(" || prev.Value == "[" || prev.Value == "{"
	case lexer.Operator:
		return prev.Value != "not"
	}
	return false
}

// PathsOverlap reports whether two dotted paths refer to overlapping data:
// equal, or one inside the other (customer and customer.email).
func PathsOverlap(a, b string) bool {
	if a == b || a == "" || b == "" {
		return true
	}
	return strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}

// suppressesEcho reports whether a route's when: excludes records that
// came from dest: it compares something with the destination's name and
// keeps the record only when they differ (origin != "crm", origin not in
// ["crm"], !(origin == "crm")). This is how a flow declares echo
// suppression; see docs/governance.md.
func suppressesEcho(when, dest string) bool {
	if when == "" || dest == "" {
		return false
	}
	tree, err := parser.Parse(prepare(when))
	if err != nil {
		return false
	}
	found := false
	var visit func(n ast.Node, negated bool)
	isDest := func(n ast.Node) bool {
		s, ok := n.(*ast.StringNode)
		return ok && s.Value == dest
	}
	arrayHasDest := func(n ast.Node) bool {
		a, ok := n.(*ast.ArrayNode)
		return ok && slices.ContainsFunc(a.Nodes, isDest)
	}
	visit = func(n ast.Node, negated bool) {
		switch x := n.(type) {
		case *ast.BinaryNode:
			op := x.Operator
			switch {
			case op == "&&" || op == "and" || op == "||" || op == "or":
				visit(x.Left, negated)
				visit(x.Right, negated)
			case (op == "!=" && !negated) || (op == "==" && negated):
				if isDest(x.Left) || isDest(x.Right) {
					found = true
				}
			case op == "not in" && !negated, op == "in" && negated:
				if arrayHasDest(x.Right) {
					found = true
				}
			}
		case *ast.UnaryNode:
			if x.Operator == "not" || x.Operator == "!" {
				visit(x.Node, !negated)
			}
		}
	}
	visit(tree.Node, false)
	return found
}

// TypeOf guesses the type of what an outbound expression of a flow of
// model produces, for telling a retyped field: the canonical type of a
// plain path (total.net is a decimal), the result of the common functions
// (lower() gives a string, number() a decimal, date() a date), or the type
// of a literal; "" when it cannot tell.
func TypeOf(c *catalog.Catalog, model, src string) string {
	tree, err := parser.Parse(prepare(src))
	if err != nil {
		return ""
	}
	switch n := tree.Node.(type) {
	case *ast.StringNode:
		return "string"
	case *ast.IntegerNode, *ast.FloatNode:
		return "decimal"
	case *ast.BoolNode:
		return "bool"
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			return funcTypes[id.Value]
		}
	case *ast.BuiltinNode:
		return funcTypes[n.Name] // expr's own lower(), upper(), trim()
	case *ast.BinaryNode:
		if n.Operator == "+" {
			if _, ok := n.Left.(*ast.StringNode); ok {
				return "string"
			}
			if _, ok := n.Right.(*ast.StringNode); ok {
				return "string"
			}
		}
	}
	if root, path, ok := chain(tree.Node); ok && root != inVar {
		if path != "" {
			root += "." + path
		}
		return CanonicalType(c, model, root)
	}
	return ""
}

// funcTypes are the result types of the mapping functions that have one.
var funcTypes = map[string]string{
	"lower": "string", "upper": "string", "trim": "string", "title": "string", "collapse": "string",
	"strip_diacritics": "string", "join": "string", "format_date": "string",
	"number": "decimal", "decimal": "decimal", "round": "decimal", "net": "decimal", "gross": "decimal", "vat": "decimal",
	"date": "date", "today": "date", "datetime": "datetime", "now": "datetime",
	"money": "money", "email": "email", "phone": "phone", "country": "country", "currency": "currency",
}
