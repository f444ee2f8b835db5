package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a civil date with no time and no zone: an order date, a due date,
// a birthday. It is kept apart from time.Time on purpose: converting a date
// through a timezone is how "3 April" silently becomes "2 April".
type Date struct {
	Year  int        `expr:"year"`
	Month time.Month `expr:"month"`
	Day   int        `expr:"day"`
}

// String returns the date in ISO 8601 form, e.g. "2026-04-03".
func (d Date) String() string {
	var buf [16]byte
	return string(d.appendISO(buf[:0]))
}

// IsZero reports whether d is the zero Date (no date at all).
func (d Date) IsZero() bool { return d == Date{} }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// MarshalText implements encoding.TextMarshaler with the ISO form, so a Date
// inside any encoder's output is canonical.
func (d Date) MarshalText() ([]byte, error) { return d.appendISO(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the ISO form.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b), "")
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d Date) appendISO(dst []byte) []byte {
	dst = appendPadded(dst, d.Year, 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int(d.Month), 2)
	dst = append(dst, '-')
	return appendPadded(dst, d.Day, 2)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func appendPadded(dst []byte, v, width int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// ParseDate reads s in format (tokens YYYY YY MM M DD D with literal
// separators; "" means YYYY-MM-DD). It is strict: a date that does not exist
// (31/02/2026) is an error, never rolled over into March, and a two-digit
// year is refused unless the format itself says YY.
func ParseDate(s, format string) (Date, error) {
	if format == "" {
		format = defaultDateFormat
	}
	l, err := getLayout(format, false)
	if err != nil {
		return Date{}, err
	}
	return parseDate(s, l, l.twoDigit)
}

// FormatDate writes d in format ("" means YYYY-MM-DD).
func FormatDate(d Date, format string) (string, error) {
	if format == "" {
		return d.String(), nil
	}
	l, err := getLayout(format, false)
	if err != nil {
		return "", err
	}
	return string(l.appendDate(nil, d, 0, 0, 0)), nil
}

func parseDate(s string, l *layout, twoDigitOK bool) (Date, error) {
	f, err := l.parse(s, twoDigitOK)
	if err != nil {
		return Date{}, err
	}
	return Date{f.year, time.Month(f.month), f.day}, nil
}

// tokKind is one element of a date or datetime layout.
type tokKind uint8

const (
	tokLit tokKind = iota
	tokYYYY
	tokYY
	tokMM
	tokM
	tokDD
	tokD
	tokHH
	tokMin
	tokSS
)

// tokNames lists tokens longest first, so "YYYY" is not read as two "YY".
var tokNames = []struct {
	name string
	kind tokKind
}{
	{"YYYY", tokYYYY}, {"YY", tokYY}, {"MM", tokMM}, {"M", tokM},
	{"DD", tokDD}, {"D", tokD}, {"HH", tokHH}, {"mm", tokMin}, {"ss", tokSS},
}

type layoutTok struct {
	kind tokKind
	lit  string
}

// numeric reports whether the token reads digits.
func (t layoutTok) numeric() bool { return t.kind != tokLit }

// variable reports whether the token reads a variable number of digits, so
// that it needs a literal neighbour to know where it ends.
func (t layoutTok) variable() bool { return t.kind == tokM || t.kind == tokD }

// layout is a compiled date or datetime format.
type layout struct {
	src      string
	toks     []layoutTok
	twoDigit bool // uses YY
	hasTime  bool
}

// compileLayout checks and compiles a format. Date layouts need exactly one
// year, month and day; datetime layouts also need hours and minutes.
func compileLayout(format string, withTime bool) (*layout, error) {
	if format == "" {
		return nil, errors.New("the format is empty")
	}
	l := &layout{src: format}
	counts := map[string]int{}
	for i := 0; i < len(format); {
		matched := false
		for _, tn := range tokNames {
			if strings.HasPrefix(format[i:], tn.name) {
				l.toks = append(l.toks, layoutTok{kind: tn.kind})
				i += len(tn.name)
				matched = true
				switch tn.kind {
				case tokYYYY, tokYY:
					counts["year"]++
					l.twoDigit = l.twoDigit || tn.kind == tokYY
				case tokMM, tokM:
					counts["month"]++
				case tokDD, tokD:
					counts["day"]++
				case tokHH:
					counts["hour"]++
					l.hasTime = true
				case tokMin:
					counts["minute"]++
					l.hasTime = true
				case tokSS:
					counts["second"]++
					l.hasTime = true
				}
				break
			}
		}
		if matched {
			continue
		}
		c := format[i]
		if isASCIILetter(c) && c != 'T' {
			hint := ""
			if up := strings.ToUpper(string(c)); strings.Contains("YMDH", up) {
				hint = fmt.Sprintf(" (tokens are upper-case for dates: %s%s)", up, up)
			}
			if c == 'Y' || c == 'H' || c == 'm' || c == 's' {
				hint = " (tokens are YYYY YY MM M DD D HH mm ss)"
			}
			return nil, fmt.Errorf("%q has an unknown token %q at position %d%s", format, string(c), i+1, hint)
		}
		// Literal run: everything up to the next token letter.
		j := i + 1
		for j < len(format) && !(isASCIILetter(format[j]) && format[j] != 'T') {
			j++
		}
		if n := len(l.toks); n > 0 && l.toks[n-1].kind == tokLit {
			l.toks[n-1].lit += format[i:j]
		} else {
			l.toks = append(l.toks, layoutTok{kind: tokLit, lit: format[i:j]})
		}
		i = j
	}
	for _, part := range []string{"year", "month", "day"} {
		switch counts[part] {
		case 0:
			return nil, fmt.Errorf("%q has no %s (%s)", format, part, map[string]string{"year": "YYYY", "month": "MM or M", "day": "DD or D"}[part])
		case 1:
		default:
			return nil, fmt.Errorf("%q has the %s twice", format, part)
		}
	}
	for _, part := range []string{"hour", "minute", "second"} {
		if counts[part] > 1 {
			return nil, fmt.Errorf("%q has the %s twice", format, part)
		}
	}
	if withTime {
		if counts["hour"] == 0 || counts["minute"] == 0 {
			return nil, fmt.Errorf("%q is a datetime format without HH and mm", format)
		}
	} else if l.hasTime {
		return nil, fmt.Errorf("%q has a time of day; declare it as a datetime format", format)
	}
	for i := 1; i < len(l.toks); i++ {
		a, b := l.toks[i-1], l.toks[i]
		if a.numeric() && b.numeric() && (a.variable() || b.variable()) {
			return nil, fmt.Errorf("%q puts a one-or-two-digit token (M or D) right next to another number; add a separator or use MM/DD", format)
		}
	}
	return l, nil
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// fields are the numbers read by a layout.
type fields struct {
	year, month, day, hour, min, sec int
}

// parse reads s with the layout. twoDigitOK allows two-digit years where
// the layout says YYYY (the system declared two_digit_years).
func (l *layout) parse(s string, twoDigitOK bool) (fields, error) {
	var f fields
	p := 0
	mismatch := func() error {
		kind := "date"
		if l.hasTime {
			kind = "datetime"
		}
		return newValueError(kind, s, "%s does not match the %s format %s", quote(s), kind, l.src)
	}
	for i, t := range l.toks {
		if t.kind == tokLit {
			if !strings.HasPrefix(s[p:], t.lit) {
				return f, mismatch()
			}
			p += len(t.lit)
			continue
		}
		// Digits available here; a fixed-width token followed by another
		// number reads exactly its width, otherwise the whole run is read
		// and its length checked, which is how "26" under YYYY is caught.
		n := 0
		for p+n < len(s) && s[p+n] >= '0' && s[p+n] <= '9' && n < 5 {
			n++
		}
		nextNumeric := i+1 < len(l.toks) && l.toks[i+1].numeric()
		want := 0
		switch t.kind {
		case tokYYYY:
			want = 4
			if !nextNumeric && n == 2 {
				if !twoDigitOK {
					return f, newValueError("date", s, "%s has a two-digit year; declare two_digit_years: true on the system if that is intended", quote(s))
				}
				want = 2
			}
		case tokYY:
			want = 2
		case tokM, tokD:
			want = min(n, 2)
			if want == 0 {
				return f, mismatch()
			}
		default:
			want = 2
			if !nextNumeric && n == 1 {
				want = 1 // "3/4/2026" under DD/MM/YYYY is unambiguous
			}
		}
		if n < want || (!nextNumeric && n != want) {
			return f, mismatch()
		}
		v := 0
		for k := 0; k < want; k++ {
			v = v*10 + int(s[p+k]-'0')
		}
		switch t.kind {
		case tokYYYY:
			if want == 2 {
				v = pivotYear(v)
			}
			f.year = v
		case tokYY:
			f.year = pivotYear(v)
		case tokMM, tokM:
			f.month = v
		case tokDD, tokD:
			f.day = v
		case tokHH:
			f.hour = v
		case tokMin:
			f.min = v
		case tokSS:
			f.sec = v
		}
		p += want
	}
	if p != len(s) {
		return f, mismatch()
	}
	kind := "date"
	if l.hasTime {
		kind = "datetime"
	}
	if why := checkCivil(f.year, f.month, f.day); why != "" {
		return f, newValueError(kind, s, "%s is not a valid date in %s (%s)", quote(s), l.src, why)
	}
	if f.hour > 23 || f.min > 59 || f.sec > 59 {
		return f, newValueError(kind, s, "%s is not a valid time of day in %s", quote(s), l.src)
	}
	return f, nil
}

// pivotYear reads a two-digit year: 00–69 are 20xx, 70–99 are 19xx.
func pivotYear(v int) int {
	if v < 70 {
		return 2000 + v
	}
	return 1900 + v
}

// checkCivil explains why a year/month/day does not exist, or returns "".
func checkCivil(y, m, d int) string {
	switch {
	case y < 1:
		return "there is no year 0"
	case m < 1 || m > 12:
		return fmt.Sprintf("there is no month %d", m)
	case d < 1:
		return "there is no day 0"
	}
	if n := daysIn(time.Month(m), y); d > n {
		return fmt.Sprintf("%s %d has %d days", time.Month(m), y, n)
	}
	return ""
}

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// appendDate writes a date (and, for datetime layouts, a time) with l.
func (l *layout) appendDate(dst []byte, d Date, hh, mi, ss int) []byte {
	for _, t := range l.toks {
		switch t.kind {
		case tokLit:
			dst = append(dst, t.lit...)
		case tokYYYY:
			dst = appendPadded(dst, d.Year, 4)
		case tokYY:
			dst = appendPadded(dst, d.Year%100, 2)
		case tokMM:
			dst = appendPadded(dst, int(d.Month), 2)
		case tokM:
			dst = strconv.AppendInt(dst, int64(d.Month), 10)
		case tokDD:
			dst = appendPadded(dst, d.Day, 2)
		case tokD:
			dst = strconv.AppendInt(dst, int64(d.Day), 10)
		case tokHH:
			dst = appendPadded(dst, hh, 2)
		case tokMin:
			dst = appendPadded(dst, mi, 2)
		case tokSS:
			dst = appendPadded(dst, ss, 2)
		}
	}
	return dst
}

// ParseDateTime reads s as a datetime. With format "" it accepts RFC 3339
// (the offset then decides the instant) and, without an offset,
// "YYYY-MM-DDTHH:mm:ss" in the zone tz. Local times that fall in a DST gap
// do not exist and are refused; local times that happen twice when clocks go
// back are refused as ambiguous. tz "" is UTC.
func ParseDateTime(s, format, tz string) (time.Time, error) {
	loc, err := getLocation(tz)
	if err != nil {
		return time.Time{}, err
	}
	var l *layout
	if format != "" {
		if l, err = getLayout(format, true); err != nil {
			return time.Time{}, err
		}
	}
	return parseDateTime(s, l, loc, l != nil && l.twoDigit)
}

// localISO are the offset-less layouts accepted where RFC 3339 is expected.
var localISO = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04"}

func parseDateTime(s string, l *layout, loc *time.Location, twoDigitOK bool) (time.Time, error) {
	if l == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		for _, lay := range localISO {
			if t, err := time.Parse(lay, s); err == nil {
				return resolveLocal(t, loc, s)
			}
		}
		if len(s) >= 10 {
			if _, err := ParseDate(s[:10], ""); err != nil {
				var ve *ValueError
				if errors.As(err, &ve) && strings.Contains(ve.Msg, "not a valid date") {
					return time.Time{}, newValueError("datetime", s, "%s is not a valid datetime (%s)", quote(s), ve.Msg[strings.LastIndex(ve.Msg, "(")+1:len(ve.Msg)-1])
				}
			}
		}
		return time.Time{}, newValueError("datetime", s, "%s is not an RFC 3339 datetime (e.g. 2026-04-03T14:05:00+02:00)", quote(s))
	}
	f, err := l.parse(s, twoDigitOK)
	if err != nil {
		return time.Time{}, err
	}
	wall := time.Date(f.year, time.Month(f.month), f.day, f.hour, f.min, f.sec, 0, time.UTC)
	return resolveLocal(wall, loc, s)
}

// resolveLocal turns a wall-clock reading (carried in wall's UTC fields) into
// an instant in loc, refusing readings that do not exist or exist twice.
// time.Date would silently normalise both cases, which is exactly the kind
// of guess Seam must not make with somebody's order.
func resolveLocal(wall time.Time, loc *time.Location, src string) (time.Time, error) {
	if loc == time.UTC {
		return wall, nil
	}
	var cands [3]time.Time
	var offs [3]int
	n := 0
	for _, probe := range [...]time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		dup := false
		for i := 0; i < n; i++ {
			dup = dup || offs[i] == off
		}
		if dup {
			continue
		}
		u := wall.Add(-time.Duration(off) * time.Second)
		if _, got := u.In(loc).Zone(); got == off {
			cands[n], offs[n] = u.In(loc), off
			n++
		} else {
			offs[n] = off // remember it as tried, but not as a candidate
			cands[n] = time.Time{}
			n++
		}
	}
	var found []time.Time
	var foundOffs []string
	for i := 0; i < n; i++ {
		if !cands[i].IsZero() {
			found = append(found, cands[i])
			foundOffs = append(foundOffs, cands[i].Format("-07:00"))
		}
	}
	reading := wall.Format("2006-01-02 15:04:05")
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return time.Time{}, newValueError("datetime", src, "%s (%s) does not exist in %s: the clocks jump forward over that hour when daylight saving time begins; the sender must send a real local time or a UTC offset", quote(src), reading, loc)
	default:
		return time.Time{}, newValueError("datetime", src, "%s (%s) happens twice in %s because the clocks go back when daylight saving time ends; it is ambiguous without a UTC offset (%s)", quote(src), reading, loc, strings.Join(foundOffs, " or "))
	}
}

// appendDateTime writes t in loc with layout l, or as RFC 3339 when l is nil.
func appendDateTime(dst []byte, t time.Time, l *layout, loc *time.Location) []byte {
	t = t.In(loc)
	if l == nil {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	return l.appendDate(dst, Date{t.Year(), t.Month(), t.Day()}, t.Hour(), t.Minute(), t.Second())
}
