// Package pagegen generates realistic PyPI Simple API pages for tests and
// benchmarks: project pages in warehouse's exact HTML template and its
// compact, key-sorted JSON (PEP 691), and the /simple/ project list in both
// forms. Output is deterministic for a given seed.
package pagegen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// File is one distribution file of a generated project.
type File struct {
	Filename       string
	Version        string
	URL            string // https://files.pythonhosted.org/packages/<2>/<2>/<60 hex>/<Filename>
	Sha256         string // 64 hex digits
	MetadataSha256 string // "" when the file has no PEP 658 metadata
	RequiresPython string // "" when the file declares none
	Size           int64
	UploadTime     time.Time // microsecond precision, UTC
	Yanked         bool
	YankedReason   string // may be "" for a yanked file
	Provenance     string // PEP 740 URL, "" for none
}

// Project is a generated project with its files in PyPI's page order.
type Project struct {
	Name       string // display name as uploaded (may contain capitals, '.', '_')
	Normalized string // PEP 503 normalized name
	Serial     int64  // last serial
	Status     string // PEP 792 project status ("active")
	Versions   []string
	Files      []File
}

const hexDigits = "0123456789abcdef"

func hexString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

func normalize(name string) string {
	var b strings.Builder
	sep := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			if !sep {
				b.WriteByte('-')
			}
			sep = true
			continue
		}
		sep = false
		b.WriteRune(c)
	}
	return b.String()
}

var wheelTags = []string{
	"py3-none-any",
	"cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64",
	"cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64",
	"cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
	"cp312-cp312-macosx_11_0_arm64",
	"cp312-cp312-win_amd64",
	"cp313-cp313-musllinux_1_2_x86_64",
	"cp311-cp311-win32",
}

var yankReasons = []string{"", "Broken build", "Security issue: use >=2.0 & <3.0", "wrong \"metadata\" uploaded"}

var requiresPython = []string{"", ">=3.8", ">=3.9", ">=2.7, !=3.0.*, !=3.1.*", "<4,>=3.7"}

