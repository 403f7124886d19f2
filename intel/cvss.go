package intel

import (
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// CVSSBaseScore computes the base score of a CVSS vector. The version is
// taken from the vector's prefix ("CVSS:3.0/", "CVSS:3.1/", "CVSS:4.0/");
// a vector without prefix is read as CVSS v2 ("AV:N/AC:L/Au:N/C:P/I:P/A:P",
// optionally in parentheses or with a "CVSS:2.0/" prefix). version is 2, 3
// or 4; ok is false when the vector does not parse.
func CVSSBaseScore(vector string) (score float64, version int, ok bool) {
	vector = strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		v, err := gocvss40.ParseVector(vector)
		if err != nil {
			return 0, 4, false
		}
		return v.Score(), 4, true
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		v, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, 3, false
		}
		return v.BaseScore(), 3, true
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		v, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, 3, false
		}
		return v.BaseScore(), 3, true
	default:
		v2 := strings.TrimPrefix(vector, "CVSS:2.0/")
		v2 = strings.TrimSuffix(strings.TrimPrefix(v2, "("), ")")
		v, err := gocvss20.ParseVector(v2)
		if err != nil {
			return 0, 2, false
		}
		return v.BaseScore(), 2, true
	}
}

// SeverityFromScore maps a CVSS score to CRITICAL (>= 9), HIGH (>= 7),
// MODERATE (>= 4), LOW (> 0) or "" (0).
func SeverityFromScore(score float64) string {
	switch {
	case score >= 9:
		return "CRITICAL"
	case score >= 7:
		return "HIGH"
	case score >= 4:
		return "MODERATE"
	case score > 0:
		return "LOW"
	}
	return ""
}

// applySeverity fills the CVSS fields of v from OSV severity entries. A
// vector that does not parse, or whose version disagrees with its type, is
// ignored. With several vectors of one version the highest score is kept.
func applySeverity(v *Vuln, entries []osvSeverity) {
	for _, e := range entries {
		typ := strings.ToUpper(strings.TrimSpace(e.Type))
		want := 0
		switch typ {
		case "CVSS_V2":
			want = 2
		case "CVSS_V3":
			want = 3
		case "CVSS_V4":
			want = 4
		default:
			continue
		}
		score, ver, ok := CVSSBaseScore(e.Score)
		if !ok || ver != want {
			continue
		}
		switch ver {
		case 2:
			if !v.HasCVSS2 || score > v.CVSS2 {
				v.CVSS2, v.HasCVSS2 = score, true
			}
		case 3:
			if !v.HasCVSS3 || score > v.CVSS3 {
				v.CVSS3, v.HasCVSS3, v.CVSS3Vector = score, true, strings.TrimSpace(e.Score)
			}
		case 4:
			if !v.HasCVSS4 || score > v.CVSS4 {
				v.CVSS4, v.HasCVSS4 = score, true
			}
		}
	}
}

// MaxCVSS returns the highest CVSS base score of the record (0 if none).
func (v *Vuln) MaxCVSS() float64 {
	m := 0.0
	if v.HasCVSS2 && v.CVSS2 > m {
		m = v.CVSS2
	}
	if v.HasCVSS3 && v.CVSS3 > m {
		m = v.CVSS3
	}
	if v.HasCVSS4 && v.CVSS4 > m {
		m = v.CVSS4
	}
	return m
}
