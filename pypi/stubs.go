package pypi

// CONTRACT STUBS: the pypi helper replaces every function in this file with a
// real implementation in topical files (names.go, filename.go, classify.go,
// context.go, negotiate.go, html.go, json.go, projectlist.go, jsonapi.go) and
// then deletes this file. Signatures are the contract with the handler; extra
// functions may be added freely.

import (
	"errors"
	"io"
	"time"
)

var errTODO = errors.New("pypi: not implemented")

// NewProjectListFilter returns a writer that streams the /simple/ project list
// to w, rewriting HTML hrefs "/simple/<name>/" to prefix+"/simple/<name>/" and
// dropping entries whose normalized name drop reports true (drop may be nil).
// JSON lists carry no URLs and are only filtered. Close flushes the tail.
func NewProjectListFilter(w io.Writer, f Format, prefix string, drop func(normalized string) bool) io.WriteCloser {
	return nil
}

// JSONAPIRelease is one release of the legacy JSON API as the filter sees it.
type JSONAPIRelease struct {
	Version string
	Files   []IndexFile
}

// FilterJSONAPI filters /pypi/<p>/json or /pypi/<p>/<v>/json: releases whose
// decide returns Remove are dropped from "releases"; when info.version is
// removed "urls" becomes empty; every file url goes through links.
func FilterJSONAPI(body []byte, project string, decide func(r *JSONAPIRelease) Edit, links LinkMapper) ([]byte, error) {
	return nil, errTODO
}

// UploadTimes reads filename -> upload time from a legacy JSON API document
// (used for cooldown when an HTML index has no upload-time).
func UploadTimes(body []byte) (map[string]time.Time, error) { return nil, errTODO }
