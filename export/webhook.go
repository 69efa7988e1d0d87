package export

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v5"
)

// Defaults of WebhookOptions, and the bound on a server's Retry-After.
const (
	// DefaultWebhookTimeout bounds one request when WebhookOptions.Timeout
	// is zero.
	DefaultWebhookTimeout = 30 * time.Second
	// DefaultWebhookMaxTries is the number of requests per batch, the
	// first included, when WebhookOptions.MaxTries is zero.
	DefaultWebhookMaxTries = 5
	// DefaultWebhookInitialBackoff is the wait before the first retry when
	// WebhookOptions.InitialBackoff is zero.
	DefaultWebhookInitialBackoff = 500 * time.Millisecond
	// DefaultWebhookMaxBackoff bounds the wait between tries when
	// WebhookOptions.MaxBackoff is zero.
	DefaultWebhookMaxBackoff = 30 * time.Second
	// MaxRetryAfter bounds the wait a server asks for with Retry-After: a
	// longer one is cut to it (the try after it may well be answered with
	// another 429, and counts against MaxTries).
	MaxRetryAfter = 5 * time.Minute
)

// quoted matches a quoted part of an error message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// excerptLen is how many bytes of a response body an error quotes.
const excerptLen = 200

// WebhookOptions adjusts NewWebhook. The zero value is useful: 5 tries a
// batch, 30 s a request, backoff from 500 ms up to 30 s.
type WebhookOptions struct {
	// Client sends the requests; nil means a client with Timeout. The
	// webhook uses a shallow copy whose redirect policy follows only
	// redirects that keep the POST (307, 308): any other 3xx answer is an
	// error, never a GET that would pass for an acknowledgement.
	Client *http.Client
	// Timeout bounds each request, from sending to the end of the answer
	// (a stalled server counts as a failed try); zero means
	// DefaultWebhookTimeout.
	Timeout time.Duration
	// MaxTries is the number of requests sent for one batch before the
	// export fails, the first included; zero means
	// DefaultWebhookMaxTries.
	MaxTries int
	// InitialBackoff is the wait before the first retry; the wait grows
	// by half at each retry, with a jitter of ±50%, up to MaxBackoff.
	// Zero means DefaultWebhookInitialBackoff.
	InitialBackoff time.Duration
	// MaxBackoff bounds the wait between tries computed by backoff; zero
	// means DefaultWebhookMaxBackoff. A server's Retry-After (on 429 and
	// 503, in seconds or as an HTTP date) replaces the computed wait and
	// is honoured up to MaxRetryAfter.
	MaxBackoff time.Duration
	// Headers are added to every request (an Authorization header, for
	// instance). Content-Type and Idempotency-Key are always the
	// webhook's; User-Agent is "segmentkit" unless Headers sets one.
	// String never shows them.
	Headers http.Header
	// Sleep waits d between tries, returning ctx's error if ctx ends
	// first; nil means a timer. Tests set it to record the waits without
	// waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// webhook is the Destination NewWebhook returns. It is safe for
// concurrent use: each Open makes a writer of its own.
type webhook struct {
	raw      string // the URL requests go to, secrets included
	shown    string // the URL without userinfo and query values
	client   *http.Client
	timeout  time.Duration
	tries    int
	initial  time.Duration
	maxWait  time.Duration
	headers  http.Header
	sleep    func(ctx context.Context, d time.Duration) error
	hasAgent bool
	// secrets are the parts of the URL String hides (the user part, the
	// query values), masked in what a server's answer quotes too: an
	// error page may echo the request's URL.
	secrets []string
}

var _ Destination = (*webhook)(nil)

// NewWebhook returns a destination that POSTs each batch of an export to
// rawURL as one JSON document:
//
//	{"segment": "...", "export": "<export id>", "mode": "full" | "delta",
//	 "batch": <seq>, "rows": [{"CustomerId": "C1", "Email": "...", ...}, ...]}
//
// each row as Header.AppendJSONRow writes it (in a delta, with its
// "change"), with the headers Content-Type: application/json,
// Idempotency-Key: the batch's key, and User-Agent: segmentkit. A batch
// counts as delivered when the server answers 2xx; 5xx, 408, 429, network
// errors and timeouts are retried with exponential backoff and jitter,
// the same bytes under the same Idempotency-Key, until opts.MaxTries
// requests were sent; any other answer fails the export at once. Its
// writers implement Acknowledger.
//
// The URL must be http or https with a host; otherwise the error wraps
// ErrDestination. NewWebhook does not contact the server, nor does Open:
// an empty export sends nothing.
func NewWebhook(rawURL string, opts WebhookOptions) (Destination, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL, secrets included
		}
		// The error quotes the part that does not parse ("invalid port
		// \":secret\" after host"), which may be a password, and so may
		// be what looks like a host: the URL is not shown either.
		return nil, fmt.Errorf("%w: webhook URL does not parse: %s", ErrDestination, quoted.ReplaceAllString(err.Error(), `"..."`))
	}
	shown := redactURL(u)
	switch {
	case u.Scheme == "":
		return nil, fmt.Errorf("%w: webhook URL %q has no scheme: want http:// or https://", ErrDestination, shown)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: webhook URL %q: the scheme is %q, want http or https", ErrDestination, shown, u.Scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w: webhook URL %q has no host", ErrDestination, shown)
	}
	for name, v := range map[string]time.Duration{"timeout": opts.Timeout, "initial backoff": opts.InitialBackoff, "maximum backoff": opts.MaxBackoff} {
		if v < 0 {
			return nil, fmt.Errorf("%w: webhook %s: negative %s %v", ErrDestination, shown, name, v)
		}
	}
	if opts.MaxTries < 0 {
		return nil, fmt.Errorf("%w: webhook %s: negative number of tries %d", ErrDestination, shown, opts.MaxTries)
	}
	w := &webhook{
		raw:     rawURL,
		shown:   shown,
		timeout: orDefault(opts.Timeout, DefaultWebhookTimeout),
		tries:   opts.MaxTries,
		initial: orDefault(opts.InitialBackoff, DefaultWebhookInitialBackoff),
		maxWait: orDefault(opts.MaxBackoff, DefaultWebhookMaxBackoff),
		headers: http.Header{},
		sleep:   opts.Sleep,
	}
	if w.tries == 0 {
		w.tries = DefaultWebhookMaxTries
	}
	if w.initial > w.maxWait {
		w.initial = w.maxWait
	}
	if w.sleep == nil {
		w.sleep = sleepCtx
	}
	for k, vs := range opts.Headers {
		for _, v := range vs {
			w.headers.Add(k, v) // canonical names, a copy of the caller's
		}
	}
	w.hasAgent = w.headers.Get("User-Agent") != ""
	w.secrets = urlSecrets(u)
	var c http.Client
	if opts.Client != nil {
		c = *opts.Client
	} else {
		c.Timeout = w.timeout
	}
	userPolicy := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Method != http.MethodPost {
			// 301, 302 and 303 turn the POST into a GET without the body.
			return http.ErrUseLastResponse
		}
		if userPolicy != nil {
			return userPolicy(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	w.client = &c
	return w, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// redactURL returns u without userinfo and fragment, each query value
// replaced by "xxxxx" (as url.URL.Redacted shows a password).
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	c.ForceQuery = false
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=xxxxx"
			} else {
				parts[i] = "xxxxx"
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return c.String()
}

// minSecret is the length from which a URL's hidden part is masked in a
// server's answer: shorter values ("1", "on") would mask common text and
// tell little.
const minSecret = 4

// urlSecrets returns the parts of u that redactURL hides, as written and
// decoded, longest first (so that a secret holding another is masked
// whole).
func urlSecrets(u *url.URL) []string {
	var out []string
	add := func(v string) {
		if len(v) >= minSecret && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if u.User != nil {
		add(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
	}
	for _, p := range strings.Split(u.RawQuery, "&") {
		_, v, ok := strings.Cut(p, "=")
		if !ok {
			v = p
		}
		add(v)
		if d, err := url.QueryUnescape(v); err == nil {
			add(d)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// String returns "webhook:" and the URL without userinfo, with query
// values replaced by "xxxxx".
func (w *webhook) String() string { return "webhook:" + w.shown }

// Open starts an export. It does not contact the server.
func (w *webhook) Open(_ context.Context, h *Header) (Writer, error) {
	if h == nil || h.Schema == nil {
		return nil, fmt.Errorf("%w: webhook %s: no header", ErrDelivery, w.shown)
	}
	if h.Mode != Full && h.Mode != Delta {
		return nil, fmt.Errorf("%w: webhook %s: %v", ErrMode, w.shown, h.Mode)
	}
	prefix := append([]byte(nil), `{"segment":`...)
	prefix = AppendJSONString(prefix, h.Segment)
	prefix = append(prefix, `,"export":`...)
	prefix = AppendJSONString(prefix, h.ID)
	prefix = append(prefix, `,"mode":`...)
	prefix = AppendJSONString(prefix, h.Mode.String())
	prefix = append(prefix, `,"batch":`...)
	return &webhookWriter{d: w, h: h, prefix: prefix}, nil
}

// webhookWriter sends one export's batches. Write, Commit and Abort are
// called from one goroutine; Stats may be called from any.
type webhookWriter struct {
	d      *webhook
	h      *Header
	prefix []byte
	body   []byte // reused from batch to batch
	done   bool

	mu    sync.Mutex
	stats Stats
}

var _ Acknowledger = (*webhookWriter)(nil)

// AcknowledgesBatches marks the writer as an Acknowledger: Write returns
// once the server acknowledged the batch.
func (w *webhookWriter) AcknowledgesBatches() {}

// Write POSTs the batch and returns when the server answered 2xx. The
// error wraps ErrDelivery when the server refused the batch or the tries
// ran out, and ctx's error when ctx ended first.
func (w *webhookWriter) Write(ctx context.Context, b *Batch) error {
	if w.done {
		return fmt.Errorf("webhook %s: batch %d written after the export ended", w.d.shown, b.Seq)
	}
	w.body = w.encode(w.body[:0], b)
	return w.deliver(ctx, b, w.body)
}

// encode appends the batch's JSON document to buf.
func (w *webhookWriter) encode(buf []byte, b *Batch) []byte {
	buf = append(buf, w.prefix...)
	buf = strconv.AppendUint(buf, b.Seq, 10)
	buf = append(buf, `,"rows":[`...)
	for row := range int(b.Record.NumRows()) {
		if row > 0 {
			buf = append(buf, ',')
		}
		buf = w.h.AppendJSONRow(buf, b.Record, row)
	}
	return append(buf, "]}"...)
}

// answer is the outcome of one request.
type answer struct {
	status     int    // 0 when no answer came
	statusText string // "503 Service Unavailable"
	excerpt    string // the start of the body, quoted, on one line
	retryAfter time.Duration
	hasAfter   bool
	err        error // a network error or timeout, when status is 0
}

func (a answer) String() string {
	if a.status == 0 {
		return "error: " + a.err.Error()
	}
	return "answer: " + a.statusText + ", body " + a.excerpt
}

func (a answer) retryable() bool {
	switch {
	case a.status == 0:
		var cert *tls.CertificateVerificationError
		return !errors.As(a.err, &cert)
	case a.status == http.StatusRequestTimeout, a.status == http.StatusTooManyRequests:
		return true
	}
	return a.status >= 500
}

// deliver sends body until the server acknowledges it or the tries run
// out.
func (w *webhookWriter) deliver(ctx context.Context, b *Batch, body []byte) error {
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     w.d.initial,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          backoff.DefaultMultiplier,
		MaxInterval:         w.d.maxWait,
	}
	bo.Reset()
	where := fmt.Sprintf("webhook %s: batch %d (Idempotency-Key %s)", w.d.shown, b.Seq, b.Key)
	for try := 1; ; try++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		a := w.post(ctx, b.Key, body)
		w.mu.Lock()
		w.stats.Tries++
		w.stats.Bytes += int64(len(body))
		if a.status >= 200 && a.status < 300 {
			w.stats.Batches++
			w.stats.Rows += b.Record.NumRows()
			w.mu.Unlock()
			return nil
		}
		w.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if !a.retryable() {
			return fmt.Errorf("%w: %s refused, not retried; %v", ErrDelivery, where, a)
		}
		if try >= w.d.tries {
			return fmt.Errorf("%w: %s not acknowledged after %d %s; last %v", ErrDelivery, where, try, plural(try, "try", "tries"), a)
		}
		wait := min(bo.NextBackOff(), w.d.maxWait)
		if a.hasAfter {
			wait = min(a.retryAfter, MaxRetryAfter)
		}
		if err := w.d.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// post sends one request, bounded by the webhook's timeout.
func (w *webhookWriter) post(ctx context.Context, key string, body []byte) answer {
	rctx, cancel := context.WithTimeout(ctx, w.d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.d.raw, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	for k, vs := range w.d.headers {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if !w.d.hasAgent {
		req.Header.Set("User-Agent", "segmentkit")
	}
	resp, err := w.d.client.Do(req)
	if err != nil {
		return answer{err: w.transportError(err)}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, statusText: statusText(resp)}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Acknowledged; drain a little so that the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return a
	}
	// Read beyond the excerpt, so that a secret the body echoes across
	// the cut is masked whole.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, excerptLen+excerptSlack))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	for _, s := range w.d.secrets {
		head = bytes.ReplaceAll(head, []byte(s), []byte("xxxxx"))
	}
	a.excerpt = excerpt(head)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		a.retryAfter, a.hasAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return a
}

// transportError describes a failed request without the URL (an
// *url.Error repeats it, query secrets included).
func (w *webhookWriter) transportError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var nerr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()) {
		return fmt.Errorf("no answer within %v", w.d.timeout)
	}
	return err
}

// excerptSlack is how much of a body is read past the excerpt.
const excerptSlack = 1 << 10

// maxReason bounds the reason phrase of a status an error quotes.
const maxReason = 64

// statusText returns the answer's status as "503 Service Unavailable":
// the code and the server's reason phrase, cut to maxReason bytes and
// stripped of what is not printable.
func statusText(resp *http.Response) string {
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	reason = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, reason)
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "..."
	}
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	return strings.TrimSpace(strconv.Itoa(resp.StatusCode) + " " + reason)
}

// excerpt returns the start of a response body as a quoted string on one
// line, white space runs collapsed, "..." marking a cut.
func excerpt(b []byte) string {
	cut := len(b) > excerptLen
	if cut {
		b = b[:excerptLen]
		// Drop a rune cut in half.
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" && !cut {
		return "empty"
	}
	q := strconv.Quote(s)
	if cut {
		q += "..."
	}
	return q
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date
// (a date past is a wait of zero).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Commit ends the export: every batch was acknowledged as it was written.
func (w *webhookWriter) Commit(context.Context) error {
	w.done = true
	return nil
}

// Abort ends the export; batches acknowledged stay delivered (a server
// cannot take them back).
func (w *webhookWriter) Abort() error {
	w.done = true
	return nil
}

// Stats returns the rows and batches acknowledged, the requests sent
// (Tries) and the bytes of their bodies. It is safe to call from any
// goroutine.
func (w *webhookWriter) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}
