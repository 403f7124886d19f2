// Package piptest runs the real pip and poetry against a package index for
// end-to-end tests, in throwaway environments that cannot reach the
// internet: every client gets an explicit index, no user or site
// configuration, no caches, and an unreachable HTTP(S) proxy for anything
// that is not 127.0.0.1/localhost.
package piptest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// PythonEnv names the environment variable selecting the base interpreter
// (default: python3 from PATH).
const PythonEnv = "OSAPROXY_PYTHON"

// DefaultTimeout bounds one pip or poetry invocation.
const DefaultTimeout = 3 * time.Minute

// deadProxy is where stray non-loopback traffic is sent: nothing listens
// on port 9 (discard), so it fails fast instead of reaching the internet.
const deadProxy = "http://127.0.0.1:9"

// noProxy lists the hosts that bypass deadProxy.
const noProxy = "127.0.0.1,localhost,::1"

// Result is the outcome of one client invocation.
type Result struct {
	// Args is the full command line.
	Args []string
	// Stdout and Stderr are the captured streams.
	Stdout, Stderr string
	// ExitCode is the process exit status (-1 when it did not start or was killed).
	ExitCode int
	// Duration is the wall time of the run.
	Duration time.Duration
}

// Output returns stdout and stderr together, for assertions and logs.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// OK reports whether the command exited with status 0.
func (r Result) OK() bool { return r.ExitCode == 0 }

var (
	pythonOnce sync.Once
	pythonExe  string
	pythonErr  error
)

// Python returns the absolute path of the base interpreter ($OSAPROXY_PYTHON
// or python3 from PATH, resolved through sys.executable so pyenv shims are
// skipped).
func Python() (string, error) {
	pythonOnce.Do(func() {
		py := os.Getenv(PythonEnv)
		if py == "" {
			py = "python3"
		}
		out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			pythonErr = fmt.Errorf("piptest: running %s: %w", py, err)
			return
		}
		pythonExe = strings.TrimSpace(string(out))
	})
	return pythonExe, pythonErr
}

// cleanEnv returns the inherited environment without anything that could
// redirect or configure pip, poetry, requests or Python itself.
func cleanEnv() []string {
	drop := []string{"PIP_", "PYTHON", "POETRY_", "VIRTUAL_ENV", "CONDA_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_", "XDG_", "HOME=", "PYENV_VERSION"}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		skip := false
		for _, d := range drop {
			if strings.HasPrefix(kv, d) {
				skip = true
				break
			}
		}
		if !skip {
			env = append(env, kv)
		}
	}
	return append(env,
		"HTTP_PROXY="+deadProxy, "HTTPS_PROXY="+deadProxy, "ALL_PROXY="+deadProxy,
		"http_proxy="+deadProxy, "https_proxy="+deadProxy, "all_proxy="+deadProxy,
		"NO_PROXY="+noProxy, "no_proxy="+noProxy,
		"PYTHONDONTWRITEBYTECODE=1", "PYTHONNOUSERSITE=1", "PYTHONUTF8=1",
	)
}

// isolatedHome creates HOME and XDG directories under dir and returns
// their environment entries.
func isolatedHome(dir string) []string {
	home := filepath.Join(dir, "home")
	var env []string
	for k, sub := range map[string]string{"HOME": "", "XDG_CACHE_HOME": ".cache", "XDG_CONFIG_HOME": ".config", "XDG_DATA_HOME": ".local/share"} {
		p := filepath.Join(home, sub)
		os.MkdirAll(p, 0o755)
		env = append(env, k+"="+p)
	}
	return env
}

// run executes a command with a timeout and captures its output.
func run(ctx context.Context, dir string, env []string, timeout time.Duration, name string, args ...string) (Result, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := Result{Args: append([]string{name}, args...), Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: -1, Duration: time.Since(start)}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		return res, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(res.Output(), 4000))
	}
	return res, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

// templateVenv returns a pristine venv created once per interpreter and
// machine (under the OS temp dir), which NewVenv copies: copying takes a
// fraction of a second, "python -m venv" several.
func templateVenv() (string, error) {
	templateOnce.Do(func() {
		py, err := Python()
		if err != nil {
			templateErr = err
			return
		}
		ver, err := exec.Command(py, "-c", "import sys,pip; print(sys.version)").CombinedOutput()
		if err != nil {
			// No pip in the base interpreter is fine; the venv gets its own.
			ver, _ = exec.Command(py, "-VV").CombinedOutput()
		}
		sum := sha256.Sum256([]byte(py + "\x00" + string(ver)))
		dir := filepath.Join(os.TempDir(), "osaproxy-piptest-venv-"+hex.EncodeToString(sum[:6]))
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
			templateDir = dir
			return
		}
		tmp, err := os.MkdirTemp(os.TempDir(), "osaproxy-piptest-build-")
		if err != nil {
			templateErr = err
			return
		}
		venv := filepath.Join(tmp, "venv")
		if out, err := exec.Command(py, "-m", "venv", venv).CombinedOutput(); err != nil {
			os.RemoveAll(tmp)
			templateErr = fmt.Errorf("piptest: %s -m venv: %w\n%s", py, err, out)
			return
		}
		os.WriteFile(filepath.Join(venv, ".complete"), []byte(ver), 0o644)
		if err := os.Rename(venv, dir); err != nil {
			// Another process won the race; use its copy.
			if _, statErr := os.Stat(filepath.Join(dir, ".complete")); statErr != nil {
				templateErr = err
			}
		}
		os.RemoveAll(tmp)
		templateDir = dir
	})
	return templateDir, templateErr
}

