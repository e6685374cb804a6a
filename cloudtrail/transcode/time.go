package transcode

import "time"

// parseRFC3339 parses the RFC 3339 timestamps CloudTrail writes
// (2024-01-02T03:04:05Z, optionally with 1 to 9 fractional digits and a
// ±hh:mm offset instead of Z) without going through time.Parse's layout
// machinery, and falls back to time.Parse for anything else it accepts.
func parseRFC3339(b []byte) (sec, nsec int64, ok bool) {
	if sec, nsec, ok = fastRFC3339(b); ok {
		return sec, nsec, true
	}
	// time.Parse is the reference for what counts as valid (it accepts,
	// for instance, a one-digit hour); the length bound only keeps
	// junk from being copied into a string.
	// Anything time.Parse accepts has the 'T' at index 10, so other
	// strings (such as "2025-01-21 17:49:47", seen in converted logs) are
	// rejected here without the allocation of a time.ParseError.
	if len(b) > 64 || len(b) < 11 || b[10] != 'T' {
		return 0, 0, false
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return 0, 0, false
	}
	return t.Unix(), int64(t.Nanosecond()), true
}

func fastRFC3339(b []byte) (sec, nsec int64, ok bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	second, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || second > 59 {
		return 0, 0, false
	}
	i := 19
	if b[i] == '.' {
		i++
		start := i
		scale := int64(1e9)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start >= 9 {
				return 0, 0, false
			}
			scale /= 10
			nsec += int64(b[i]-'0') * scale
			i++
		}
		if i == start {
			return 0, 0, false
		}
	}
	var offset int64
	switch {
	case i == len(b)-1 && b[i] == 'Z':
	case i == len(b)-6 && (b[i] == '+' || b[i] == '-') && b[i+3] == ':':
		oh, okh := digits(b[i+1 : i+3])
		om, okm := digits(b[i+4 : i+6])
		if !okh || !okm || oh > 23 || om > 59 {
			return 0, 0, false
		}
		offset = (oh*60 + om) * 60
		if b[i] == '-' {
			offset = -offset
		}
	default:
		return 0, 0, false
	}
	sec = daysFromCivil(year, month, day)*86400 + hour*3600 + minute*60 + second - offset
	return sec, nsec, true
}

func digits(b []byte) (int64, bool) {
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date, counting in 400-year eras that start on March 1 so that the leap day
// is the last day of a year.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
