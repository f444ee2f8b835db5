package mapping

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	// Timezones are part of a system's declared conventions; embedding the
	// database keeps "Europe/Prague" meaning the same thing in a scratch
	// container as on a developer's laptop.
	_ "time/tzdata"
)

// Conventions say how a system writes values. The zero value is the
// canonical form: ISO dates, RFC 3339 datetimes in UTC, net prices, "." as
// the decimal separator and no thousands separator.
//
// A system's conventions are declared once in the catalog; the mapping
// functions read with the source system's conventions and EncodeJSON writes
// with the destination's, so an expression never spells out a format unless
// a field deviates from its system's habit.
type Conventions struct {
	// DateFormat is the layout of dates, built from the tokens YYYY, YY, MM,
	// M, DD and D with literal separators: "DD/MM/YYYY", "MM/DD/YYYY",
	// "DD.MM.YYYY", "YYYYMMDD", "D.M.YYYY". Empty means "YYYY-MM-DD". YY is
	// only allowed when TwoDigitYears is set.
	DateFormat string
	// DateTimeFormat is the layout of datetimes: the DateFormat tokens plus
	// HH, mm and ss, e.g. "DD.MM.YYYY HH:mm". Empty means RFC 3339.
	DateTimeFormat string
	// Timezone is the IANA name used to read and write datetimes that carry
	// no UTC offset. Empty means "UTC".
	Timezone string
	// Prices is "gross" or "net" (empty means "net"): the basis of amounts
	// this system sends or expects.
	Prices string
	// Currency is the ISO 4217 code assumed when an amount comes without one.
	Currency string
	// DecimalSeparator is "." (the default when empty) or ",".
	DecimalSeparator string
	// ThousandsSeparator is "" (none, the default), " ", ".", "," or "'".
	// When " " is declared, no-break and narrow no-break spaces are accepted
	// too, since spreadsheets and locales emit them.
	ThousandsSeparator string
	// Country is the ISO 3166-1 alpha-2 code used as the region of phone
	// numbers written without an international prefix.
	Country string
	// TwoDigitYears allows years written with two digits (the YY token, or
	// two digits where YYYY is declared). 00–69 read as 20xx, 70–99 as 19xx.
	TwoDigitYears bool
}

// Names of the defaults, so Check and the readers agree on them.
const (
	defaultDateFormat = "YYYY-MM-DD"
	basisGross        = "gross"
	basisNet          = "net"
)

// Check reports every problem with the conventions themselves, as sentences
// fit for `seam validate`; nil when they are usable.
func (c Conventions) Check() []string {
	var probs []string
	if c.DateFormat != "" {
		if l, err := getLayout(c.DateFormat, false); err != nil {
			probs = append(probs, "date_format: "+err.Error())
		} else if l.twoDigit && !c.TwoDigitYears {
			probs = append(probs, fmt.Sprintf("date_format: %q uses a two-digit year (YY); declare two_digit_years: true if the system really writes years that way", c.DateFormat))
		}
	}
	if c.DateTimeFormat != "" {
		if l, err := getLayout(c.DateTimeFormat, true); err != nil {
			probs = append(probs, "datetime_format: "+err.Error())
		} else if l.twoDigit && !c.TwoDigitYears {
			probs = append(probs, fmt.Sprintf("datetime_format: %q uses a two-digit year (YY); declare two_digit_years: true if the system really writes years that way", c.DateTimeFormat))
		}
	}
	if c.Timezone != "" {
		if _, err := getLocation(c.Timezone); err != nil {
			probs = append(probs, "timezone: "+err.Error())
		}
	}
	switch c.Prices {
	case "", basisGross, basisNet:
	default:
		probs = append(probs, fmt.Sprintf("prices: %q is neither gross nor net", c.Prices))
	}
	if c.Currency != "" {
		if _, ok := currencyMinor(c.Currency); !ok {
			probs = append(probs, fmt.Sprintf("currency: %q is not an ISO 4217 currency code with minor units (e.g. CZK, EUR, USD)", c.Currency))
		}
	}
	switch c.DecimalSeparator {
	case "", ".", ",":
	default:
		probs = append(probs, fmt.Sprintf("decimal_separator: %q is not supported; use \".\" or \",\"", c.DecimalSeparator))
	}
	switch c.ThousandsSeparator {
	case "", " ", ".", ",", "'":
		if c.ThousandsSeparator != "" && c.ThousandsSeparator == c.decimalSep() {
			probs = append(probs, fmt.Sprintf("thousands_separator: %q is also the decimal separator; amounts would be ambiguous", c.ThousandsSeparator))
		}
	default:
		probs = append(probs, fmt.Sprintf("thousands_separator: %q is not supported; use \"\", \" \", \".\", \",\" or \"'\"", c.ThousandsSeparator))
	}
	if c.Country != "" {
		if cc, ok := lookupCountry(c.Country); !ok || cc != c.Country {
			msg := fmt.Sprintf("country: %q is not an ISO 3166-1 alpha-2 code", c.Country)
			if ok {
				msg += fmt.Sprintf("; did you mean %s?", cc)
			}
			probs = append(probs, msg)
		}
	}
	return probs
}

func (c Conventions) decimalSep() string {
	if c.DecimalSeparator == "" {
		return "."
	}
	return c.DecimalSeparator
}

func (c Conventions) prices() string {
	if c.Prices == "" {
		return basisNet
	}
	return c.Prices
}

func (c Conventions) dateFormat() string {
	if c.DateFormat == "" {
		return defaultDateFormat
	}
	return c.DateFormat
}

func (c Conventions) timezone() string {
	if c.Timezone == "" {
		return "UTC"
	}
	return c.Timezone
}

// location returns the conventions' timezone, falling back to UTC when the
// name is invalid: Check is where a bad name is reported, and reading
// functions must not fail differently depending on whether it was called.
func (c Conventions) location() *time.Location {
	loc, err := getLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Compiled layouts and loaded locations are cached process-wide: the set of
// formats and zones in a catalog is small and fixed, while the lookups happen
// per record.
var (
	layoutCache   sync.Map // layoutKey → *layout
	locationCache sync.Map // string → *time.Location
)

type layoutKey struct {
	format   string
	withTime bool
}

type layoutEntry struct {
	l   *layout
	err error
}

// getLayout compiles format once and caches the result, errors included.
func getLayout(format string, withTime bool) (*layout, error) {
	k := layoutKey{format, withTime}
	if v, ok := layoutCache.Load(k); ok {
		e := v.(layoutEntry)
		return e.l, e.err
	}
	l, err := compileLayout(format, withTime)
	// Bound the cache: formats given per call by an expression are constants
	// in practice, but a fuzzer or a hostile expression could vary them.
	if n := layoutCacheSize.Add(1); n < 10000 {
		layoutCache.Store(k, layoutEntry{l, err})
	}
	return l, err
}

var layoutCacheSize atomic.Int64

// getLocation loads an IANA zone once. "" is UTC; "Local" is refused
// because its meaning changes with the machine Seam runs on.
func getLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if v, ok := locationCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("%q depends on the machine Seam runs on; name the zone, e.g. Europe/Prague", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA timezone name (e.g. Europe/Prague, UTC)", name)
	}
	locationCache.Store(name, loc)
	return loc, nil
}
