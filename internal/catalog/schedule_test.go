package catalog

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	weekdays := [7]bool{false, true, true, true, true, true, false}
	all := [7]bool{true, true, true, true, true, true, true}
	tests := []struct {
		name, in string
		days     [7]bool
		from, to int
		zone     string
		wantErr  string
	}{
		{name: "weekdays", in: "Mon-Fri 08:00-20:00", days: weekdays, from: 8 * 60, to: 20 * 60, zone: "UTC"},
		{name: "lower case", in: "mon-fri 08:00-20:00", days: weekdays, from: 8 * 60, to: 20 * 60, zone: "UTC"},
		{name: "with a time zone", in: "Mon-Fri 08:00-20:00 Europe/Prague", days: weekdays, from: 8 * 60, to: 20 * 60, zone: "Europe/Prague"},
		{name: "list of days", in: "Sat,Sun 10:00-16:00", days: [7]bool{true, false, false, false, false, false, true}, from: 10 * 60, to: 16 * 60, zone: "UTC"},
		{name: "range over the weekend", in: "Fri-Mon 22:00-23:30", days: [7]bool{true, true, false, false, false, true, true}, from: 22 * 60, to: 23*60 + 30, zone: "UTC"},
		{name: "daily, whole day", in: "daily 00:00-24:00", days: all, from: 0, to: 24 * 60, zone: "UTC"},
		{name: "star", in: "* 9:00-17:00", days: all, from: 9 * 60, to: 17 * 60, zone: "UTC"},
		{name: "misspelt day", in: "Mon-Fry 08:00-20:00", wantErr: `"Mon-Fry" is not a day or a range of days (Mon, Tue, Wed, Thu, Fri, Sat, Sun)`},
		{name: "no hours", in: "Mon-Fri", wantErr: `"Mon-Fri" is not a schedule`},
		{name: "empty", in: "", wantErr: `"" is not a schedule`},
		{name: "too many words", in: "Mon-Fri 08:00-20:00 Europe/Prague now", wantErr: "is not a schedule"},
		{name: "end before start", in: "Mon-Fri 20:00-08:00", wantErr: `"20:00-08:00" is not a time range such as 08:00-20:00`},
		{name: "empty window", in: "Mon-Fri 08:00-08:00", wantErr: "is not a time range"},
		{name: "hour 25", in: "Mon-Fri 08:00-25:00", wantErr: "is not a time range"},
		{name: "minute 60", in: "Mon-Fri 08:60-09:00", wantErr: "is not a time range"},
		{name: "hours without minutes", in: "Mon-Fri 8-20", wantErr: "is not a time range"},
		{name: "am/pm", in: "Mon-Fri 08:00-08:00pm", wantErr: "is not a time range"},
		{name: "unknown time zone", in: "Mon-Fri 08:00-20:00 Europe/Prag", wantErr: `unknown time zone "Europe/Prag"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, err := ParseSchedule(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.days, sc.Days)
			require.Equal(t, tt.from, sc.From)
			require.Equal(t, tt.to, sc.To)
			require.Equal(t, tt.zone, sc.Location.String())
			require.Equal(t, tt.in, sc.Raw)
		})
	}
}

func TestScheduleContains(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return ts
	}
	tests := []struct {
		name, schedule, at string
		want               bool
	}{
		// 2026-03-02 is a Monday; Prague is UTC+1 in March, UTC+2 in July.
		{name: "inside, UTC", schedule: "Mon-Fri 08:00-20:00", at: "2026-03-02T08:00:00Z", want: true},
		{name: "before start, UTC", schedule: "Mon-Fri 08:00-20:00", at: "2026-03-02T07:59:59Z", want: false},
		{name: "end is exclusive", schedule: "Mon-Fri 08:00-20:00", at: "2026-03-06T20:00:00Z", want: false},
		{name: "last minute", schedule: "Mon-Fri 08:00-20:00", at: "2026-03-06T19:59:00Z", want: true},
		{name: "Saturday", schedule: "Mon-Fri 08:00-20:00", at: "2026-03-07T12:00:00Z", want: false},
		{name: "Prague winter, inside", schedule: "Mon-Fri 08:00-20:00 Europe/Prague", at: "2026-03-02T07:30:00Z", want: true},
		{name: "Prague winter, before", schedule: "Mon-Fri 08:00-20:00 Europe/Prague", at: "2026-03-02T06:59:00Z", want: false},
		{name: "Prague summer, inside", schedule: "Mon-Fri 08:00-20:00 Europe/Prague", at: "2026-07-06T06:30:00Z", want: true},
		{name: "Prague summer, after", schedule: "Mon-Fri 08:00-20:00 Europe/Prague", at: "2026-07-06T18:00:00Z", want: false},
		{name: "weekday in the zone, not in UTC", schedule: "Mon-Fri 00:00-02:00 Europe/Prague", at: "2026-03-01T23:30:00Z", want: true},
		{name: "daily, midnight", schedule: "daily 00:00-24:00", at: "2026-03-08T00:00:00Z", want: true},
		{name: "daily, last minute", schedule: "daily 00:00-24:00", at: "2026-03-08T23:59:59Z", want: true},
		{name: "weekend list, Sunday", schedule: "Sat,Sun 10:00-16:00", at: "2026-03-08T10:00:00Z", want: true},
		{name: "weekend list, Monday", schedule: "Sat,Sun 10:00-16:00", at: "2026-03-09T10:00:00Z", want: false},
		{name: "range over the weekend, Sunday", schedule: "Fri-Mon 22:00-23:00", at: "2026-03-08T22:30:00Z", want: true},
		{name: "range over the weekend, Tuesday", schedule: "Fri-Mon 22:00-23:00", at: "2026-03-03T22:30:00Z", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, err := ParseSchedule(tt.schedule)
			require.NoError(t, err)
			require.Equal(t, tt.want, sc.Contains(utc(tt.at)))
		})
	}
}

func TestScheduleDecode(t *testing.T) {
	t.Parallel()
	var sc Schedule
	diags := decodeValue(t, `v: "Mon-Fri 08:00-20:00 Europe/Prague"`, nil, &sc)
	require.Empty(t, diags)
	require.Equal(t, Pos{File: "test.yaml", Line: 1, Col: 4}, sc.At)
	require.Equal(t, "Europe/Prague", sc.Location.String())

	var bad Schedule
	diags = decodeValue(t, `v: "Mon-Fry 08:00-20:00"`, nil, &bad)
	require.Len(t, diags, 1)
	require.Equal(t, Pos{File: "test.yaml", Line: 1, Col: 4}, diags[0].Pos)
	require.Contains(t, diags[0].Hint, "Mon-Fri 08:00-20:00")
	require.Zero(t, bad.At, "a schedule that did not parse is not set")
}
