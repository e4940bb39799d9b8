package pgtest

import (
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// TestDatabaseFromTemplate: a template set up once is copied into each
// test's database, and the databases are apart from each other.
func TestDatabaseFromTemplate(t *testing.T) {
	setups := 0
	setup := func(dsn string) error {
		setups++
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(`CREATE TABLE marks (n INTEGER)`)
		return err
	}
	var dsns []string
	for range 2 {
		dsn := DatabaseFrom(t, Template(t, "pgtest_template", setup))
		dsns = append(dsns, dsn)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`INSERT INTO marks VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM marks`).Scan(&n); err != nil || n != 1 {
			t.Errorf("database %s holds %d marks (%v), want its own 1", dsn, n, err)
		}
	}
	if setups != 1 || dsns[0] == dsns[1] {
		t.Errorf("%d setups, databases %v; want one setup and two databases", setups, dsns)
	}
	if os.Geteuid() == 0 {
		var super string
		db, _ := sql.Open("pgx", dsns[0])
		defer db.Close()
		if err := db.QueryRow(`SELECT current_user`).Scan(&super); err != nil || super != "postgres" {
			t.Errorf("current user %q (%v)", super, err)
		}
	}
}