// copyTree copies a directory, keeping symlinks as symlinks and file modes.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		default:
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		}
	})
}

// ErrNoIndex is returned by Install when no index URL is configured.
var ErrNoIndex = errors.New("piptest: Venv.IndexURL is empty")

// Venv is a Python virtual environment with pip, under a test's temp dir.
type Venv struct {
	// Dir is the venv root; Python its interpreter.
	Dir, Python string
	// IndexURL is passed as --index-url (and PIP_INDEX_URL, which pip's
	// build-isolation subprocess inherits).
	IndexURL string
	// CertFile is a PEM bundle to trust for HTTPS (PIP_CERT, inherited by
	// the build-isolation subprocess, unlike --cert).
	CertFile string
	// TrustedHosts are passed as --trusted-host.
	TrustedHosts []string
	// Env holds extra KEY=VALUE entries for every invocation.
	Env []string
	// Timeout bounds each invocation (default DefaultTimeout).
	Timeout time.Duration

	t    testing.TB
	work string
}

// NewVenv creates a fresh venv (a copy of a cached pristine one) under
// t.TempDir(). It fails the test when Python or venv is unusable.
func NewVenv(t testing.TB) *Venv {
	t.Helper()
	v, err := CreateVenv(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v.t = t
	return v
}

// CreateVenv creates a venv under dir (dir/venv) without a testing.TB.
func CreateVenv(dir string) (*Venv, error) {
	tmpl, err := templateVenv()
	if err != nil {
		return nil, err
	}
	v := &Venv{Dir: filepath.Join(dir, "venv"), work: dir}
	v.Python = filepath.Join(v.Dir, "bin", "python")
	if err := copyTree(tmpl, v.Dir); err != nil {
		return nil, fmt.Errorf("piptest: copying template venv: %w", err)
	}
	return v, nil
}

// Reset throws away everything installed, restoring a pristine venv.
func (v *Venv) Reset() error {
	tmpl, err := templateVenv()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(v.Dir); err != nil {
		return err
	}
	return copyTree(tmpl, v.Dir)
}

// Environ returns the environment every pip invocation runs with.
func (v *Venv) Environ() []string {
	env := cleanEnv()
	env = append(env, isolatedHome(v.work)...)
	env = append(env,
		"VIRTUAL_ENV="+v.Dir,
		"PATH="+filepath.Join(v.Dir, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PIP_CONFIG_FILE="+os.DevNull,
		"PIP_NO_INPUT=1",
		"PIP_NO_CACHE_DIR=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_COLOR=1",
		"PIP_PROGRESS_BAR=off",
	)
	if v.IndexURL != "" {
		env = append(env, "PIP_INDEX_URL="+v.IndexURL)
	}
	if v.CertFile != "" {
		env = append(env, "PIP_CERT="+v.CertFile)
	}
	if len(v.TrustedHosts) > 0 {
		env = append(env, "PIP_TRUSTED_HOST="+strings.Join(v.TrustedHosts, " "))
	}
	return append(env, v.Env...)
}

// Pip runs "python -m pip args..." in the venv.
func (v *Venv) Pip(args ...string) (Result, error) {
	return run(context.Background(), v.work, v.Environ(), v.Timeout, v.Python, append([]string{"-m", "pip"}, args...)...)
}

// Install runs pip install --no-cache-dir --disable-pip-version-check
// --index-url IndexURL [--cert CertFile] [--trusted-host ...] args...
// The error is non-nil when pip fails; the Result is filled either way.
func (v *Venv) Install(args ...string) (Result, error) {
	if v.IndexURL == "" {
		return Result{ExitCode: -1}, ErrNoIndex
	}
	full := []string{"install", "--no-cache-dir", "--disable-pip-version-check", "--no-input", "--index-url", v.IndexURL}
	if v.CertFile != "" {
		full = append(full, "--cert", v.CertFile)
	}
	for _, h := range v.TrustedHosts {
		full = append(full, "--trusted-host", h)
	}
	res, err := v.Pip(append(full, args...)...)
	if v.t != nil {
		v.t.Logf("pip install %s: exit %d in %s", strings.Join(args, " "), res.ExitCode, res.Duration.Round(time.Millisecond))
	}
	return res, err
}

// Download runs pip download into dir/downloads and returns that directory.
func (v *Venv) Download(args ...string) (string, Result, error) {
	if v.IndexURL == "" {
		return "", Result{ExitCode: -1}, ErrNoIndex
	}
	dest := filepath.Join(v.work, "downloads")
	full := []string{"download", "--no-cache-dir", "--disable-pip-version-check", "--no-input", "--index-url", v.IndexURL, "--dest", dest}
	if v.CertFile != "" {
		full = append(full, "--cert", v.CertFile)
	}
	res, err := v.Pip(append(full, args...)...)
	return dest, res, err
}

// Uninstall removes distributions from the venv.
func (v *Venv) Uninstall(names ...string) error {
	_, err := v.Pip(append([]string{"uninstall", "-y"}, names...)...)
	return err
}

// Run runs the venv's Python with args.
func (v *Venv) Run(args ...string) (Result, error) {
	return run(context.Background(), v.work, v.Environ(), v.Timeout, v.Python, args...)
}
