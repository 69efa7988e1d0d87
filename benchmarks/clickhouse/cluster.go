package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
)

// Sentinel errors of the package; test with errors.Is.
var (
	// ErrServer: a ClickHouse server answered a request with an error, or
	// with an answer that does not parse. A *ServerError carries it.
	ErrServer = diag.NewSentinel("clickhouse.server", "ClickHouse server error")
	// ErrCluster: the cluster cannot be reached, started or is not laid
	// out as the package expects (env variables, shard order).
	ErrCluster = diag.NewSentinel("clickhouse.cluster", "ClickHouse cluster unavailable")
	// ErrLoad: a data directory cannot be loaded into the cluster as it
	// is (a name clash, a value ClickHouse cannot hold).
	ErrLoad = diag.NewSentinel("clickhouse.load", "ClickHouse load refused")
)

// ClusterName is the cluster that .ci/clickhouse.sh configures in
// remote_servers on both servers, and that Load's Distributed tables name.
const ClusterName = "segmentkit_2shards"

// The environment variables that name a running cluster (.ci/clickhouse.sh
// env prints them).
const (
	// EnvURL is the HTTP URL of the server queries go to.
	EnvURL = "SEGMENTKIT_TEST_CLICKHOUSE"
	// EnvShards is every shard's HTTP URL in shard order, separated by
	// spaces.
	EnvShards = "SEGMENTKIT_TEST_CLICKHOUSE_SHARDS"
)

// Cluster is a ClickHouse cluster reached over the HTTP interface: the
// server queries go to, and every shard's server for the local tables.
// Its methods are safe for concurrent use once it is set up.
type Cluster struct {
	// URL is the HTTP URL of the server that runs queries (Query, Rows,
	// Exec): the first shard's, unless set otherwise.
	URL string
	// Shards are every shard's HTTP URL, in the order of the cluster's
	// remote_servers config: Shards[0] is shard_num 1.
	Shards []string
	// Name is the cluster's name in remote_servers; "" means ClusterName.
	Name string
	// Database is where Load creates the tables on every shard and where
	// queries run; "" means "default".
	Database string
	// Settings are ClickHouse settings sent with every request, as URL
	// parameters (join_use_nulls=1, say).
	Settings map[string]string
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// RowOrder, when set, is the name of one more column Load gives every
	// table, UInt64, holding each row's position in its data file (from
	// 0): ClickHouse keeps no row order, and sums of numbers add in it
	// (sqlgen.Options.RowOrder).
	RowOrder string
}

// FromEnv returns the cluster that EnvURL and EnvShards name, or false
// when EnvURL is not set. EnvURL set without EnvShards is an error.
func FromEnv() (*Cluster, bool, error) {
	u := os.Getenv(EnvURL)
	if u == "" {
		return nil, false, nil
	}
	shards := strings.Fields(os.Getenv(EnvShards))
	if len(shards) == 0 {
		return nil, true, fmt.Errorf("%w: %s is set but %s (every shard's URL, in shard order) is not", ErrCluster, EnvURL, EnvShards)
	}
	return &Cluster{URL: u, Shards: shards}, true, nil
}

// Shard returns a copy of c whose queries go to shard i's server (0 is
// shard_num 1), to read its local tables.
func (c *Cluster) Shard(i int) *Cluster {
	s := *c
	s.URL = c.Shards[i]
	return &s
}

func (c *Cluster) name() string {
	if c.Name == "" {
		return ClusterName
	}
	return c.Name
}

func (c *Cluster) database() string {
	if c.Database == "" {
		return "default"
	}
	return c.Database
}

func (c *Cluster) client() *http.Client {
	if c.Client == nil {
		return http.DefaultClient
	}
	return c.Client
}

// ServerError is a request the server refused: its HTTP status, the
// ClickHouse exception code (0 when the body has none) and the body's
// text, cut to a few hundred bytes. It wraps ErrServer.
type ServerError struct {
	URL    string
	Status int
	Code   int
	Body   string
	// Query is the start of the request's SQL.
	Query string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("%s: %s: HTTP %d: %s (query: %s)", ErrServer, e.URL, e.Status, e.Body, e.Query)
}

// Unwrap returns ErrServer.
func (e *ServerError) Unwrap() error { return ErrServer }

var codeRE = regexp.MustCompile(`^Code: (\d+)`)

// excerpt cuts s to at most n bytes, on a rune boundary, marking the cut.
func excerpt(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && (s[n]&0xc0) == 0x80 {
		n--
	}
	return s[:n] + "..."
}

