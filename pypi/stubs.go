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

// NormalizeName returns the PEP 503 normalized form of a project name.
func NormalizeName(name string) string { panic("todo") }

// ParseFilename splits a distribution filename into project and version.
// project, when non-empty, is the normalized name the file is known to belong
// to (from the index page) and is used to split ambiguous legacy sdists.
func ParseFilename(filename, project string) (FileInfo, error) { return FileInfo{}, errTODO }

// FilenameCandidates returns every plausible (project, version) split of a
// filename when the project is not known (downloads straight from the files
// host). Wheels give one candidate; legacy sdists with dashes may give several.
func FilenameCandidates(filename string) []FileInfo { return nil }

// ParseContext decodes the URL-safe base64 (padding optional) JSON repository
// manager context. Errors say what is wrong and are safe to show a client.
func ParseContext(segment string) (RepoContext, error) { return RepoContext{}, errTODO }

// EncodeContext is the inverse of ParseContext (unpadded URL-safe base64).
func EncodeContext(c RepoContext) string { return "" }

// Error is a classification error with the HTTP status a client should get.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Classify classifies the part of a proxy path after /<repo>[/<b64>]
// (beginning with "/", still percent-encoded as received: pass r.URL.EscapedPath()
// minus the prefix). additionalKeys are the configured additional registry keys.
func Classify(escapedPath string, additionalKeys []string) (Route, error) { return Route{}, errTODO }

// Negotiate picks the Simple API representation the way pypi.org does:
// ?format= wins over Accept; q-values; ties go to HTML; no Accept or */* is
// text/html. It returns the media type to request and serve. ok is false when
// nothing acceptable is offered (the caller answers 406).
func Negotiate(accept, formatParam string) (media string, f Format, ok bool) { return "", 0, false }

// Index is a parsed project page. Files point into the source bytes.
type Index struct {
	Format        Format
	Project       string
	ProjectStatus string // PEP 792: active, archived, quarantined, deprecated ("" when absent)
	Files         []IndexFile
	src           []byte
}

// ParseIndex parses a project page without copying it. Errors mean the page
// could not be understood; a blocking proxy must then not serve it.
func ParseIndex(body []byte, f Format, project string) (*Index, error) { return nil, errTODO }

// Render appends the filtered page to dst: edits[i] applies to ix.Files[i];
// every kept or marked file's link goes through links (a false from MapLink
// removes the file). JSON "versions" is rebuilt: a version is dropped when all
// its files were removed by an edit. Everything else is copied byte for byte.
func (ix *Index) Render(dst []byte, edits []Edit, links LinkMapper) ([]byte, error) {
	return nil, errTODO
}

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
