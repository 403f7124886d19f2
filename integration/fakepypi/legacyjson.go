package fakepypi

import (
	"net/http"
	"strconv"
	"strings"
)

// serveLegacyJSON implements /pypi/<name>/json and /pypi/<name>/<version>/json.
func (s *Server) serveLegacyJSON(w http.ResponseWriter, r *http.Request, p string) {
	if strings.HasSuffix(p, "/json/") {
		redirect(w, s.base+strings.TrimSuffix(p, "/"))
		return
	}
	parts := strings.Split(strings.TrimPrefix(p, "/pypi/"), "/")
	var name, version string
	switch {
	case len(parts) == 2 && parts[1] == "json":
		name = parts[0]
	case len(parts) == 3 && parts[2] == "json":
		name, version = parts[0], parts[1]
	default:
		jsonNotFound(w)
		return
	}
	s.mu.RLock()
	proj := s.projects[Normalize(name)]
	s.mu.RUnlock()
	if proj == nil || name == "" {
		jsonNotFound(w)
		return
	}
	if name != proj.normalized {
		target := s.base + "/pypi/" + proj.normalized
		if version != "" {
			target += "/" + version
		}
		redirect(w, target+"/json")
		return
	}
	doc, ok := s.legacyDoc(proj, version)
	if !ok {
		jsonNotFound(w)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "max-age=900, public")
	h.Set("X-PyPI-Last-Serial", strconv.FormatInt(doc.LastSerial, 10))
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since")
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Access-Control-Expose-Headers", "X-PyPI-Last-Serial")
	h.Set("Vary", "Accept-Encoding")
	writeCacheable(w, r, pypiJSON(doc), true)
}

func jsonNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`{"message": "Not Found"}`))
}

// Legacy JSON documents; fields are declared in sorted key order.
type legacyDigests struct {
	Blake2b256 string `json:"blake2b_256"`
	MD5        string `json:"md5"`
	SHA256     string `json:"sha256"`
}

type legacyFile struct {
	CommentText    string        `json:"comment_text"`
	CoreMetadata   any           `json:"core-metadata"`
	Digests        legacyDigests `json:"digests"`
	Downloads      int           `json:"downloads"`
	Filename       string        `json:"filename"`
	HasSig         bool          `json:"has_sig"`
	MD5Digest      string        `json:"md5_digest"`
	PackageType    string        `json:"packagetype"`
	PythonVersion  string        `json:"python_version"`
	RequiresPython *string       `json:"requires_python"`
	Size           int           `json:"size"`
	UploadTime     string        `json:"upload_time"`
	UploadTimeISO  string        `json:"upload_time_iso_8601"`
	URL            string        `json:"url"`
	Yanked         bool          `json:"yanked"`
	YankedReason   *string       `json:"yanked_reason"`
}

type legacyInfo struct {
	Author                 string            `json:"author"`
	AuthorEmail            string            `json:"author_email"`
	BugtrackURL            *string           `json:"bugtrack_url"`
	Classifiers            []string          `json:"classifiers"`
	Description            string            `json:"description"`
	DescriptionContentType *string           `json:"description_content_type"`
	DocsURL                *string           `json:"docs_url"`
	DownloadURL            string            `json:"download_url"`
	Downloads              map[string]int    `json:"downloads"`
	Dynamic                *[]string         `json:"dynamic"`
	HomePage               string            `json:"home_page"`
	Keywords               string            `json:"keywords"`
	License                string            `json:"license"`
	LicenseExpression      *string           `json:"license_expression"`
	LicenseFiles           *[]string         `json:"license_files"`
	Maintainer             string            `json:"maintainer"`
	MaintainerEmail        string            `json:"maintainer_email"`
	Name                   string            `json:"name"`
	PackageURL             string            `json:"package_url"`
	Platform               *string           `json:"platform"`
	ProjectURL             string            `json:"project_url"`
	ProjectURLs            map[string]string `json:"project_urls"`
	ProvidesExtra          *[]string         `json:"provides_extra"`
	ReleaseURL             string            `json:"release_url"`
	RequiresDist           []string          `json:"requires_dist"`
	RequiresPython         string            `json:"requires_python"`
	Summary                string            `json:"summary"`
	Version                string            `json:"version"`
	Yanked                 bool              `json:"yanked"`
	YankedReason           *string           `json:"yanked_reason"`
}

