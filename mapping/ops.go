package mapping

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// Expressions see decoded JSON, whose types are only known per record, and
// Seam's own types (Decimal, Date, Money), which expr's built-in operators
// do not know. The patcher below rewrites, before compilation:
//
//   - member access on a value of unknown type (in.order_no, total.net in an
//     outbound mapping) into __get(x, "name"): a type switch instead of
//     expr's reflection, which allocates on every map read, and nil for a
//     missing parent rather than an error (missing stays missing);
//   - arithmetic and comparisons where either side is of unknown type or a
//     Seam type into __add, __lt, …, which do exact decimal arithmetic when a
//     decimal or a JSON number is involved and defer to expr otherwise;
//   - xref(system, entity, key) into __xref(__env, …), which is how the one
//     function that needs the per-record Env reaches it.
//
// Expressions on known basic types (1 + 2, "a" + "b") are left to expr.

var binaryOps = map[string]string{
	"+": "__add", "-": "__sub", "*": "__mul", "/": "__div", "%": "__mod",
	"==": "__eq", "!=": "__ne", "<": "__lt", ">": "__gt", "<=": "__le", ">=": "__ge",
}

var (
	anyType     = reflect.TypeOf((*any)(nil)).Elem()
	boolType    = reflect.TypeOf(true)
	mapType     = reflect.TypeOf(map[string]any(nil))
	decimalType = reflect.TypeOf(Decimal{})
	dateType    = reflect.TypeOf(Date{})
	moneyType   = reflect.TypeOf(Money{})
	jsonNumType = reflect.TypeOf(json.Number(""))
	numberType  = reflect.TypeOf(Number{})
)

// dynamic reports whether values of type t need the library's operators.
func dynamic(t reflect.Type) bool {
	if t == nil || t.Kind() == reflect.Interface {
		return true
	}
	switch t {
	case decimalType, dateType, moneyType, jsonNumType, numberType:
		return true
	}
	return false
}

// patcher rewrites an expression's tree; see the comment at the top of the
// file. It also performs the checks expr cannot know about (lookup table
// names, constant date formats) and records the first problem found.
type patcher struct {
	sc       *Scope
	err      *compileProblem
	usesXRef bool
	sources  map[string]struct{} // input paths read, e.g. in.order_date
	idents   []*ast.IdentifierNode
	lets     map[string]bool // names declared with let
	callees  map[*ast.IdentifierNode]bool
}

type compileProblem struct {
	node ast.Node
	msg  string
	hint string
}

func (p *patcher) fail(n ast.Node, hint, msg string) {
	if p.err == nil {
		p.err = &compileProblem{node: n, msg: msg, hint: hint}
	}
}

func call(fn string, loc ast.Node, t reflect.Type, args ...ast.Node) ast.Node {
	n := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: args}
	n.SetLocation(loc.Location())
	n.SetType(t)
	return n
}