// do sends one request: the SQL in the query parameter with body as the
// data (an INSERT), or the SQL as the body when body is nil. It returns
// the answer's body, which the caller must close.
func (c *Cluster) do(ctx context.Context, sql string, body io.Reader) (io.ReadCloser, error) {
	params := url.Values{}
	params.Set("database", c.database())
	// The server answers only once the query ends, so an error is an
	// HTTP status, not a message after rows already sent with 200.
	params.Set("wait_end_of_query", "1")
	for k, v := range c.Settings {
		params.Set(k, v)
	}
	if body != nil {
		params.Set("query", sql)
	} else {
		body = strings.NewReader(sql)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+"/?"+params.Encode(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCluster, c.URL, err)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("clickhouse %s: %w", c.URL, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %s: %v (query: %s)", ErrCluster, c.URL, err, excerpt(sql, 200))
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		e := &ServerError{URL: c.URL, Status: resp.StatusCode, Body: excerpt(string(b), 600), Query: excerpt(sql, 200)}
		if m := codeRE.FindSubmatch(b); m != nil {
			e.Code, _ = strconv.Atoi(string(m[1]))
		}
		return nil, e
	}
	return resp.Body, nil
}

// Exec runs a statement that returns no rows (DDL, INSERT ... SELECT).
func (c *Cluster) Exec(ctx context.Context, sql string) error {
	body, err := c.do(ctx, sql, nil)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

// Insert runs an INSERT whose data, in the format the SQL names, is read
// from data.
func (c *Cluster) Insert(ctx context.Context, sql string, data io.Reader) error {
	body, err := c.do(ctx, sql, data)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

// Field is one value of a result row: its text as ClickHouse's
// TabSeparated format writes it, unescaped, or Null.
type Field struct {
	Text string
	Null bool
}

// Rows runs a query and returns every row's fields. The query must not
// name a FORMAT: Rows reads TabSeparated.
func (c *Cluster) Rows(ctx context.Context, sql string) ([][]Field, error) {
	body, err := c.do(ctx, sql+"\nFORMAT TabSeparated", nil)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var rows [][]Field
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<30)
	for sc.Scan() {
		row, err := parseTSVRow(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%w: %s: row %d: %v (query: %s)", ErrServer, c.URL, len(rows)+1, err, excerpt(sql, 200))
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: reading the answer: %v", ErrServer, c.URL, err)
	}
	return rows, nil
}

// Query runs a query and returns the first column of every row, as text
// (a member query's customer keys, in the order the server gives them).
// A NULL in the first column is an error.
func (c *Cluster) Query(ctx context.Context, sql string) ([]string, error) {
	rows, err := c.Rows(ctx, sql)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		if r[0].Null {
			return nil, fmt.Errorf("%w: %s: row %d: the first column is NULL (query: %s)", ErrServer, c.URL, i+1, excerpt(sql, 200))
		}
		keys[i] = r[0].Text
	}
	return keys, nil
}

// parseTSVRow splits one line of TabSeparated output into fields and
// unescapes them: \N alone is NULL; \b \f \r \n \t \0 stand for their
// bytes and a backslash before any other byte for that byte.
func parseTSVRow(line []byte) ([]Field, error) {
	var fields []Field
	for {
		end := bytes.IndexByte(line, '\t')
		raw := line
		if end >= 0 {
			raw = line[:end]
		}
		f, err := unescapeTSV(raw)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
		if end < 0 {
			return fields, nil
		}
		line = line[end+1:]
	}
}

func unescapeTSV(raw []byte) (Field, error) {
	if string(raw) == `\N` {
		return Field{Null: true}, nil
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return Field{Text: string(raw)}, nil
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ch != '\\' {
			b.WriteByte(ch)
			continue
		}
		i++
		if i == len(raw) {
			return Field{}, errors.New("a field ends in a lone backslash")
		}
		switch raw[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		default:
			b.WriteByte(raw[i])
		}
	}
	return Field{Text: b.String()}, nil
}

// Check verifies that every shard's server answers and is the shard its
// place in Shards says: in the cluster's config on that server, the
// cluster has len(Shards) shards of one replica, and the local one is
// shard_num i+1.
func (c *Cluster) Check(ctx context.Context) error {
	if len(c.Shards) == 0 {
		return fmt.Errorf("%w: no shards", ErrCluster)
	}
	for i := range c.Shards {
		s := c.Shard(i)
		rows, err := s.Rows(ctx, "SELECT shard_num, replica_num, is_local FROM system.clusters WHERE cluster = "+Quote(c.name())+" ORDER BY shard_num, replica_num")
		if err != nil {
			return fmt.Errorf("%w: shard %d: %w", ErrCluster, i+1, err)
		}
		var local []string
		for _, r := range rows {
			if r[2].Text == "1" {
				local = append(local, r[0].Text)
			}
		}
		if len(rows) != len(c.Shards) || len(local) != 1 || local[0] != strconv.Itoa(i+1) {
			return fmt.Errorf("%w: %s: cluster %s has %d replicas on this server, local shard(s) %v; want %d shards of one replica, this one shard %d",
				ErrCluster, s.URL, c.name(), len(rows), local, len(c.Shards), i+1)
		}
	}
	return nil
}

// StartOptions configures Start.
type StartOptions struct {
	// Script is the path of .ci/clickhouse.sh.
	Script string
	// Dir is the folder for the servers' configs, data and logs; "" means
	// a new temporary folder. Stop removes it.
	Dir string
}

// Start starts a private two-shard cluster with the script, on free
// loopback ports, and returns it with the function that stops it. The
// script installs ClickHouse first when it is missing (as root, with
// apt-get). Its output goes to stderr.
func Start(ctx context.Context, opts StartOptions) (c *Cluster, stop func() error, err error) {
	script, err := filepath.Abs(opts.Script)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(script); err != nil {
		return nil, nil, fmt.Errorf("%w: the start script: %v", ErrCluster, err)
	}
	dir := opts.Dir
	if dir == "" {
		parent, err := os.MkdirTemp("", "segmentkit-ch-")
		if err != nil {
			return nil, nil, err
		}
		// The script chowns dir to the clickhouse user, which needs to
		// reach it: a folder of its own inside the private one.
		if err := os.Chmod(parent, 0o755); err != nil {
			return nil, nil, err
		}
		dir = filepath.Join(parent, "cluster")
		defer func() {
			if err != nil {
				os.RemoveAll(parent)
			}
		}()
	}
	ports, err := freePorts(6)
	if err != nil {
		return nil, nil, err
	}
	env := append(os.Environ(),
		"SEGMENTKIT_CH_DIR="+dir,
		fmt.Sprintf("SEGMENTKIT_CH_HTTP_PORTS=%d %d", ports[0], ports[1]),
		fmt.Sprintf("SEGMENTKIT_CH_TCP_PORTS=%d %d", ports[2], ports[3]),
		fmt.Sprintf("SEGMENTKIT_CH_INTERSERVER_PORTS=%d %d", ports[4], ports[5]),
	)
	run := func(ctx context.Context, arg string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "bash", script, arg)
		cmd.Env, cmd.Stderr = env, os.Stderr
		return cmd.Output()
	}
	out, err := run(ctx, "start")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s start: %v (its messages are above)", ErrCluster, script, err)
	}
	vars := parseExports(string(out))
	c = &Cluster{URL: vars[EnvURL], Shards: strings.Fields(vars[EnvShards])}
	stop = func() error {
		// A server waits for its clients' keep-alive connections to close
		// before it exits.
		c.client().CloseIdleConnections()
		_, err := run(context.Background(), "stop")
		if opts.Dir == "" {
			os.RemoveAll(filepath.Dir(dir))
		}
		return err
	}
	if c.URL == "" || len(c.Shards) == 0 {
		_ = stop()
		return nil, nil, fmt.Errorf("%w: %s start printed no %s and %s: %q", ErrCluster, script, EnvURL, EnvShards, out)
	}
	return c, stop, nil
}

// parseExports reads the lines export NAME='value' that the script prints.
func parseExports(out string) map[string]string {
	vars := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
		if ok {
			vars[name] = strings.Trim(value, "'")
		}
	}
	return vars
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment
// ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// Open returns the cluster the environment names (FromEnv) or, without
// one, a private one started with Start; stop is a no-op for the first.
// The cluster is checked (Check) before it is returned.
func Open(ctx context.Context, opts StartOptions) (c *Cluster, stop func() error, err error) {
	c, ok, err := FromEnv()
	if err != nil {
		return nil, nil, err
	}
	stop = func() error { return nil }
	if !ok {
		if c, stop, err = Start(ctx, opts); err != nil {
			return nil, nil, err
		}
	}
	if err := c.Check(ctx); err != nil {
		_ = stop()
		return nil, nil, err
	}
	return c, stop, nil
}