// NewProject generates a project with the given number of releases, each
// with filesPerRelease files (one sdist followed by wheels). A few releases
// are yanked, pre- and post-releases appear, recent files carry core
// metadata and provenance.
func NewProject(seed int64, name string, releases, filesPerRelease int) *Project {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	p := &Project{Name: name, Normalized: normalize(name), Serial: 10000000 + r.Int64N(20000000), Status: "active"}
	fileBase := strings.ReplaceAll(p.Normalized, "-", "_")
	t := time.Date(2015, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < releases; i++ {
		major, minor, patch := i/100, (i/10)%10, i%10
		v := fmt.Sprintf("%d.%d.%d", major, minor, patch)
		switch {
		case i%10 == 3:
			v += "b1"
		case i%10 == 7:
			v = fmt.Sprintf("%d.%d.%d.post1", major, minor, patch-1)
		}
		p.Versions = append(p.Versions, v)
		yanked := i%13 == 5
		reason := ""
		if yanked {
			reason = yankReasons[(i/13)%len(yankReasons)]
		}
		reqPy := requiresPython[(i/20)%len(requiresPython)]
		var names []string
		names = append(names, fileBase+"-"+v+".tar.gz")
		for k := 1; k < filesPerRelease; k++ {
			tag := wheelTags[(k-1)%len(wheelTags)]
			if k > len(wheelTags) {
				tag = fmt.Sprintf("cp3%d-cp3%d-manylinux_2_%d_x86_64", 8+k%6, 8+k%6, 17+k)
			}
			names = append(names, fileBase+"-"+v+"-"+tag+".whl")
		}
		sort.Strings(names)
		for _, fn := range names {
			t = t.Add(time.Duration(1+r.Int64N(3600*24*3)) * time.Second).Add(time.Duration(r.IntN(1000000)) * time.Microsecond)
			blake := hexString(r, 64)
			f := File{
				Filename:       fn,
				Version:        v,
				URL:            "https://files.pythonhosted.org/packages/" + blake[:2] + "/" + blake[2:4] + "/" + blake[4:] + "/" + fn,
				Sha256:         hexString(r, 64),
				RequiresPython: reqPy,
				Size:           10000 + r.Int64N(50_000_000),
				UploadTime:     t.Truncate(time.Microsecond),
				Yanked:         yanked,
				YankedReason:   reason,
			}
			if strings.HasSuffix(fn, ".whl") || i >= releases/2 {
				f.MetadataSha256 = hexString(r, 64)
			}
			if i >= releases*3/4 {
				f.Provenance = "https://pypi.org/integrity/" + name + "/" + v + "/" + fn + "/provenance"
			}
			p.Files = append(p.Files, f)
		}
	}
	return p
}

// escapeHTML escapes like Jinja2/markupsafe (& < > " ').
func escapeHTML(s string) string {
	if !strings.ContainsAny(s, `&<>"'`) {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// HTML renders the project page exactly like warehouse's
// templates/api/simple/detail.html (API version 1.4).
func (p *Project) HTML() []byte {
	var b strings.Builder
	b.Grow(len(p.Files)*600 + 512)
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n")
	b.WriteString("    <meta name=\"pypi:project-status\" content=\"" + escapeHTML(p.Status) + "\">\n")
	b.WriteString("    <title>Links for " + escapeHTML(p.Name) + "</title>\n  </head>\n  <body>\n")
	b.WriteString("    <h1>Links for " + escapeHTML(p.Name) + "</h1>\n")
	for _, f := range p.Files {
		b.WriteString(`    <a href="` + escapeHTML(f.URL) + "#sha256=" + f.Sha256 + `"`)
		if f.RequiresPython != "" {
			b.WriteString(` data-requires-python="` + escapeHTML(f.RequiresPython) + `"`)
		}
		if f.Yanked {
			b.WriteString(` data-yanked="` + escapeHTML(f.YankedReason) + `"`)
		}
		if f.MetadataSha256 != "" {
			b.WriteString(` data-dist-info-metadata="sha256=` + f.MetadataSha256 + `" data-core-metadata="sha256=` + f.MetadataSha256 + `"`)
		}
		if f.Provenance != "" {
			b.WriteString(` data-provenance="` + escapeHTML(f.Provenance) + `"`)
		}
		b.WriteString(">" + escapeHTML(f.Filename) + "</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n<!--SERIAL " + strconv.FormatInt(p.Serial, 10) + "-->")
	return []byte(b.String())
}

// jsonString quotes s like Python's json.dumps (ensure_ascii).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// JSON renders the PEP 691 project page the way pypi.org does: compact,
// keys sorted, a trailing newline.
func (p *Project) JSON() []byte {
	var b strings.Builder
	b.Grow(len(p.Files)*700 + 256)
	b.WriteString(`{"files":[`)
	for i, f := range p.Files {
		if i > 0 {
			b.WriteByte(',')
		}
		meta := "false"
		if f.MetadataSha256 != "" {
			meta = `{"sha256":"` + f.MetadataSha256 + `"}`
		}
		b.WriteString(`{"core-metadata":` + meta + `,"data-dist-info-metadata":` + meta)
		b.WriteString(`,"filename":` + jsonString(f.Filename) + `,"hashes":{"sha256":"` + f.Sha256 + `"}`)
		if f.Provenance != "" {
			b.WriteString(`,"provenance":` + jsonString(f.Provenance))
		} else {
			b.WriteString(`,"provenance":null`)
		}
		if f.RequiresPython != "" {
			b.WriteString(`,"requires-python":` + jsonString(f.RequiresPython))
		} else {
			b.WriteString(`,"requires-python":null`)
		}
		b.WriteString(`,"size":` + strconv.FormatInt(f.Size, 10))
		b.WriteString(`,"upload-time":"` + f.UploadTime.Format("2006-01-02T15:04:05.000000Z") + `"`)
		b.WriteString(`,"url":` + jsonString(f.URL) + `,"yanked":`)
		switch {
		case !f.Yanked:
			b.WriteString("false")
		case f.YankedReason == "":
			b.WriteString("true")
		default:
			b.WriteString(jsonString(f.YankedReason))
		}
		b.WriteByte('}')
	}
	b.WriteString(`],"meta":{"_last-serial":` + strconv.FormatInt(p.Serial, 10) + `,"api-version":"1.4"},"name":` + jsonString(p.Name))
	b.WriteString(`,"project-status":{"status":` + jsonString(p.Status) + `},"versions":[`)
	for i, v := range p.Versions {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(v))
	}
	b.WriteString("]}\n")
	return []byte(b.String())
}

var syllables = []string{"py", "django", "flask", "zope", "data", "net", "lib", "tools", "core", "web", "async", "io",
	"test", "utils", "client", "api", "aws", "cdk", "ml", "torch", "sci", "kit", "jupyter", "lab", "plugin", "x", "0", "2", "3"}

var separators = []string{"-", "-", "_", ".", ""}

// ProjectNames returns n distinct display names, sorted by normalized name
// as on pypi.org, with the capitals, dots and underscores real names have.
func ProjectNames(seed int64, n int) []string {
	r := rand.New(rand.NewPCG(uint64(seed), 0x632be59bd9b4e019))
	seen := make(map[string]bool, n)
	type entry struct{ name, norm string }
	entries := make([]entry, 0, n)
	for len(entries) < n {
		parts := 1 + r.IntN(3)
		var b strings.Builder
		for k := 0; k < parts; k++ {
			if k > 0 {
				b.WriteString(separators[r.IntN(len(separators))])
			}
			s := syllables[r.IntN(len(syllables))]
			if r.IntN(8) == 0 {
				s = strings.ToUpper(s[:1]) + s[1:]
			}
			b.WriteString(s)
		}
		if r.IntN(2) == 0 {
			b.WriteString(strconv.Itoa(r.IntN(100000)))
		}
		name := b.String()
		norm := normalize(name)
		if seen[norm] || strings.Trim(norm, "-") != norm {
			continue
		}
		seen[norm] = true
		entries = append(entries, entry{name, norm})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].norm < entries[j].norm })
	names := make([]string, n)
	for i, e := range entries {
		names[i] = e.name
	}
	return names
}

// ProjectListHTML renders /simple/ with n projects like warehouse's
// templates/api/simple/index.html.
func ProjectListHTML(seed int64, n int) []byte {
	names := ProjectNames(seed, n)
	var b strings.Builder
	b.Grow(n*48 + 256)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, name := range names {
		b.WriteString(`    <a href="/simple/` + normalize(name) + `/">` + escapeHTML(name) + "</a>\n")
	}
	b.WriteString("  </body>\n</html>")
	return []byte(b.String())
}

// ProjectListJSON renders the PEP 691 /simple/ list with n projects:
// {"meta":{...},"projects":[{"_last-serial":N,"name":"X"},...]} and a newline.
func ProjectListJSON(seed int64, n int) []byte {
	names := ProjectNames(seed, n)
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	var b strings.Builder
	b.Grow(n*52 + 128)
	b.WriteString(`{"meta":{"_last-serial":29000000,"api-version":"1.4"},"projects":[`)
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"_last-serial":` + strconv.Itoa(1+r.IntN(29000000)) + `,"name":` + jsonString(name) + `}`)
	}
	b.WriteString("]}\n")
	return []byte(b.String())
}