// Visit implements ast.Visitor.
func (p *patcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			p.fail(n, "", "$env is not available in mappings; use in (the input) or the canonical field names")
		}
		p.idents = append(p.idents, n)
	case *ast.VariableDeclaratorNode:
		if p.lets == nil {
			p.lets = map[string]bool{}
		}
		p.lets[n.Name] = true
	case *ast.MemberNode:
		if path, ok := memberPath(n); ok && p.sources != nil && strings.HasPrefix(path, inVar+".") {
			p.sources["in"+path[len(inVar):]] = struct{}{}
		}
		if n.Optional || n.Method {
			return
		}
		if t := n.Node.Type(); !dynamic(t) && t != mapType {
			return
		}
		if t := n.Node.Type(); t == moneyType || t == dateType {
			return // typed: expr checks the field name at compile time
		}
		*node = call("__get", n, anyType, n.Node, n.Property)
	case *ast.BinaryNode:
		fn, ok := binaryOps[n.Operator]
		if !ok || !(dynamic(n.Left.Type()) || dynamic(n.Right.Type())) {
			return
		}
		t := anyType
		if fn != "__add" && fn != "__sub" && fn != "__mul" && fn != "__div" && fn != "__mod" {
			t = boolType
		}
		*node = call(fn, n, t, n.Left, n.Right)
	case *ast.UnaryNode:
		if n.Operator == "-" && dynamic(n.Node.Type()) {
			*node = call("__neg", n, anyType, n.Node)
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if p.callees == nil {
			p.callees = map[*ast.IdentifierNode]bool{}
		}
		p.callees[id] = true
		switch id.Value {
		case "xref":
			if len(n.Arguments) != 3 {
				p.fail(n, "", "xref takes three arguments: xref(system, entity, key)")
				return
			}
			p.usesXRef = true
			env := &ast.IdentifierNode{Value: envVar}
			env.SetLocation(n.Location())
			*node = call("__xref", n, anyType, append([]ast.Node{env}, n.Arguments...)...)
		case "lookup":
			if len(n.Arguments) < 2 || len(n.Arguments) > 3 {
				p.fail(n, "", "lookup takes a table name, a key and optionally a default: lookup(\"table\", key[, default])")
				return
			}
			s, ok := n.Arguments[0].(*ast.StringNode)
			if !ok {
				p.fail(n.Arguments[0], "", "the table of lookup() must be a quoted name, e.g. lookup(\"vat_by_category\", in.category)")
				return
			}
			if _, ok := p.sc.Lookups[s.Value]; !ok {
				names := make([]string, 0, len(p.sc.Lookups))
				for k := range p.sc.Lookups {
					names = append(names, k)
				}
				p.fail(n.Arguments[0], suggest(s.Value, names), "there is no lookup table "+quote(s.Value))
			}
		case "date", "format_date":
			if len(n.Arguments) == 2 {
				if s, ok := n.Arguments[1].(*ast.StringNode); ok {
					_, err := getLayout(s.Value, false)
					if err != nil && id.Value == "format_date" {
						if _, e2 := getLayout(s.Value, true); e2 == nil {
							err = nil
						}
					}
					if err != nil {
						p.fail(n.Arguments[1], "", err.Error())
					}
				}
			}
		case "datetime":
			if len(n.Arguments) >= 2 {
				if s, ok := n.Arguments[1].(*ast.StringNode); ok && s.Value != "" {
					if _, err := getLayout(s.Value, true); err != nil {
						p.fail(n.Arguments[1], "", err.Error())
					}
				}
			}
			if len(n.Arguments) == 3 {
				if s, ok := n.Arguments[2].(*ast.StringNode); ok {
					if _, err := getLocation(s.Value); err != nil {
						p.fail(n.Arguments[2], "", err.Error())
					}
				}
			}
		case "money":
			if len(n.Arguments) >= 3 {
				if s, ok := n.Arguments[2].(*ast.StringNode); ok && s.Value != basisGross && s.Value != basisNet {
					p.fail(n.Arguments[2], "", quote(s.Value)+" is not a price basis; use \"gross\" or \"net\"")
				}
			}
			if len(n.Arguments) == 4 {
				if s, ok := n.Arguments[3].(*ast.StringNode); ok {
					if _, ok := currencyMinor(s.Value); !ok {
						p.fail(n.Arguments[3], "", quote(s.Value)+" is not an ISO 4217 currency code")
					}
				}
			}
		}
	}
}

// memberPath renders a chain of constant member accesses ("_i.a.b").
func memberPath(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x.Value, true
	case *ast.MemberNode:
		base, ok := memberPath(x.Node)
		if !ok {
			return "", false
		}
		if s, ok := x.Property.(*ast.StringNode); ok {
			return base + "." + s.Value, true
		}
	}
	return "", false
}

