package integration

// Journal faults through the proxy: another process holds the SQLite
// journal's write lock. Requests are still answered at once (records wait
// in the writer's queue and are retried), every request is recorded once
// the lock is released, and a decision that needs the journal (a delayed
// blocker asks it when the block was first triggered) fails the way the
// operator chose:
//
// | Delayed-blocker decision while the journal is locked | block_on_errors true (default)          | block_on_errors false       |
// |------------------------------------------------------|-----------------------------------------|-----------------------------|
// | download of the matching version (strict mode)       | block_status, blocked_on_error          | served, not_blocked         |
// | unrelated packages                                   | served at once                          | served at once              |

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"

	_ "modernc.org/sqlite"
)

func TestFaultJournalLocked(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	fake.AddProject("badpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}), fakepypi.NewRelease("2.0", fakepypi.FileSpec{}))
	okWheel := fake.ProjectFiles("okpkg", "1.0")[0]
	badWheel := fake.ProjectFiles("badpkg", "1.0")[0]
	osv := t.TempDir()
	rsWriteMAL(t, osv, "MAL-2099-0601", "badpkg", "1.0")
	delayed := `policy "Delayed" {
			stages proxy
			blocker
			delay 1h
			condition dependency_is_dangerous
		}`
	for _, boe := range []string{"true", "false"} {
		t.Run("block_on_errors_"+boe, func(t *testing.T) {
			dir := t.TempDir()
			dbPath := filepath.Join(dir, "journal.db")
			rsLoadProxy(t, rsProxyCfg{Mode: "strict", BlockOnErrors: boe, Registry: fake.IndexURL(), Packages: fake.FilesURL(),
				Intel: []string{osv}, Policies: delayed, Dir: dir})
			rsWaitReady(t, 30*time.Second)
			_, base := rsJournalRows(t, "")

			// Another process takes the write lock.
			other, err := sql.Open("sqlite", dbPath+"?_busy_timeout=5000")
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			ctx := context.Background()
			conn, err := other.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO first_triggers (key, first) VALUES ('lock-holder', 1)"); err != nil {
				t.Fatal(err)
			}
			locked := time.Now()
			sent := 0
			for i := 0; i < 10; i++ {
				target := "/r/simple/okpkg/"
				if i%2 == 1 {
					target = "/r" + okWheel.Path
				}
				t0 := time.Now()
				code, _, _ := rsGet(t, target, "Accept: "+pipAcceptRS)
				sent++
				if code != 200 {
					t.Errorf("%s while the journal is locked: %d", target, code)
				}
				if d := time.Since(t0); d > 2*time.Second {
					t.Errorf("%s took %s while the journal is locked", target, d)
				}
			}
			code, hdr, body := rsGet(t, "/r"+badWheel.Path)
			sent++
			wantCode, wantStatus := 403, "blocked_on_error"
			if boe == "false" {
				wantCode, wantStatus = 200, "not_blocked"
			}
			if code != wantCode {
				t.Errorf("delayed-blocker decision with the journal locked: %d %s, want %d\n%s", code, hdr.Get("X-OSA-Status"), wantCode, truncateStr(body, 300))
			}
			if code == 403 && hdr.Get("X-OSA-Status") != wantStatus {
				t.Errorf("X-OSA-Status %q, want %q", hdr.Get("X-OSA-Status"), wantStatus)
			}
			if code == 200 && rsSha256hex(body) != badWheel.SHA256 {
				t.Errorf("served a damaged file")
			}
			if time.Since(locked) < 3*time.Second {
				time.Sleep(3*time.Second - time.Since(locked))
			}
			if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
				t.Fatal(err)
			}
			conn.Close()

			// Every request is recorded, exactly once.
			deadline := time.Now().Add(30 * time.Second)
			var rows []rsJournalRow
			total := 0
			for time.Now().Before(deadline) {
				rows, total = rsJournalRows(t, "")
				if total >= base+sent {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if total != base+sent {
				t.Fatalf("%d journal rows after the lock, want %d", total-base, sent)
			}
			if rows[0].Package != "badpkg" || rows[0].Status != wantStatus || rows[0].HTTPStatus != wantCode {
				t.Errorf("newest row %+v, want badpkg %s %d", rows[0], wantStatus, wantCode)
			}
			// Once the journal answers again, the delayed block is decided
			// normally (delayed_block: the download is allowed for an hour).
			code, hdr, _ = rsGet(t, "/r"+badWheel.Path)
			if code != http.StatusOK {
				t.Errorf("after the lock: %d %s, want 200 (delayed block)", code, hdr.Get("X-OSA-Status"))
			}
		})
	}
}
