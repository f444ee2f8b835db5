package alert

import (
	"time"

	"github.com/seamhq/seam/internal/catalog"
)

// scheduled reports whether a schedule was written (an unset one means
// "always").
func scheduled(s catalog.Schedule) bool { return s.Raw != "" }

// activeWithin returns how much of [from, to) lies inside the schedule,
// counting back from to and stopping once it reaches limit, so that a
// silence that started weeks ago costs a bounded amount of work.
//
// This is what makes "no orders for 2h on weekdays 08:00-20:00" fire at
// 10:00 on a Monday after a quiet weekend, not at 08:00 because the last
// order was on Friday evening: only time inside the schedule counts.
func activeWithin(s catalog.Schedule, from, to time.Time, limit time.Duration) time.Duration {
	if !to.After(from) {
		return 0
	}
	if !scheduled(s) {
		return to.Sub(from)
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	end := to.In(loc)
	y, m, d := end.Date()
	var total time.Duration
	// Days are stepped with time.Date, not by adding 24h, so that the
	// window of a day is right on the days clocks change.
	for i := 0; i <= 400 && total < limit; i++ {
		day := time.Date(y, m, d-i, 0, 0, 0, 0, loc)
		if !day.Add(24*time.Hour + time.Hour).After(from) {
			break // the whole day is before from
		}
		if !s.Days[day.Weekday()] {
			continue
		}
		ws := time.Date(day.Year(), day.Month(), day.Day(), s.From/60, s.From%60, 0, 0, loc)
		we := time.Date(day.Year(), day.Month(), day.Day(), s.To/60, s.To%60, 0, 0, loc)
		if ws.Before(from) {
			ws = from
		}
		if we.After(to) {
			we = to
		}
		if we.After(ws) {
			total += we.Sub(ws)
		}
	}
	return total
}
