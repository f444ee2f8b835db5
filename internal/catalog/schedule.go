package catalog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Schedule is a weekly window such as "Mon-Fri 08:00-20:00", optionally
// with a time zone: "Mon-Fri 08:00-20:00 Europe/Prague". Silence alerts use
// it: no orders for two hours matters on a weekday, not on a Sunday night.
type Schedule struct {
	Raw      string
	Days     [7]bool // indexed by time.Weekday
	From, To int     // minutes after midnight; To may be 1440
	Location *time.Location
	At       Pos
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseSchedule parses the Schedule syntax.
func ParseSchedule(s string) (Schedule, error) {
	sc := Schedule{Raw: s, Location: time.UTC}
	f := strings.Fields(s)
	if len(f) < 2 || len(f) > 3 {
		return sc, fmt.Errorf("%q is not a schedule", s)
	}
	if len(f) == 3 {
		loc, err := loadLocation(f[2])
		if err != nil {
			return sc, fmt.Errorf("unknown time zone %q", f[2])
		}
		sc.Location = loc
	}
	days := strings.ToLower(f[0])
	if days == "daily" || days == "*" {
		for i := range sc.Days {
			sc.Days[i] = true
		}
	} else {
		for part := range strings.SplitSeq(f[0], ",") {
			a, b, isRange := strings.Cut(strings.ToLower(part), "-")
			da, ok1 := weekdays[a]
			db, ok2 := weekdays[b]
			if !ok1 || (isRange && !ok2) {
				return sc, fmt.Errorf("%q is not a day or a range of days (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", part)
			}
			if !isRange {
				db = da
			}
			for d := da; ; d = (d + 1) % 7 {
				sc.Days[d] = true
				if d == db {
					break
				}
			}
		}
	}
	from, to, ok := strings.Cut(f[1], "-")
	var err1, err2 error
	sc.From, err1 = clock(from)
	sc.To, err2 = clock(to)
	if !ok || err1 != nil || err2 != nil || sc.To <= sc.From {
		return sc, fmt.Errorf("%q is not a time range such as 08:00-20:00", f[1])
	}
	return sc, nil
}

// locations caches time.LoadLocation, which reads the zone database on
// every call: a catalog names the same few zones in every flow.
var locations sync.Map // name → *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

var clockRe = regexp.MustCompile(`^(\d{1,2}):(\d{2})$`)

func clock(s string) (int, error) {
	// Strictly H:MM or HH:MM: "20:00pm" or "8" must not pass for a time.
	m := clockRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("bad time %q", s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h > 24 || mi > 59 || (h == 24 && mi != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + mi, nil
}

// Contains reports whether t falls inside the window.
func (s Schedule) Contains(t time.Time) bool {
	if s.Location != nil {
		t = t.In(s.Location)
	}
	if !s.Days[t.Weekday()] {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	return m >= s.From && m < s.To
}

func (x *Schedule) decodeNode(d *decoder, n *yaml.Node) {
	s, ok := d.scalar(n, `a schedule such as "Mon-Fri 08:00-20:00"`)
	if !ok {
		return
	}
	sc, err := ParseSchedule(s)
	if err != nil {
		d.errorf(n, `write days and hours, optionally a time zone: "Mon-Fri 08:00-20:00 Europe/Prague", "daily 00:00-24:00", "Sat,Sun 10:00-16:00"`, "%v", err)
		return
	}
	sc.At = d.pos(n)
	*x = sc
}
