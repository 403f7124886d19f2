package pypi

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"time"
)

// JSONAPIRelease is one release of the legacy JSON API as the filter sees it.
type JSONAPIRelease struct {
	Version string
	Files   []IndexFile
}

// jsonAPIFile is what FilterJSONAPI reads from a legacy file entry.
type jsonAPIFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Digests        map[string]string `json:"digests"`
	UploadTimeISO  string            `json:"upload_time_iso_8601"`
	UploadTime     string            `json:"upload_time"`
	Yanked         bool              `json:"yanked"`
	YankedReason   *string           `json:"yanked_reason"`
	RequiresPython *string           `json:"requires_python"`
	Size           int64             `json:"size"`
	PackageType    string            `json:"packagetype"`
}

func (f *jsonAPIFile) uploadTime() time.Time {
	for _, s := range []string{f.UploadTimeISO, f.UploadTime} {
		if s == "" {
			continue
		}
		if t, ok := parseUploadTime(s); ok {
			return t.UTC()
		}
	}
	return time.Time{}
}

// FilterJSONAPI filters /pypi/<p>/json or /pypi/<p>/<v>/json. decide is
// called once per release with its version and files (Filename, URL, Sha256
// from digests.sha256, UploadTime from upload_time_iso_8601, Yanked,
// YankedReason, RequiresPython, Size, Version = the release key, Type and
// ParseErr from the filename). Releases whose decision is Remove are dropped
// from "releases"; Mark sets "yanked": true, "yanked_reason": reason and any
// core-metadata keys to false in the release's files. When info.version's
// release is removed, "urls" becomes []; for /pypi/<p>/<v>/json (no
// "releases" key) that returns ErrReleaseRemoved instead, and the caller
// answers 404. Every file url goes through links (nil means identity); a
// file whose link is refused is dropped. Unknown keys are kept; key order
// and whitespace are not (the output is compact with sorted keys).
func FilterJSONAPI(body []byte, project string, decide func(r *JSONAPIRelease) Edit, links LinkMapper) ([]byte, error) {
	if project != "" && !IsNormalized(project) {
		project = NormalizeName(project)
	}
	var doc map[string]json.RawMessage
	if err := strictUnmarshal(body, &doc); err != nil {
		return nil, errors.New("pypi: legacy JSON API document: " + err.Error())
	}
	var info map[string]json.RawMessage
	if raw, ok := doc["info"]; ok {
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, errors.New(`pypi: legacy JSON API: "info" is not an object`)
		}
	}
	var infoVersion string
	if raw, ok := info["version"]; ok {
		_ = json.Unmarshal(raw, &infoVersion)
	}
	decisions := map[string]Edit{}
	decideFiles := func(version string, raw json.RawMessage) (json.RawMessage, Edit, error) {
		var entries []map[string]json.RawMessage
		var files []jsonAPIFile
		if json.Unmarshal(raw, &entries) != nil || json.Unmarshal(raw, &files) != nil {
			return nil, Edit{}, errors.New("pypi: legacy JSON API: malformed file list")
		}
		rel := JSONAPIRelease{Version: version, Files: make([]IndexFile, len(entries))}
		for i, e := range entries {
			f := &files[i]
			ifl := IndexFile{Filename: f.Filename, URL: f.URL, Version: version, Sha256: f.Digests["sha256"],
				UploadTime: f.uploadTime(), Yanked: f.Yanked, Size: f.Size}
			if f.YankedReason != nil {
				ifl.YankedReason = *f.YankedReason
			}
			if f.RequiresPython != nil {
				ifl.RequiresPython = *f.RequiresPython
			}
			if fi, err := ParseFilename(f.Filename, project); err != nil {
				ifl.ParseErr = err
			} else {
				ifl.Type = fi.Type
			}
			_, hasMeta := e["core-metadata"]
			ifl.HasMetadata = hasMeta
			rel.Files[i] = ifl
		}
		edit, ok := decisions[version]
		if !ok {
			edit = decide(&rel)
			decisions[version] = edit
		}
		if edit.Action == Remove {
			return nil, edit, nil
		}
		kept := entries[:0]
		for i, e := range entries {
			if links != nil {
				link, ok := links.MapLink(rel.Files[i].URL)
				if !ok {
					continue
				}
				e["url"], _ = marshalNoEscape(link)
			}
			if edit.Action == Mark {
				e["yanked"] = json.RawMessage("true")
				e["yanked_reason"], _ = marshalNoEscape(edit.Reason)
				for _, k := range []string{"core-metadata", "data-dist-info-metadata", "dist-info-metadata"} {
					if _, ok := e[k]; ok {
						e[k] = json.RawMessage("false")
					}
				}
			}
			kept = append(kept, e)
		}
		out, err := marshalNoEscape(kept)
		return out, edit, err
	}

	if raw, ok := doc["releases"]; ok {
		var releases map[string]json.RawMessage
		if err := json.Unmarshal(raw, &releases); err != nil {
			return nil, errors.New(`pypi: legacy JSON API: "releases" is not an object`)
		}
		versions := make([]string, 0, len(releases))
		for v := range releases {
			versions = append(versions, v)
		}
		sort.Strings(versions)
		for _, v := range versions {
			out, edit, err := decideFiles(v, releases[v])
			if err != nil {
				return nil, err
			}
			if edit.Action == Remove {
				delete(releases, v)
			} else {
				releases[v] = out
			}
		}
		out, err := marshalNoEscape(releases)
		if err != nil {
			return nil, err
		}
		doc["releases"] = out
	}
	if raw, ok := doc["urls"]; ok {
		out, edit, err := decideFiles(infoVersion, raw)
		if err != nil {
			return nil, err
		}
		if edit.Action == Remove {
			if _, hasReleases := doc["releases"]; !hasReleases {
				return nil, ErrReleaseRemoved
			}
			out = json.RawMessage("[]")
		}
		doc["urls"] = out
	}
	return marshalNoEscape(doc)
}

// strictUnmarshal decodes one JSON value and refuses trailing data.
func strictUnmarshal(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func marshalNoEscape(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UploadTimes reads filename -> upload time from a legacy JSON API document
// (used for cooldown when an HTML index has no upload-time). It reads
// "releases" and "urls"; upload_time_iso_8601 is preferred, upload_time (a
// naive UTC timestamp) is the fallback.
func UploadTimes(body []byte) (map[string]time.Time, error) {
	var doc struct {
		Releases map[string][]jsonAPIFile `json:"releases"`
		URLs     []jsonAPIFile            `json:"urls"`
	}
	if err := strictUnmarshal(body, &doc); err != nil {
		return nil, errors.New("pypi: legacy JSON API document: " + err.Error())
	}
	out := make(map[string]time.Time)
	add := func(files []jsonAPIFile) {
		for i := range files {
			if t := files[i].uploadTime(); !t.IsZero() && files[i].Filename != "" {
				out[files[i].Filename] = t
			}
		}
	}
	for _, files := range doc.Releases {
		add(files)
	}
	add(doc.URLs)
	return out, nil
}