// opFuncs are the runtime halves of the patcher's rewrites.
func opFuncs() []funcSpec {
	bin := func(name string, f func(a, b any) (any, error), ret any) funcSpec {
		return funcSpec{name, func(a ...any) (any, error) { return f(a[0], a[1]) }, []any{ret}}
	}
	anyRet := new(func(any, any) any)
	boolRet := new(func(any, any) bool)
	cmp := func(name string, ok func(int) bool, fallback func(a, b any) bool) funcSpec {
		return bin(name, func(a, b any) (any, error) {
			c, handled, err := compareValues(a, b)
			if err != nil {
				return nil, err
			}
			if handled {
				return ok(c), nil
			}
			if a == nil || b == nil {
				return nil, newValueError("missing", nil, "cannot compare a missing value with %s", typeName(firstNonNil(a, b)))
			}
			return fallback(a, b), nil
		}, boolRet)
	}
	return []funcSpec{
		{"__collect", collectFunc, []any{new(func(any, ...any) any)}},
		bin("__get", getMember, anyRet),
		bin("__add", func(a, b any) (any, error) { return arith('+', a, b) }, anyRet),
		bin("__sub", func(a, b any) (any, error) { return arith('-', a, b) }, anyRet),
		bin("__mul", func(a, b any) (any, error) { return arith('*', a, b) }, anyRet),
		bin("__div", func(a, b any) (any, error) { return arith('/', a, b) }, anyRet),
		bin("__mod", func(a, b any) (any, error) { return arith('%', a, b) }, anyRet),
		bin("__eq", func(a, b any) (any, error) { return equalValues(a, b), nil }, boolRet),
		bin("__ne", func(a, b any) (any, error) { return !equalValues(a, b), nil }, boolRet),
		cmp("__lt", func(c int) bool { return c < 0 }, runtime.Less),
		cmp("__gt", func(c int) bool { return c > 0 }, runtime.More),
		cmp("__le", func(c int) bool { return c <= 0 }, runtime.LessOrEqual),
		cmp("__ge", func(c int) bool { return c >= 0 }, runtime.MoreOrEqual),
		{"__neg", func(a ...any) (any, error) {
			switch x := a[0].(type) {
			case nil:
				return nil, newValueError("missing", nil, "cannot negate a missing value")
			case Decimal:
				return x.Neg(), nil
			case json.Number, Number:
				d, err := toDecimal(x, &Conventions{})
				if err != nil {
					return nil, err
				}
				return d.Neg(), nil
			}
			return runtime.Negate(a[0]), nil
		}, []any{new(func(any) any)}},
	}
}

func firstNonNil(a, b any) any {
	if a != nil {
		return a
	}
	return b
}

// getMember is __get: reading a field or an index of a value whose type is
// only known at run time.
func getMember(base, key any) (any, error) {
	if k, ok := key.(string); ok {
		return getField(base, k)
	}
	switch b := base.(type) {
	case nil:
		return nil, nil
	case []any:
		i, ok := indexOf(key)
		if !ok {
			return nil, newValueError("type", key, "a list is indexed by a whole number, not %s", typeName(key))
		}
		if i < 0 {
			i += len(b)
		}
		if i < 0 || i >= len(b) {
			return nil, nil
		}
		return b[i], nil
	case map[string]any:
		return nil, newValueError("type", key, "an object's fields are named by text, not %s", typeName(key))
	case string, json.Number, Number, bool, float64, int, Decimal, time.Time, Money, Date:
		return nil, newValueError("type", key, "cannot read %s from %s", quote(keyString(key)), typeName(base))
	}
	return runtime.Fetch(base, key), nil
}

// getField reads a named field; a missing parent gives nil, so that a
// missing input stays missing instead of failing the expression.
func getField(base any, key string) (any, error) {
	switch b := base.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return b[key], nil
	case Money:
		switch key {
		case "amount":
			return b.Amount, nil
		case "currency":
			if v, ok := currencyBoxes[b.Currency]; ok {
				return v, nil
			}
			return b.Currency, nil
		case "vat_rate":
			return b.VatRate, nil
		case "basis":
			if v, ok := currencyBoxes[b.Basis]; ok {
				return v, nil
			}
			return b.Basis, nil
		case "net":
			return b.Net, nil
		case "gross":
			return b.Gross, nil
		case "vat":
			return b.Vat, nil
		}
		return nil, newValueError("type", key, "money has no field %s (it has amount, currency, vat_rate, basis, net, gross, vat)", quote(key))
	case Date:
		switch key {
		case "year":
			return b.Year, nil
		case "month":
			return int(b.Month), nil
		case "day":
			return b.Day, nil
		}
		return nil, newValueError("type", key, "a date has no field %s (it has year, month, day)", quote(key))
	case []any:
		return nil, newValueError("type", key, "cannot read %s from a list; pick an item (list[0].%s) or map over it", quote(key), key)
	case string, json.Number, Number, bool, float64, int, Decimal, time.Time:
		return nil, newValueError("type", key, "cannot read %s from %s", quote(key), typeName(base))
	}
	// Anything else (typed maps and structs from lookup tables): expr's
	// reflective fetch, whose panic on a bad key the VM turns into an error.
	return fetch(base, key)
}

// fetch is expr's reflective member access, with its panic turned into an
// error for callers outside the VM.
func fetch(base any, key string) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, newValueError("type", key, "cannot read %s from %s", quote(key), typeName(base))
		}
	}()
	return runtime.Fetch(base, key), nil
}

