package piptest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// PoetryEnv names the environment variable pointing at the poetry
// executable (default: poetry from PATH, e.g. Debian's python3-poetry 1.3).
const PoetryEnv = "OSAPROXY_POETRY"

// PoetrySourceName is the name of the [[tool.poetry.source]] entry.
const PoetrySourceName = "testindex"

// PoetryPath locates the poetry executable.
func PoetryPath() (string, error) {
	if p := os.Getenv(PoetryEnv); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("poetry")
	if err != nil {
		return "", fmt.Errorf("piptest: poetry not found (apt-get install python3-poetry, or set %s): %w", PoetryEnv, err)
	}
	return p, nil
}

// PoetryOptions configures a poetry project.
type PoetryOptions struct {
	// SourceURL is the Simple API URL of the only package source
	// (default = true, so PyPI is never consulted).
	SourceURL string
	// CertFile is a PEM bundle to trust for an HTTPS SourceURL.
	CertFile string
	// Dependencies maps a requirement name to a poetry constraint ("*", "1.0", "^2").
	Dependencies map[string]string
	// Python is the project's python constraint (default ">=3.7").
	Python string
	// Timeout bounds each invocation (default DefaultTimeout).
	Timeout time.Duration
}

// Poetry is a throwaway poetry project with an in-project virtualenv.
type Poetry struct {
	// Dir is the project directory (holds pyproject.toml, poetry.lock, .venv).
	Dir string
	// Bin is the poetry executable.
	Bin string
	// Env holds extra KEY=VALUE entries for every invocation.
	Env []string

	opts PoetryOptions
	work string
	t    testing.TB
}

// NewPoetryProject writes a minimal pyproject.toml under t.TempDir() whose
// only source is opts.SourceURL. It fails the test when poetry is missing.
func NewPoetryProject(t testing.TB, opts PoetryOptions) *Poetry {
	t.Helper()
	p, err := CreatePoetryProject(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	p.t = t
	return p
}

// CreatePoetryProject is NewPoetryProject without a testing.TB.
func CreatePoetryProject(dir string, opts PoetryOptions) (*Poetry, error) {
	bin, err := PoetryPath()
	if err != nil {
		return nil, err
	}
	if opts.SourceURL == "" {
		return nil, fmt.Errorf("piptest: PoetryOptions.SourceURL is empty")
	}
	if opts.Python == "" {
		opts.Python = ">=3.7"
	}
	p := &Poetry{Dir: filepath.Join(dir, "project"), Bin: bin, opts: opts, work: dir}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, err
	}
	return p, os.WriteFile(filepath.Join(p.Dir, "pyproject.toml"), []byte(p.pyproject()), 0o644)
}

func tomlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (p *Poetry) pyproject() string {
	var b strings.Builder
	b.WriteString("[tool.poetry]\nname = \"osaproxy-poetry-test\"\nversion = \"0.1.0\"\ndescription = \"poetry harness project\"\nauthors = [\"osaproxy tests <tests@example.invalid>\"]\n\n")
	b.WriteString("[tool.poetry.dependencies]\npython = " + tomlString(p.opts.Python) + "\n")
	names := make([]string, 0, len(p.opts.Dependencies))
	for n := range p.opts.Dependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s = %s\n", tomlString(n), tomlString(p.opts.Dependencies[n]))
	}
	fmt.Fprintf(&b, "\n[[tool.poetry.source]]\nname = %s\nurl = %s\ndefault = true\nsecondary = false\n", tomlString(PoetrySourceName), tomlString(p.opts.SourceURL))
	b.WriteString("\n[build-system]\nrequires = [\"poetry-core>=1.0.0\"]\nbuild-backend = \"poetry.core.masonry.api\"\n")
	return b.String()
}

// Environ returns the environment poetry runs with: caches, config, data
// and virtualenvs under the test's temp dir, no keyring, no prompts.
func (p *Poetry) Environ() []string {
	env := cleanEnv()
	env = append(env, isolatedHome(p.work)...)
	state := filepath.Join(p.work, "poetry-state")
	env = append(env,
		"POETRY_CACHE_DIR="+filepath.Join(state, "cache"),
		"POETRY_CONFIG_DIR="+filepath.Join(state, "config"),
		"POETRY_DATA_DIR="+filepath.Join(state, "data"),
		"POETRY_VIRTUALENVS_PATH="+filepath.Join(state, "virtualenvs"),
		"POETRY_VIRTUALENVS_IN_PROJECT=true",
		"POETRY_VIRTUALENVS_CREATE=true",
		"POETRY_NO_INTERACTION=1",
		"POETRY_INSTALLER_PARALLEL=false",
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring",
		"PIP_CONFIG_FILE="+os.DevNull,
		"PIP_NO_INPUT=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"VIRTUALENV_OVERRIDE_APP_DATA="+filepath.Join(state, "virtualenv-app-data"),
	)
	if p.opts.CertFile != "" {
		env = append(env,
			"POETRY_CERTIFICATES_"+strings.ToUpper(PoetrySourceName)+"_CERT="+p.opts.CertFile,
			"REQUESTS_CA_BUNDLE="+p.opts.CertFile)
	}
	return append(env, p.Env...)
}

// Run runs poetry with args in the project directory.
func (p *Poetry) Run(args ...string) (Result, error) {
	res, err := run(context.Background(), p.Dir, p.Environ(), p.opts.Timeout, p.Bin, append([]string{"--no-ansi", "--no-interaction"}, args...)...)
	if p.t != nil {
		p.t.Logf("poetry %s: exit %d in %s", strings.Join(args, " "), res.ExitCode, res.Duration.Round(time.Millisecond))
	}
	return res, err
}

// Install runs "poetry install --no-root" (locking first if needed).
func (p *Poetry) Install() (Result, error) { return p.Run("install", "--no-root") }

// Lock runs "poetry lock" (resolution only, nothing installed).
func (p *Poetry) Lock() (Result, error) { return p.Run("lock") }

// Add runs "poetry add pkgs..." (resolves, locks and installs).
func (p *Poetry) Add(pkgs ...string) (Result, error) {
	return p.Run(append([]string{"add"}, pkgs...)...)
}

var lockPackageRe = regexp.MustCompile(`(?m)^\[\[package\]\]\s*\nname = "([^"]+)"\s*\nversion = "([^"]+)"`)

// Locked parses poetry.lock into normalized name → version.
func (p *Poetry) Locked() (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(p.Dir, "poetry.lock"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range lockPackageRe.FindAllStringSubmatch(string(data), -1) {
		out[Normalize(m[1])] = m[2]
	}
	return out, nil
}

// Venv returns the project's in-project virtualenv (valid after Install).
func (p *Poetry) Venv() *Venv {
	dir := filepath.Join(p.Dir, ".venv")
	return &Venv{Dir: dir, Python: filepath.Join(dir, "bin", "python"), work: p.work, t: p.t}
}