type legacyOwnership struct {
	Organization *string `json:"organization"`
	Roles        []any   `json:"roles"`
}

// legacyDoc is the project document; Releases is nil (omitted) for the
// per-version document.
type legacyDoc struct {
	Info            legacyInfo               `json:"info"`
	LastSerial      int64                    `json:"last_serial"`
	Ownership       legacyOwnership          `json:"ownership"`
	Releases        *map[string][]legacyFile `json:"releases,omitempty"`
	URLs            []legacyFile             `json:"urls"`
	Vulnerabilities []any                    `json:"vulnerabilities"`
}

func (s *Server) legacyFile(f *File) legacyFile {
	lf := legacyFile{
		CoreMetadata:  false,
		Digests:       legacyDigests{f.Blake2b256, f.MD5, f.SHA256},
		Downloads:     -1,
		Filename:      f.Filename,
		MD5Digest:     f.MD5,
		PackageType:   string(f.Kind),
		PythonVersion: f.PythonVersion,
		Size:          len(f.Data),
		UploadTime:    f.UploadTime.UTC().Format("2006-01-02T15:04:05"),
		UploadTimeISO: isoTime(f.UploadTime),
		URL:           s.FileURL(f),
		Yanked:        f.Yanked,
	}
	if f.Metadata != nil {
		lf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
	}
	if f.RequiresPython != "" {
		rp := f.RequiresPython
		lf.RequiresPython = &rp
	}
	if f.Yanked {
		reason := f.YankedReason
		lf.YankedReason = &reason
	}
	return lf
}

// latestRelease picks info's release like warehouse: not yanked first,
// final releases before pre-releases, then the highest version.
func latestRelease(rels []*release) *release {
	var best *release
	rank := func(r *release) int {
		n := 0
		if !r.yanked {
			n += 2
		}
		if !isPrerelease(r.version) {
			n++
		}
		return n
	}
	for _, r := range rels {
		if best == nil || rank(r) > rank(best) || (rank(r) == rank(best) && compareVersions(r.version, best.version) > 0) {
			best = r
		}
	}
	return best
}

func (s *Server) legacyDoc(p *project, version string) (legacyDoc, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var rel *release
	if version == "" {
		rel = latestRelease(p.releases)
	} else {
		for _, r := range p.releases {
			if sameVersion(r.version, version) {
				rel = r
			}
		}
	}
	if rel == nil {
		return legacyDoc{}, false
	}
	purl := s.IndexURL() + "/project/" + p.name + "/"
	info := legacyInfo{
		Classifiers:    []string{},
		Downloads:      map[string]int{"last_day": -1, "last_month": -1, "last_week": -1},
		Name:           p.name,
		PackageURL:     purl,
		ProjectURL:     purl,
		ReleaseURL:     purl + rel.version + "/",
		RequiresDist:   rel.requiresDist,
		RequiresPython: rel.requiresPy,
		Summary:        "Test distribution " + p.name + " " + rel.version + " served by fakepypi",
		Version:        rel.version,
		Yanked:         rel.yanked,
	}
	if rel.yanked {
		reason := rel.yankedReason
		info.YankedReason = &reason
	}
	doc := legacyDoc{Info: info, LastSerial: p.serial, Ownership: legacyOwnership{Roles: []any{}}, URLs: []legacyFile{}, Vulnerabilities: []any{}}
	for _, f := range rel.files {
		doc.URLs = append(doc.URLs, s.legacyFile(f))
	}
	if version == "" {
		releases := map[string][]legacyFile{}
		for _, r := range p.releases {
			list := []legacyFile{}
			for _, f := range r.files {
				list = append(list, s.legacyFile(f))
			}
			releases[r.version] = list
		}
		doc.Releases = &releases
	}
	return doc, true
}
