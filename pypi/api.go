// Package pypi implements the parts of the Python package index protocol
// that a filtering proxy needs: PEP 503 name normalization, distribution
// filename parsing, proxy URL classification, the base64 repository-manager
// context, PEP 691 content negotiation, and streaming/zero-copy filters for
// HTML and JSON Simple API pages and the legacy JSON API.
//
// The package is pure: it imports nothing from Caddy and performs no network
// I/O, so it can be table-tested and fuzzed in isolation.
package pypi

import "time"

// PackageType is the kind of a distribution file.
type PackageType string

// Package types.
const (
	TypeSdist PackageType = "sdist"
	TypeWheel PackageType = "wheel"
	TypeEgg   PackageType = "egg"
	TypeOther PackageType = "other"
)

// FileInfo is what a distribution filename says about the file.
type FileInfo struct {
	Filename string      // the file name as given (unescaped)
	Project  string      // PEP 503 normalized project name
	Version  string      // version exactly as written in the filename (no PEP 440 normalization, '_' not rewritten)
	Type     PackageType // sdist, wheel, egg, other
}

// Operation is what a proxied request does.
type Operation string

// Operations recorded in the journal.
const (
	OpProjectList Operation = "project_list" // /simple/
	OpIndex       Operation = "index"        // /simple/<project>/
	OpDownload    Operation = "download"     // a distribution file (GET or HEAD)
	OpMetadata    Operation = "metadata"     // <file>.metadata (PEP 658)
	OpSignature   Operation = "signature"    // <file>.asc
	OpJSON        Operation = "json"         // /pypi/<project>[/<version>]/json
)

// Upstream names which configured registry a request goes to.
type Upstream struct {
	// Kind is "registry", "packages" or "additional".
	Kind string
	// Key is the additional registry's key (e.g. "download.pytorch.org"); empty otherwise.
	Key string
}

// RepoContext is the repository manager context carried in the base64 URL segment.
type RepoContext struct {
	RepoManagerHost string `json:"repoManagerHost"`
	RepoName        string `json:"repoName"`
}

// Route is a classified proxy request (the path after /<repo>[/<b64>]).
type Route struct {
	Op       Operation
	Upstream Upstream
	// Project is the PEP 503 normalized project name when the path names one
	// (index, JSON API, legacy /packages/source/<c>/<name>/ paths).
	Project string
	// RawProject is the project segment as the client wrote it.
	RawProject string
	// Version is set for /pypi/<p>/<v>/json.
	Version string
	// Filename is the distribution filename for downloads, metadata and signatures
	// (without the .metadata/.asc suffix).
	Filename string
	// UpstreamPath is the path to request from the upstream, relative to the
	// chosen registry's base URL (always beginning with "/").
	UpstreamPath string
	// Redirect, when non-empty, is the proxy-relative path (after /<repo>[/<b64>])
	// the client must be redirected to (301) instead of proxying: non-normalized
	// project names and a missing trailing slash.
	Redirect string
}

// IndexFile is one file entry of a project page (HTML anchor or JSON files[] element).
type IndexFile struct {
	Filename       string
	URL            string // href / url as upstream wrote it (entities decoded, surrounding whitespace removed)
	Version        string // parsed from Filename with the page's project name
	Type           PackageType
	Sha256         string
	UploadTime     time.Time // zero when the index does not say (HTML never does)
	Yanked         bool
	YankedReason   string
	RequiresPython string
	HasMetadata    bool
	ParseErr       error // filename could not be parsed into a version, or the link is ambiguous

	// Text is the HTML anchor text (entities decoded). Nexus takes the
	// filename from it; it normally equals Filename. Empty for JSON.
	Text string
	// Size is the JSON "size" in bytes (0 when absent, and for HTML).
	Size int64

	start, end int // byte span of the anchor / object in the source
	hrefStart  int // byte span of the href/url value in the source (with quotes)
	hrefEnd    int
	brEnd      int     // HTML: end of a following <br /> to drop with the anchor
	attrs      [4]span // HTML: whole data-yanked, data-core-metadata, data-dist-info-metadata attributes; JSON: values of yanked, core-metadata, data-dist-info-metadata, dist-info-metadata
	ins        int     // JSON: end of the last member's value (where a missing "yanked" is inserted)
	sep, colon span    // JSON: separator and colon text to reuse when inserting a member
	flags      uint8
	split      int32  // 1 + the cut of the link split at parse time (ParseIndexWith), 0 for none
	splitHead  string // its head
}

// span is a half-open byte range of the source; a == b == -1 means absent.
type span struct{ a, b int }

// Action is what a filter does with one IndexFile.
type Action uint8

// Actions.
const (
	Keep   Action = iota // keep the file (its link rewritten to the proxy)
	Remove               // drop the file from the page
	Mark                 // keep the file but mark it yanked with Reason and drop its metadata attributes
)

// Edit is the decision for one IndexFile.
type Edit struct {
	Action Action
	Reason string
}

// Format is a Simple API representation.
type Format uint8

// Formats.
const (
	FormatHTML Format = iota // text/html or application/vnd.pypi.simple.v1+html
	FormatJSON               // application/vnd.pypi.simple.v1+json
)

// Media types of the Simple API.
const (
	MediaTextHTML = "text/html"
	MediaV1HTML   = "application/vnd.pypi.simple.v1+html"
	MediaV1JSON   = "application/vnd.pypi.simple.v1+json"
)

// LinkMapper turns an upstream file URL into a proxy URL. It is given the
// href/url as written in the upstream page and must return the new link and
// true, or false when the link points outside every configured registry (the
// caller then removes the file: no link may lead around the proxy).
type LinkMapper interface {
	MapLink(href string) (string, bool)
}

// LinkSplitter is an optional fast path of a LinkMapper: when SplitLink
// reports ok, the mapped link is head + href[cut:] (what MapLink would
// return), and the renderers write it without building the string (a page
// has thousands of links). When it reports false, MapLink decides.
type LinkSplitter interface {
	SplitLink(href string) (head string, cut int, ok bool)
}
