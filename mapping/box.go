package mapping

import (
	"encoding/json"
	"unsafe"
)

// Boxing a string into an interface normally allocates a 16-byte header per
// value; for a decoded body that is one allocation per string and number,
// the largest single cost of intake. A boxSlab keeps the headers of one
// body's values in shared chunks and builds the interfaces to point into
// them, which is how Go's runtime itself represents a boxed string (a type
// word and a pointer to the string header). The chunks are never written
// again once a value points into them, as the runtime requires of boxed
// values, and the interior pointers keep a chunk alive as long as any of
// its values is.

// eface is the runtime layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringTypeWord     = typeWord("")
	jsonNumberTypeWord = typeWord(json.Number(""))
)

// boxSlab boxes the strings of one decoded body.
type boxSlab struct {
	chunk []string
	next  int // chunk size for the next allocation
}

func (s *boxSlab) box(typ unsafe.Pointer, str string) any {
	if len(s.chunk) == cap(s.chunk) {
		n := max(s.next, 8)
		s.chunk = make([]string, 0, n)
		s.next = min(n*2, 1024)
	}
	s.chunk = append(s.chunk, str)
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ = typ
	e.data = unsafe.Pointer(&s.chunk[len(s.chunk)-1])
	return v
}
