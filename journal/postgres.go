package journal

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func openPostgres(ctx context.Context, dsn string) (Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("journal: postgres: parse dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	// pgx prepares statements; after a few executions PostgreSQL may switch
	// to a generic plan that ignores the parameter values, which for skewed
	// columns (a popular package) picks a bitmap scan and sort over tens of
	// thousands of rows instead of walking the index (seconds instead of a
	// millisecond). Planning these small queries each time is cheap.
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: postgres: connect %s@%s:%d/%s: %w", cfg.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	if err := migrate(ctx, db, postgresDialect, migrationsFor(postgresDialect)); err != nil {
		db.Close()
		return nil, err
	}
	return &sqlStore{d: postgresDialect, w: db, r: db}, nil
}
