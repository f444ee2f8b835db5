package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
)

func TestActiveWithin(t *testing.T) {
	t.Parallel()
	prague, err := time.LoadLocation("Europe/Prague")
	require.NoError(t, err)
	at := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, prague) }
	sched := func(s string) catalog.Schedule {
		sc, err := catalog.ParseSchedule(s)
		require.NoError(t, err)
		return sc
	}
	weekdays := sched("Mon-Fri 08:00-20:00 Europe/Prague")
	for name, tc := range map[string]struct {
		s        catalog.Schedule
		from, to time.Time
		limit    time.Duration
		want     time.Duration
	}{
		"Always":              {catalog.Schedule{}, at(9, 8, 0), at(9, 10, 30), 24 * time.Hour, 150 * time.Minute},
		"InsideOneDay":        {weekdays, at(9, 9, 0), at(9, 10, 30), 24 * time.Hour, 90 * time.Minute},
		"BeforeTheWindow":     {weekdays, at(9, 6, 0), at(9, 7, 59), 24 * time.Hour, 0},
		"AcrossTheWeekend":    {weekdays, at(6, 19, 0), at(9, 9, 0), 24 * time.Hour, 2 * time.Hour},
		"WholeDaysCount":      {weekdays, at(2, 0, 0), at(7, 0, 0), 100 * time.Hour, 60 * time.Hour},
		"StopsAtTheLimit":     {weekdays, at(2, 0, 0), at(7, 0, 0), 13 * time.Hour, 24 * time.Hour},
		"EmptyRange":          {weekdays, at(9, 10, 0), at(9, 10, 0), time.Hour, 0},
		"UntilMidnight":       {sched("Sat 20:00-24:00 Europe/Prague"), at(7, 21, 0), at(8, 3, 0), 24 * time.Hour, 3 * time.Hour},
		"ClocksGoForward":     {sched("Sun 01:00-04:00 Europe/Prague"), at(29, 0, 0), at(29, 5, 0), 24 * time.Hour, 2 * time.Hour},
		"OtherZoneOfTheClock": {weekdays, time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC), time.Hour, time.Hour},
	} {
		require.Equal(t, tc.want, activeWithin(tc.s, tc.from, tc.to, tc.limit), name)
	}
}
