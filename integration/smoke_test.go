package integration

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
)

func TestSmokeStrictDangerous(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	if err := fake.AddBuildTools(); err != nil {
		t.Fatal(err)
	}
	fake.AddProject("libhmac", fakepypi.NewRelease("1.0.0"), fakepypi.NewRelease("1.1.0"), fakepypi.NewRelease("1.2.0"))
	fake.AddProject("goodpkg", fakepypi.NewRelease("1.0"))
	shared, err := filepath.Abs("../../shared/osv/malicious")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cfg := fmt.Sprintf(`{
	skip_install_trust
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	osa {
		intel osv %s
		policy "Dangerous dependency at the proxy stage" {
			stages proxy
			blocker
			condition dependency_is_dangerous
		}
		journal sqlite %s/journal.db
	}
}
http://localhost:9080 {
	osa_proxy {
		work_mode strict_wait
		pypi internet-pypi {
			registry %s
			packages_registry %s
			url_encoded_config
		}
	}
}
`, shared, tmp, fake.IndexURL(), fake.FilesURL())
	tester := caddytest.NewTester(t)
	tester.InitServer(cfg, "caddyfile")

	resp, err := http.Get("http://localhost:9080/internet-pypi/simple/libhmac/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("status %d headers %v\n%s", resp.StatusCode, resp.Header, body)
	if strings.Contains(string(body), "libhmac-1.1.0") {
		t.Fatalf("blocked version listed")
	}

	v := piptest.NewVenv(t)
	v.IndexURL = "http://localhost:9080/internet-pypi/simple/"
	if res, err := v.Install("goodpkg"); err != nil {
		t.Fatalf("goodpkg: %v\n%s", err, res.Output())
	}
	if res, err := v.Install("libhmac==1.1.0"); err == nil {
		t.Fatalf("libhmac==1.1.0 installed:\n%s", res.Output())
	} else {
		t.Logf("refused as expected: %s", res.Output())
	}
	if res, err := v.Install("libhmac"); err != nil {
		t.Fatalf("libhmac: %v\n%s", err, res.Output())
	}
	got, _ := v.Installed()
	if got["libhmac"] != "1.2.0" {
		t.Fatalf("want libhmac 1.2.0, got %v", got)
	}
	resp, err = http.Get("http://localhost:2999/osa/requests?limit=5")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	t.Logf("requests: %s", body)
}
