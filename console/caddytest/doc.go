// Package caddytest holds the end-to-end test of the osa_console Caddy
// module: a real Caddy instance with the osa app (SQLite journal, an OSV
// folder as intelligence) serving the console under handle_path and under
// handle with base_path. It is a separate package so that the console's own
// tests do not depend on the Caddy glue.
package caddytest
