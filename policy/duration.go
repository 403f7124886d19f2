package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours, the unit of the "d" suffix in policy durations.
const Day = 24 * time.Hour

// ParseDuration parses a policy duration: a whole number of days ("14d"),
// a Go duration ("12h", "30m", "1h30m") or days followed by a Go duration
// ("1d12h"). Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var total time.Duration
	rest := s
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		days, err := strconv.ParseUint(rest[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 14d, 12h, 30m)", s)
		}
		total = time.Duration(days) * Day
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 14d, 12h, 30m)", s)
		}
		total += d
	}
	return total, nil
}

// FormatDuration renders d compactly for reasons: "2d3h", "5h12m", "40m", "12s".
func FormatDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d >= Day:
		days := d / Day
		h := (d % Day) / time.Hour
		s = strconv.FormatInt(int64(days), 10) + "d"
		if h > 0 {
			s += strconv.FormatInt(int64(h), 10) + "h"
		}
	case d >= time.Hour:
		h := d / time.Hour
		m := (d % time.Hour) / time.Minute
		s = strconv.FormatInt(int64(h), 10) + "h"
		if m > 0 {
			s += strconv.FormatInt(int64(m), 10) + "m"
		}
	case d >= time.Minute:
		s = strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	default:
		s = strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	if neg {
		return "-" + s
	}
	return s
}
