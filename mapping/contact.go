package mapping

import (
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// normalizePhone returns s in E.164 ("+420601123456"). Numbers without an
// international prefix are read in region (ISO 3166-1 alpha-2).
func normalizePhone(s, region string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", newValueError("phone", s, "the phone number is empty")
	}
	if strings.HasPrefix(t, "00") {
		t = "+" + t[2:]
	}
	if !strings.HasPrefix(t, "+") && region == "" {
		return "", newValueError("phone", s, "%s has no international prefix and the system declares no country; declare country on the system or send +CC numbers", quote(s))
	}
	num, err := phonenumbers.Parse(t, region)
	if err != nil {
		return "", newValueError("phone", s, "%s is not a phone number (%v)", quote(s), err)
	}
	if !phonenumbers.IsValidNumber(num) {
		where := region
		if strings.HasPrefix(t, "+") {
			where = phonenumbers.GetRegionCodeForNumber(num)
		}
		if where == "" || where == "ZZ" {
			return "", newValueError("phone", s, "%s is not a valid phone number", quote(s))
		}
		return "", newValueError("phone", s, "%s is not a valid phone number in %s", quote(s), where)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// normalizeEmail trims and lower-cases an address and checks its shape. It
// does not accept display names ("Jan <jan@x.cz>"): a field meant to hold an
// address should hold only that.
func normalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	bad := func(why string) error {
		return newValueError("email", s, "%s is not an e-mail address: %s", quote(s), why)
	}
	if e == "" {
		return "", bad("it is empty")
	}
	at := strings.LastIndexByte(e, '@')
	if at < 0 {
		return "", bad("it has no @")
	}
	local, domain := e[:at], e[at+1:]
	switch {
	case local == "":
		return "", bad("nothing before the @")
	case strings.Contains(local, "@"):
		return "", bad("it has more than one @")
	case len(local) > 64:
		return "", bad("the part before the @ is longer than 64 characters")
	case domain == "":
		return "", bad("nothing after the @")
	case len(e) > 254:
		return "", bad("it is longer than 254 characters")
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "", bad("misplaced dot before the @")
	}
	for _, r := range local {
		if r == ' ' || unicode.IsSpace(r) {
			return "", bad("it contains a space")
		}
		if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", r)) {
			return "", bad("it contains " + quote(string(r)))
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", bad("the domain " + quote(domain) + " has no dot")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad("the domain " + quote(domain) + " is malformed")
		}
		for _, r := range l {
			if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", bad("the domain " + quote(domain) + " contains " + quote(string(r)))
			}
			if r >= 0x80 && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return "", bad("the domain " + quote(domain) + " contains " + quote(string(r)))
			}
		}
	}
	if tld := labels[len(labels)-1]; len(tld) < 2 || strings.IndexFunc(tld, unicode.IsDigit) >= 0 {
		return "", bad("the domain " + quote(domain) + " has no valid top-level domain")
	}
	return e, nil
}

// Countries are indexed on first use: by alpha-2, alpha-3 and normalised
// English names plus the aliases people actually type.
var (
	countryOnce  sync.Once
	countryIndex map[string]string
)

var countryAliases = map[string]string{
	"czech republic": "CZ", "ceska republika": "CZ", "cesko": "CZ", "slovak republic": "SK", "slovensko": "SK",
	"usa": "US", "united states of america": "US", "america": "US", "uk": "GB", "great britain": "GB",
	"britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
	"holland": "NL", "the netherlands": "NL", "deutschland": "DE", "osterreich": "AT", "polska": "PL",
	"magyarorszag": "HU", "schweiz": "CH", "suisse": "CH", "espana": "ES", "italia": "IT",
	"russian federation": "RU", "republic of korea": "KR", "korea": "KR", "north korea": "KP",
	"viet nam": "VN", "ivory coast": "CI", "cote divoire": "CI", "macedonia": "MK",
	"burma": "MM", "swaziland": "SZ", "turkiye": "TR", "cape verde": "CV", "east timor": "TL",
	"democratic republic of the congo": "CD", "dr congo": "CD", "republic of the congo": "CG",
	"congo": "CG", "hong kong": "HK", "macau": "MO", "macao": "MO", "palestine": "PS",
	"vatican": "VA", "holy see": "VA", "bosnia": "BA", "moldova": "MD", "iran": "IR", "syria": "SY",
	"laos": "LA", "bolivia": "BO", "tanzania": "TZ", "venezuela": "VE", "brunei": "BN",
	"micronesia": "FM", "uae": "AE", "emirates": "AE",
}

func buildCountryIndex() {
	countryIndex = make(map[string]string, 1024)
	for _, line := range strings.Split(strings.TrimSpace(countryTable), "\n") {
		if len(line) < 6 {
			continue
		}
		a2, a3, name := line[:2], line[2:5], line[5:]
		countryIndex[a2] = a2
		countryIndex[a3] = a2
		countryIndex[countryKey(name)] = a2
		// "Bosnia & Herzegovina" → also "bosnia and herzegovina";
		// "Congo - Kinshasa" and "Myanmar (Burma)" → also the first part.
		if base, _, ok := strings.Cut(name, " ("); ok {
			countryIndex[countryKey(base)] = a2
		}
		if base, _, ok := strings.Cut(name, " - "); ok && a2 != "CD" && a2 != "CG" {
			countryIndex[countryKey(base)] = a2
		}
		if base, ok := strings.CutSuffix(name, " SAR China"); ok {
			countryIndex[countryKey(base)] = a2
		}
	}
	for k, v := range countryAliases {
		countryIndex[countryKey(k)] = v
	}
}

// countryKey normalises a country name: no accents, lower case, "&" and
// "and" alike, "St." as "saint", punctuation dropped.
func countryKey(s string) string {
	s = strings.ToLower(stripDiacritics(strings.TrimSpace(s)))
	s = strings.ReplaceAll(s, "&", " and ")
	s = strings.ReplaceAll(s, "st. ", "saint ")
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case r == '\'' || r == '’' || r == '.':
		default:
			space = true
		}
	}
	return b.String()
}

// lookupCountry resolves an alpha-2 or alpha-3 code (any case) or an
// English name to the alpha-2 code.
func lookupCountry(s string) (string, bool) {
	countryOnce.Do(buildCountryIndex)
	t := strings.TrimSpace(s)
	if len(t) == 2 || len(t) == 3 {
		if c, ok := countryIndex[strings.ToUpper(t)]; ok {
			return c, true
		}
	}
	c, ok := countryIndex[countryKey(t)]
	return c, ok
}

// normalizeCountry is country() in expressions.
func normalizeCountry(s string) (string, error) {
	if c, ok := lookupCountry(s); ok {
		return c, nil
	}
	return "", newValueError("country", s, "%s is not a country Seam knows (give an ISO 3166-1 code such as CZ or CZE, or an English name)", quote(s))
}
