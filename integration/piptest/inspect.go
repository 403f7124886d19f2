package piptest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

var normalizeRe = regexp.MustCompile(`[-_.]+`)

// Normalize returns the PEP 503 normalized project name.
func Normalize(name string) string {
	return strings.ToLower(normalizeRe.ReplaceAllString(name, "-"))
}

// Installed returns the venv's distributions (pip list --format=json) as
// normalized name → version.
func (v *Venv) Installed() (map[string]string, error) {
	res, err := v.Pip("list", "--format=json", "--disable-pip-version-check")
	if err != nil {
		return nil, err
	}
	var list []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		return nil, fmt.Errorf("piptest: parsing pip list: %w\n%s", err, res.Stdout)
	}
	out := make(map[string]string, len(list))
	for _, d := range list {
		out[Normalize(d.Name)] = d.Version
	}
	return out, nil
}

// Import imports module in the venv and returns its __version__ ("" when
// the module has none).
func (v *Venv) Import(module string) (string, error) {
	res, err := v.Run("-c", "import importlib,sys; m = importlib.import_module(sys.argv[1]); print(getattr(m, '__version__', ''))", module)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(res.Stdout), nil
}

// Versions imports each module in one interpreter run and returns module →
// __version__ ("" when a module has no __version__). A module that fails to
// import makes the whole call fail.
func (v *Venv) Versions(modules ...string) (map[string]string, error) {
	res, err := v.Run(append([]string{"-c", "import importlib,json,sys; print(json.dumps({m: getattr(importlib.import_module(m), '__version__', '') for m in sys.argv[1:]}))"}, modules...)...)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.Stdout)), &out); err != nil {
		return nil, fmt.Errorf("piptest: parsing versions: %w\n%s", err, res.Stdout)
	}
	return out, nil
}