func indexOf(k any) (int, bool) {
	switch x := k.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case json.Number:
		i, err := x.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// asDecimal converts the numeric side of a mixed operation; ok is false for
// non-numbers, which then fall through to expr's own operators.
func asDecimal(v any) (Decimal, bool) {
	switch x := v.(type) {
	case Decimal:
		return x, true
	case json.Number, Number, int, int64, float64, int32, uint64:
		d, err := toDecimal(x, &Conventions{})
		return d, err == nil
	}
	return Decimal{}, false
}

func isDecimalLike(v any) bool {
	switch v.(type) {
	case Decimal, json.Number, Number:
		return true
	}
	return false
}

// arith is + - * / % with exact decimals whenever a decimal or a JSON number
// takes part, and expr's own semantics otherwise.
func arith(op byte, a, b any) (any, error) {
	if a == nil || b == nil {
		return nil, newValueError("missing", nil, "a value in the calculation is missing (%s %c %s)", typeName(a), op, typeName(b))
	}
	if _, ok := a.(Money); ok {
		return nil, newValueError("type", a, "money cannot be used in arithmetic directly; use net(m), gross(m) or m.amount")
	}
	if _, ok := b.(Money); ok {
		return nil, newValueError("type", b, "money cannot be used in arithmetic directly; use net(m), gross(m) or m.amount")
	}
	if isDecimalLike(a) || isDecimalLike(b) {
		x, okA := asDecimal(a)
		y, okB := asDecimal(b)
		if !okA || !okB {
			return nil, newValueError("type", firstNonNil(a, b), "cannot combine %s and %s with %c", typeName(a), typeName(b), op)
		}
		var r Decimal
		var err error
		switch op {
		case '+':
			r, err = x.Add(y)
		case '-':
			r, err = x.Sub(y)
		case '*':
			r, err = x.Mul(y)
		case '/':
			if y.IsZero() {
				return nil, newValueError("decimal", b, "division by zero (%s / 0)", x)
			}
			r, err = x.Quo(y)
		case '%':
			if y.IsZero() {
				return nil, newValueError("decimal", b, "division by zero (%s %% 0)", x)
			}
			_, r, err = x.QuoRem(y)
		}
		if err != nil {
			return nil, newValueError("decimal", x, "%s %c %s is out of range (%v)", x, op, y, err)
		}
		return r, nil
	}
	switch op {
	case '+':
		return runtime.Add(a, b), nil
	case '-':
		return runtime.Subtract(a, b), nil
	case '*':
		return runtime.Multiply(a, b), nil
	case '/':
		return runtime.Divide(a, b), nil
	}
	return runtime.Modulo(a, b), nil
}

// compareValues orders decimals (against any number) and dates; handled is
// false for everything else.
func compareValues(a, b any) (c int, handled bool, err error) {
	if isDecimalLike(a) || isDecimalLike(b) {
		x, okA := asDecimal(a)
		y, okB := asDecimal(b)
		if !okA || !okB {
			return 0, false, newValueError("type", firstNonNil(a, b), "cannot compare %s with %s", typeName(a), typeName(b))
		}
		return x.Cmp(y), true, nil
	}
	if da, ok := a.(Date); ok {
		if db, ok := b.(Date); ok {
			return da.Compare(db), true, nil
		}
	}
	return 0, false, nil
}

// equalValues is == : numerically for decimals (1.0 == 1.00), by value for
// dates and money, expr's equality otherwise.
func equalValues(a, b any) bool {
	if isDecimalLike(a) || isDecimalLike(b) {
		x, okA := asDecimal(a)
		y, okB := asDecimal(b)
		return okA && okB && x.Cmp(y) == 0
	}
	switch x := a.(type) {
	case Date:
		y, ok := b.(Date)
		return ok && x == y
	case Money:
		y, ok := b.(Money)
		return ok && x.Currency == y.Currency && x.Net.Cmp(y.Net) == 0 && x.Gross.Cmp(y.Gross) == 0
	}
	return runtime.Equal(a, b)
}

// currencyBoxes holds currency codes and price bases already boxed as
// interfaces, so reading total.currency per record allocates nothing.
var currencyBoxes = func() map[string]any {
	m := map[string]any{basisGross: basisGross, basisNet: basisNet}
	for i := 0; i+4 < len(currencyTable); i += 5 {
		code := currencyTable[i : i+3]
		m[code] = code
	}
	return m
}()
