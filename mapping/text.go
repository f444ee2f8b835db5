package mapping

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// collapseSpace trims s and turns every run of whitespace into one space,
// returning s itself when nothing changes (the usual case) to save a copy.
func collapseSpace(s string) string {
	clean := true
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			clean = false
			break
		}
		sp := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
		if sp && (prevSpace || c != ' ') {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean && !prevSpace {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// titleCase upper-cases the first letter of every word and lower-cases the
// rest: "jan NOVÁK-svoboda" → "Jan Novák-Svoboda".
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		if unicode.IsLetter(r) {
			if start {
				b.WriteRune(unicode.ToTitle(r))
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
			start = false
			continue
		}
		b.WriteRune(r)
		start = unicode.IsSpace(r) || r == '-' || r == '\'' || r == '’' || r == '.'
	}
	return b.String()
}

// Letters that carry no combining mark in Unicode, so NFD cannot strip them.
var extraFolds = strings.NewReplacer(
	"ł", "l", "Ł", "L", "đ", "d", "Đ", "D", "ø", "o", "Ø", "O", "ß", "ss",
	"æ", "ae", "Æ", "AE", "œ", "oe", "Œ", "OE", "ħ", "h", "Ħ", "H", "ı", "i",
	"þ", "th", "Þ", "Th", "ð", "d", "Ð", "D",
)

// diacriticsPool holds transformers: they keep state, so one per goroutine.
var diacriticsPool = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// stripDiacritics removes accents: "Žluťoučký kůň" → "Zlutoucky kun".
func stripDiacritics(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	t := diacriticsPool.Get().(transform.Transformer)
	defer diacriticsPool.Put(t)
	t.Reset()
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return extraFolds.Replace(out)
}

// nameParticles are lower-case words that belong to the family name that
// follows them: "Ludwig van Beethoven" → last "van Beethoven".
var nameParticles = map[string]bool{
	"van": true, "von": true, "de": true, "der": true, "den": true, "da": true,
	"di": true, "du": true, "del": true, "della": true, "dos": true, "das": true,
	"do": true, "la": true, "le": true, "ten": true, "ter": true, "zu": true, "af": true,
}

// splitName splits a person's name into first and last. "Novák, Jan" is
// last-comma-first; otherwise the last word, with any particles before it,
// is the family name. A single word is a first name.
func splitName(s string) map[string]any {
	s = collapseSpace(s)
	if last, first, ok := strings.Cut(s, ","); ok {
		return map[string]any{"first": strings.TrimSpace(first), "last": strings.TrimSpace(last)}
	}
	words := strings.Fields(s)
	if len(words) <= 1 {
		return map[string]any{"first": s, "last": ""}
	}
	i := len(words) - 1
	for i > 1 && nameParticles[words[i-1]] {
		i--
	}
	return map[string]any{"first": strings.Join(words[:i], " "), "last": strings.Join(words[i:], " ")}
}

// isEmpty reports whether v counts as "no value" for default and coalesce:
// nil, or a string with nothing but whitespace.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}
