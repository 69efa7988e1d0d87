package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// The browser tests drive the Segments page in headless Chromium against a
// server over a demo catalog whose history ends now, as a person would:
// they click, type and hover, and compare what the page shows with what
// the catalog and the engine compute. They need Chromium (Debian's
// chromium package, or SEGMENTKIT_CHROMIUM naming the binary); without it
// they fail. Screenshots go to SEGMENTKIT_SCREENSHOTS, or a temporary
// folder.

// chromiumPath returns the Chromium binary to drive, failing the test
// when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SEGMENTKIT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the browser tests need Chromium: install it (apt-get install chromium) or set SEGMENTKIT_CHROMIUM to its binary")
	return ""
}

// page is a Chromium tab on the test server, with what it logged.
type page struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu       sync.Mutex
	errors   []string // uncaught exceptions and console errors
	external []string // requests to anywhere but the test server
	// downloads maps a download's GUID to its state.
	downloads map[string]browser.DownloadProgressState
}

func newPage(t *testing.T, base string) *page {
	t.Helper()
	shots := os.Getenv("SEGMENTKIT_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Headless,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	p := &page{t: t, ctx: ctx, base: base, shots: shots, downloads: map[string]browser.DownloadProgressState{}}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			u := e.Request.URL
			if !strings.HasPrefix(u, base+"/") && u != base && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
				p.mu.Lock()
				p.external = append(p.external, u)
				p.mu.Unlock()
			}
		}
	}))
	require.NoError(t, chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok {
			p.mu.Lock()
			p.downloads[e.GUID] = e.State
			p.mu.Unlock()
		}
	}))
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			// Answers such as 409 for a preview of a segment never
			// refreshed are the API's, shown on the page; the browser
			// logs them as network errors.
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				p.mu.Lock()
				p.errors = append(p.errors, m.String())
				p.mu.Unlock()
			}
		}
	}()
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	return p
}

// run runs actions, failing the test on an error.
func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.shot("failure")
		p.t.Fatalf("browser: %v", err)
	}
}

// evalAs evaluates a JavaScript expression into a T.
func evalAs[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.shot("failure")
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text returns the text of the element sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	return evalAs[string](p, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// waitFor polls the JavaScript condition until it holds.
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!(function(){ try { return (%s); } catch (e) { return false; } })()`, cond)))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || p.ctx.Err() != nil {
			status, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('status-msg').textContent`))
			errBox, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('error-box').textContent`))
			p.shot("failure")
			p.t.Fatalf("waiting for %s (%s): timed out (status %q, error box %q, err %v)", what, cond, status, errBox, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shot saves a full-page screenshot as NAME.png.
func (p *page) shot(name string) {
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(p.shots, name+".png"), buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
	}
}

// view saves a screenshot of the viewport, scrolled to the element sel,
// as NAME.png.
func (p *page) view(name, sel string) {
	p.t.Helper()
	p.run(chromedp.ScrollIntoView(chromedp.CSS(sel)))
	p.capture(name)
}

// capture saves a screenshot of the viewport as NAME.png.
func (p *page) capture(name string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	require.NoError(p.t, err)
	require.NoError(p.t, os.WriteFile(filepath.Join(p.shots, name+".png"), buf, 0o644))
}

// click clicks the element sel.
func (p *page) click(sel string) {
	p.t.Helper()
	p.run(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeIn replaces the text of the input sel by typing text.
func (p *page) typeIn(sel, text string) {
	p.t.Helper()
	ok := evalAs[bool](p, fmt.Sprintf(`(function(){ const e = document.querySelector(%q); if (!e) return false; e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, sel))
	require.True(p.t, ok, "no element %s", sel)
	p.run(chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// choose sets the select sel to value as a person choosing it would: the
// value changes and a change event follows.
func (p *page) choose(sel, value string) {
	p.t.Helper()
	ok := evalAs[bool](p, fmt.Sprintf(`(function(){ const e = document.querySelector(%q); if (!e || ![...e.options].some(o => o.value === %q)) return false; e.focus(); e.value = %q; e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value, value))
	require.True(p.t, ok, "select %s has no option %q", sel, value)
}

// rowNames returns the names of the segments list's rows, in order.
func (p *page) rowNames() []string {
	p.t.Helper()
	return evalAs[[]string](p, `[...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)`)
}

// listNames returns the names the catalog lists with opts.
func listNames(t *testing.T, cat *catalog.Catalog, opts catalog.ListOptions) []string {
	t.Helper()
	segs, err := cat.List(opts)
	require.NoError(t, err)
	var names []string
	for _, s := range segs {
		names = append(names, s.Name)
	}
	return names
}

// jsList writes names as a JavaScript array literal.
func jsList(names []string) string {
	b, _ := json.Marshal(names)
	return string(b)
}

// evalMembers evaluates a definition with the engine at asOf and returns
// its members' customer keys.
func evalMembers(t *testing.T, ctx context.Context, src catalog.Source, cat *catalog.Catalog, def []byte, asOf time.Time) []string {
	t.Helper()
	d, err := segment.Parse(def)
	require.NoError(t, err)
	snap, release, err := src.Snapshot(ctx)
	require.NoError(t, err)
	defer release()
	opts := engine.Options{}
	if refs := d.Refs(); len(refs) > 0 {
		opts.Segments = map[string]*roaring.Bitmap{}
		for _, r := range refs {
			bm, err := cat.MembersIn(ctx, r.Name, snap)
			require.NoError(t, err)
			opts.Segments[r.Name] = bm
		}
	}
	plan, err := engine.Compile(d, snap, opts)
	require.NoError(t, err)
	bm, err := plan.Eval(ctx, asOf)
	require.NoError(t, err)
	keys := make([]string, 0, bm.GetCardinality())
	for it := bm.Iterator(); it.HasNext(); {
		keys = append(keys, snap.CustomerKey(it.Next()))
	}
	slices.Sort(keys)
	return keys
}

// browserEnv is a server over a fresh demo catalog whose history ends now.
type browserEnv struct {
	cat *catalog.Catalog
	src *catalog.DirSource
	url string
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	return newBrowserEnvWith(t, Options{})
}

// newBrowserEnvWith is newBrowserEnv with server options.
func newBrowserEnvWith(t *testing.T, opts Options) *browserEnv {
	t.Helper()
	root := t.TempDir()
	d, err := WriteDemo(t.Context(), root, 2000, time.Now().UTC())
	require.NoError(t, err)
	src := catalog.NewDirSource(d.Dir, storage.Options{})
	cat, err := catalog.Open(d.Catalog, catalog.Options{Source: src})
	require.NoError(t, err)
	opts.Catalog, opts.Source, opts.ReloadInterval = cat, src, -1
	srv, err := New(t.Context(), opts)
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		cat.Close()
		src.Close()
	})
	return &browserEnv{cat: cat, src: src, url: hs.URL}
}

// TestBrowserSegments is the page's story: the list sorted and searched,
// a segment's trend, tooltip and preview, a new segment built with a
// related condition and an OR (a misspelt attribute shown at its row,
// then fixed), its estimate, save, activation, refresh and CSV download,
// and a quick segment.
func TestBrowserSegments(t *testing.T) {
	start := time.Now()
	ctx := t.Context()
	e := newBrowserEnv(t)
	p := newPage(t, e.url)
	cat := e.cat

	// The list.
	p.run(chromedp.Navigate(e.url + "/"))
	p.waitFor("the page to start", `document.body.dataset.ready === 'true' && document.body.dataset.view === 'list'`)
	want := listNames(t, cat, catalog.ListOptions{})
	p.waitFor("the list by name", fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)) === %q`, jsList(want)))
	require.Contains(t, p.text("#session-role"), "admin")
	p.shot("01-list")

	// Sort by members: the first click sorts the largest first, the
	// second the smallest first, as the catalog sorts them.
	p.click(`#segments-table th[data-sort="members"] button`)
	want = listNames(t, cat, catalog.ListOptions{Sort: catalog.SortMemberCount, Desc: true})
	p.waitFor("the list by members, largest first", fmt.Sprintf(`document.querySelector('th[data-sort="members"]').getAttribute('aria-sort') === 'descending' && JSON.stringify([...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)) === %q`, jsList(want)))
	shown := evalAs[[]int](p, `[...document.querySelectorAll('#segments-body tr[data-name] td.num')].map(td => Number(td.dataset.value))`)
	require.True(t, slices.IsSortedFunc(shown, func(a, b int) int { return b - a }), "members shown %v are not in descending order", shown)
	p.click(`#segments-table th[data-sort="members"] button`)
	want = listNames(t, cat, catalog.ListOptions{Sort: catalog.SortMemberCount})
	p.waitFor("the list by members, smallest first", fmt.Sprintf(`document.querySelector('th[data-sort="members"]').getAttribute('aria-sort') === 'ascending' && JSON.stringify([...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)) === %q`, jsList(want)))

	// Search.
	p.typeIn("#search", "escalated")
	want = listNames(t, cat, catalog.ListOptions{Sort: catalog.SortMemberCount, Search: "escalated"})
	require.Equal(t, []string{"HighValueEscalated"}, want)
	p.waitFor("the search's rows", fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)) === %q`, jsList(want)))
	p.shot("02-search")

	// The example segment's details: the trend over all time, a tooltip
	// per point equal to the history.
	const example = "HighValueEscalated"
	p.click(`#segments-body tr[data-name="HighValueEscalated"] td.name a`)
	p.waitFor("the details", `document.body.dataset.view === 'details' && document.getElementById('details-props').textContent.includes('HighValueEscalated')`)
	hist, err := cat.History(example, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, hist, DemoWeeks)
	p.click(`input[name="trend-range"][value="all"]`)
	p.waitFor("the whole trend", fmt.Sprintf(`document.getElementById('trend-chart').dataset.points === '%d' && document.querySelector('#trend-chart .u-over')`, len(hist)))
	type rect struct{ Left, Top, Width, Height float64 }
	const overRect = `(function(){ const r = document.querySelector('#trend-chart .u-over').getBoundingClientRect(); return {Left: r.left, Top: r.top, Width: r.width, Height: r.height}; })()`
	over := evalAs[rect](p, overRect)
	require.Greater(t, over.Width, 100.0)
	checkTip := func(x float64, want catalog.HistoryEntry, what string) {
		t.Helper()
		p.run(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, over.Top+over.Height/2))
		p.waitFor("the tooltip at "+what, fmt.Sprintf(`!document.getElementById('trend-tooltip').hidden && document.getElementById('trend-tooltip').dataset.members === '%d'`, want.MemberCount))
		tipTime := evalAs[string](p, `document.getElementById('trend-tooltip').dataset.time`)
		got, err := time.Parse(time.RFC3339Nano, tipTime)
		require.NoError(t, err)
		require.True(t, got.Equal(want.Time), "tooltip time %s, history %s", got, want.Time)
		require.Contains(t, p.text("#trend-tooltip"), thousands(want.MemberCount)+" members")
	}
	p.run(chromedp.ScrollIntoView(chromedp.CSS("#trend-title")))
	over = evalAs[rect](p, overRect)
	checkTip(over.Left+over.Width-1, hist[len(hist)-1], "the right end")
	checkTip(over.Left+1, hist[0], "the left end")
	mid := len(hist) / 2
	xMid := over.Left + over.Width*float64(hist[mid].Time.Sub(hist[0].Time))/float64(hist[len(hist)-1].Time.Sub(hist[0].Time))
	checkTip(xMid, hist[mid], "the middle")
	p.capture("03-details-trend")
	// The keyboard reads the points too.
	p.run(chromedp.Focus(chromedp.CSS("#trend-chart")), chromedp.KeyEvent(kb.Home))
	p.waitFor("the tooltip of the first point by keyboard", fmt.Sprintf(`document.getElementById('trend-tooltip').dataset.index === '0' && document.getElementById('trend-tooltip').dataset.members === '%d'`, hist[0].MemberCount))
	// A shorter range shows fewer points: those of the last 7 days.
	p.click(`input[name="trend-range"][value="7"]`)
	week := 0
	for _, h := range hist {
		if h.Time.After(time.Now().Add(-7 * 24 * time.Hour)) {
			week++
		}
	}
	p.waitFor("the week's trend", fmt.Sprintf(`document.getElementById('trend-chart').dataset.points === '%d'`, week))

	// The preview: the first 100 members with the definition's fields.
	prev, err := cat.PreviewWith(ctx, example, 100, catalog.PreviewOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, prev.Rows)
	p.waitFor("the preview", fmt.Sprintf(`document.querySelectorAll('#preview-table tbody tr').length === %d`, len(prev.Rows)))
	header := evalAs[[]string](p, `[...document.querySelectorAll('#preview-table thead th')].map(th => th.textContent)`)
	var cols []string
	for _, c := range prev.Columns {
		cols = append(cols, c.Name)
	}
	require.Equal(t, cols, header)
	firstRow := evalAs[[]string](p, `[...document.querySelectorAll('#preview-table tbody tr:first-child td')].map(td => td.textContent)`)
	lastRow := evalAs[[]string](p, `[...document.querySelectorAll('#preview-table tbody tr:last-child td')].map(td => td.textContent)`)
	require.Equal(t, prev.Rows[0], firstRow)
	require.Equal(t, prev.Rows[len(prev.Rows)-1], lastRow)
	p.view("04-details-preview", "#preview-title")

	// The builder: a related condition (an aggregate over web orders) OR
	// a customer attribute.
	p.click(`a[href="#/"]`)
	p.waitFor("the list", `document.body.dataset.view === 'list'`)
	p.click("#new-segment")
	p.waitFor("the builder", `document.body.dataset.view === 'builder' && document.querySelector('#groups .cond.pred input.attr')`)
	const name = "WebSpendersOrVip"
	p.typeIn("#b-name", name)
	p.typeIn("#b-display", "Web spenders or VIP")
	top := `#groups > .group > .block.top`
	p.typeIn(top+` > .items > .cond.pred input.attr`, "IsVip")
	p.waitFor("the boolean operators", fmt.Sprintf(`[...document.querySelector(%q).options].some(o => o.value === 'isTrue')`, top+` > .items > .cond.pred select.operator`))
	p.choose(top+` > .items > .cond.pred select.operator`, "isTrue")
	p.click(top + ` > .add button.add-condition`)
	p.waitFor("a second condition", fmt.Sprintf(`document.querySelectorAll(%q).length === 2`, top+` > .items > .cond`))
	p.choose(top+` > .items > .cond:last-child select.entity`, "Order")
	rel := top + ` > .items > .cond.related`
	p.waitFor("the related condition", fmt.Sprintf(`document.querySelector(%q)`, rel+` .where .cond.pred input.attr`))
	wherePred := rel + ` .where .cond.pred`
	// A misspelt attribute: the problem shows at its row, with the
	// nearest name.
	p.typeIn(wherePred+` input.attr`, "Chanel")
	p.typeIn(wherePred+` input.value1`, "web")
	p.waitFor("the misspelling's problem at its row", fmt.Sprintf(`document.getElementById('view-builder').dataset.pending === 'false' && document.querySelector(%q).textContent.includes('"Chanel"') && document.querySelector(%q).textContent === 'Use Channel'`, wherePred+` .row-problems`, wherePred+` .row-problems button.suggestion`))
	problemPaths := evalAs[[]string](p, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(li => li.dataset.path)`, wherePred+` .row-problems li`))
	require.Equal(t, []string{"groups[0].condition.and[1].where.attribute"}, problemPaths)
	require.Equal(t, "false", attr(p, "#view-builder", "data-valid"))
	require.NotContains(t, p.text("#builder-problems"), "Chanel", "the problem is shown at its row, not at the top")
	p.shot("05-builder-problem")
	// Fixed with the suggestion.
	p.click(wherePred + ` .row-problems button.suggestion`)
	p.waitFor("the fixed attribute", fmt.Sprintf(`document.querySelector(%q).value === 'Channel' && document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'true'`, wherePred+` input.attr`))
	p.choose(rel+` > .inline select.match`, "aggregate")
	p.waitFor("the aggregate", fmt.Sprintf(`document.querySelector(%q)`, rel+` .aggregate select.fn`))
	p.choose(rel+` .aggregate select.fn`, "sum")
	p.typeIn(rel+` .aggregate input.aggAttr`, "Amount")
	p.choose(rel+` .aggregate select.operator`, "greaterThanOrEqual")
	p.typeIn(rel+` .aggregate input.value1`, "300")
	p.click(top + ` > .block-head input[value="or"]`)
	// A second group takes out two countries.
	p.click("#add-group")
	second := `#groups > .group:nth-child(2)`
	p.waitFor("the second group", fmt.Sprintf(`document.querySelector(%q)`, second+` .cond.pred input.attr`))
	p.choose(second+` select.setop`, "except")
	p.typeIn(second+` .cond.pred input.attr`, "Country")
	p.choose(second+` .cond.pred select.operator`, "in")
	p.typeIn(second+` .cond.pred input.value1`, "BR, JP")
	p.waitFor("a valid definition", `document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'true' && document.getElementById('estimate').dataset.members !== undefined`)
	require.Empty(t, strings.TrimSpace(p.text("#builder-problems")))

	// The JSON the builder wrote, and the estimate equal to the engine's
	// count at the estimate's as-of instant.
	p.click("#tab-json")
	defText := evalAs[string](p, `document.getElementById('json-text').value`)
	var def struct {
		Name   string `json:"name"`
		Groups []struct {
			Condition struct {
				Or []map[string]any `json:"or"`
			} `json:"condition"`
		} `json:"groups"`
	}
	require.NoError(t, json.Unmarshal([]byte(defText), &def), defText)
	require.Equal(t, name, def.Name)
	require.Len(t, def.Groups, 2)
	var groups struct {
		Groups []map[string]any `json:"groups"`
	}
	require.NoError(t, json.Unmarshal([]byte(defText), &groups))
	require.Equal(t, map[string]any{"setOperator": "except", "condition": map[string]any{"attribute": "Customer.Country", "operator": "in", "value": []any{"BR", "JP"}}}, groups.Groups[1])
	require.Len(t, def.Groups[0].Condition.Or, 2, defText)
	require.Equal(t, "Customer.IsVip", def.Groups[0].Condition.Or[0]["attribute"])
	require.Equal(t, "Order", def.Groups[0].Condition.Or[1]["related"])
	require.Equal(t, map[string]any{"function": "sum", "attribute": "Order.Amount"}, def.Groups[0].Condition.Or[1]["aggregate"])
	require.Equal(t, map[string]any{"attribute": "Order.Channel", "operator": "equals", "value": "web"}, def.Groups[0].Condition.Or[1]["where"])
	p.click("#tab-builder")
	p.waitFor("the builder again", fmt.Sprintf(`!document.getElementById('builder-pane').hidden && document.querySelector(%q)`, rel+` .aggregate input.aggAttr`))
	p.waitFor("the estimate again", `document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('estimate').dataset.members !== undefined`)
	estAsOf, err := time.Parse(time.RFC3339Nano, attr(p, "#estimate", "data-as-of"))
	require.NoError(t, err)
	members := evalMembers(t, ctx, e.src, cat, []byte(defText), estAsOf)
	require.NotEmpty(t, members)
	require.Equal(t, strconv.Itoa(len(members)), attr(p, "#estimate", "data-members"))
	p.shot("06-builder-valid")

	// Save (inactive), activate, refresh.
	p.click("#b-save")
	p.waitFor("the new segment's details", fmt.Sprintf(`document.body.dataset.view === 'details' && document.getElementById('details-props').textContent.includes(%q)`, name))
	s, err := cat.Get(name)
	require.NoError(t, err)
	require.Equal(t, catalog.Inactive, s.State)
	require.Contains(t, p.text("#details-badges"), "inactive")
	p.click("#details-activate")
	p.waitFor("the activation's refresh", `document.getElementById('details-badges').textContent.includes('active') && !document.getElementById('details-badges').textContent.includes('inactive') && document.getElementById('details-badges').textContent.includes('successful')`)
	s, err = cat.Get(name)
	require.NoError(t, err)
	require.Equal(t, catalog.Active, s.State)
	require.Equal(t, uint64(len(members)), s.MemberCount)
	p.waitFor("the members shown", fmt.Sprintf(`document.getElementById('details-members').dataset.value === '%d'`, len(members)))
	p.click("#details-refresh")
	p.waitFor("the refresh", `/job \d+ successful/.test(document.getElementById('status-msg').textContent) && document.querySelectorAll('#jobs-table tbody tr[data-job]').length === 2`)
	h2, err := cat.History(name, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, h2, 2)
	p.click(`input[name="trend-range"][value="7"]`)
	p.waitFor("the new segment's trend", `document.getElementById('trend-chart').dataset.points === '2'`)
	p.shot("07-new-segment")

	// Download as CSV: the file the browser saves holds the members the
	// engine evaluates, as the catalog writes them.
	dl := t.TempDir()
	yes := true
	_, err = chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &yes})
	require.NoError(t, err)
	p.click("#details-download")
	var file string
	deadline := time.Now().Add(30 * time.Second)
	for file == "" {
		p.mu.Lock()
		for guid, state := range p.downloads {
			if state == browser.DownloadProgressStateCompleted {
				file = filepath.Join(dl, guid)
			}
		}
		p.mu.Unlock()
		require.False(t, time.Now().After(deadline), "the download did not complete")
		time.Sleep(50 * time.Millisecond)
	}
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	var wantCSV bytes.Buffer
	require.NoError(t, cat.Download(ctx, name, &wantCSV, nil))
	require.Equal(t, wantCSV.String(), string(got))
	recs, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(recs), 1)
	var keys []string
	for _, r := range recs[1:] {
		keys = append(keys, r[0])
	}
	slices.Sort(keys)
	s, err = cat.Get(name)
	require.NoError(t, err)
	last, err := cat.Job(s.LastJob)
	require.NoError(t, err)
	require.Equal(t, evalMembers(t, ctx, e.src, cat, []byte(defText), last.AsOf), keys)

	// A quick segment: a country among the top values, its estimate
	// equal to that value's count, saved and activated.
	p.click(`a[href="#/"]`)
	p.waitFor("the list", `document.body.dataset.view === 'list'`)
	p.click("#quick-open")
	p.waitFor("the quick dialog's fields", `document.getElementById('quick-dialog').open && [...document.getElementById('q-field').options].some(o => o.value === 'Customer.Country')`)
	p.choose("#q-source", "profiles")
	p.waitFor("the profile fields", `[...document.getElementById('q-field').options].some(o => o.value === 'Customer.Country')`)
	p.choose("#q-field", "Customer.Country")
	p.waitFor("the top values", `document.querySelectorAll('#q-top tbody tr').length > 0`)
	topValue := evalAs[string](p, `document.querySelector('#q-top tbody tr').dataset.value`)
	topCount := evalAs[int](p, `Number(document.querySelector('#q-top tbody tr td.num').textContent.replace(/[^0-9]/g, ''))`)
	p.click(`#q-top tbody tr:first-child button.choose`)
	p.waitFor("the quick estimate", fmt.Sprintf(`document.getElementById('q-estimate').dataset.members === '%d'`, topCount))
	const quickName = "TopCountry"
	p.typeIn("#q-name", quickName)
	p.shot("08-quick-dialog")
	p.click("#q-save")
	p.waitFor("the quick segment's details", fmt.Sprintf(`document.body.dataset.view === 'details' && document.getElementById('details-props').textContent.includes(%q) && document.getElementById('details-badges').textContent.includes('successful')`, quickName))
	qs, err := cat.Get(quickName)
	require.NoError(t, err)
	require.Equal(t, catalog.Active, qs.State)
	require.Equal(t, uint64(topCount), qs.MemberCount)
	var qdef struct {
		Groups []struct {
			Condition map[string]any `json:"condition"`
		} `json:"groups"`
	}
	require.NoError(t, json.Unmarshal(qs.Definition, &qdef))
	require.Len(t, qdef.Groups, 1)
	require.Equal(t, map[string]any{"attribute": "Customer.Country", "operator": "equals", "value": topValue}, qdef.Groups[0].Condition)
	p.shot("09-quick-segment")

	p.click(`a[href="#/"]`)
	p.waitFor("the list", `document.body.dataset.view === 'list'`)
	p.run(chromedp.Click(chromedp.CSS("#search")), chromedp.KeyEvent(strings.Repeat(kb.Backspace, len("escalated"))))
	p.waitFor("the final list", fmt.Sprintf(`document.querySelectorAll('#segments-body tr[data-name]').length === %d`, len(listNames(t, cat, catalog.ListOptions{}))))
	p.shot("10-list-final")

	p.mu.Lock()
	defer p.mu.Unlock()
	require.Empty(t, p.errors, "the page logged errors")
	require.Empty(t, p.external, "the page made requests outside the server")
	t.Logf("browser story: %s; screenshots in %s", time.Since(start).Round(time.Millisecond), p.shots)
}

// attr returns an attribute of the element sel ("" when absent).
func attr(p *page, sel, name string) string {
	p.t.Helper()
	return evalAs[string](p, fmt.Sprintf(`(document.querySelector(%q) && document.querySelector(%q).getAttribute(%q)) || ""`, sel, sel, name))
}

// thousands writes n as the page does in en-US: 12,345.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestBrowserManage signs in with a token and manages segments: paging,
// the bulk actions, Refresh all, a destination and an export, a problem
// from the API shown to the user, an edit, a draft, and a viewer's page
// without the actions it may not take.
func TestBrowserManage(t *testing.T) {
	ctx := t.Context()
	e := newBrowserEnvWith(t, Options{RequireTokens: true})
	cat := e.cat
	adminToken, _, err := cat.CreateToken("ops", catalog.Admin)
	require.NoError(t, err)
	viewerToken, _, err := cat.CreateToken("analyst", catalog.Viewer)
	require.NoError(t, err)
	for i := 1; i <= 14; i++ {
		_, err := cat.Create(ctx, fmt.Appendf(nil, `{"name": "Zone%02d", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": %d}}]}`, i, 20+i), catalog.CreateOptions{})
		require.NoError(t, err)
	}
	all := listNames(t, cat, catalog.ListOptions{})
	require.Len(t, all, 21)
	p := newPage(t, e.url)

	// Tokens are required: the page asks for one.
	p.run(chromedp.Navigate(e.url + "/"))
	p.waitFor("the sign-in form", `document.body.dataset.ready === 'true' && document.body.dataset.view === 'login'`)
	p.typeIn("#login-token", "sk_wrong")
	p.click(`#login-form button[type="submit"]`)
	p.waitFor("the refusal", `!document.getElementById('error-box').hidden && document.getElementById('error-box').textContent.length > 0`)
	p.shot("11-sign-in-refused")
	p.typeIn("#login-token", adminToken)
	p.click(`#login-form button[type="submit"]`)
	p.waitFor("the list", `document.body.dataset.view === 'list' && document.querySelectorAll('#segments-body tr[data-name]').length > 0`)
	require.Equal(t, "ops", p.text("#session-name"))

	// Pages of 10.
	p.choose("#page-size", "10")
	p.waitFor("the first page", fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)) === %q && document.getElementById('page-info').textContent === '1–10 of 21'`, jsList(all[:10])))
	p.click("#page-next")
	p.waitFor("the second page", fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)) === %q`, jsList(all[10:20])))
	p.click("#page-next")
	p.waitFor("the last page", fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#segments-body tr[data-name]')].map(r => r.dataset.name)) === %q && document.getElementById('page-next').disabled`, jsList(all[20:])))
	p.click("#page-prev")
	p.waitFor("the second page again", `document.getElementById('page-info').textContent === '11–20 of 21'`)
	p.click("#page-prev")
	p.waitFor("the first page again", `document.getElementById('page-info').textContent === '1–10 of 21' && document.getElementById('page-prev').disabled`)

	// Deactivate, then activate, two selected segments.
	pair := []string{"RecentBuyers", "VipCustomers"}
	selectRows := func(names ...string) {
		t.Helper()
		for _, n := range names {
			p.click(fmt.Sprintf(`#segments-body tr[data-name=%q] input.row-select`, n))
		}
		p.waitFor("the selection", fmt.Sprintf(`document.getElementById('selection-count').textContent === '%d selected'`, len(names)))
	}
	stateOf := func(name string) catalog.State {
		t.Helper()
		s, err := cat.Get(name)
		require.NoError(t, err)
		return s.State
	}
	badges := func(names []string, state string) string {
		var conds []string
		for _, n := range names {
			conds = append(conds, fmt.Sprintf(`document.querySelector('#segments-body tr[data-name=%q] .badge').textContent === %q`, n, state))
		}
		return strings.Join(conds, " && ")
	}
	selectRows(pair...)
	p.click("#bulk-deactivate")
	p.waitFor("the deactivated rows", badges(pair, "inactive"))
	for _, n := range pair {
		require.Equal(t, catalog.Inactive, stateOf(n))
	}
	p.shot("12-bulk-deactivated")
	selectRows(pair...)
	p.click("#bulk-activate")
	p.waitFor("the activated rows", badges(pair, "active")+` && /job \d+ successful/.test(document.getElementById('status-msg').textContent)`)
	for _, n := range pair {
		require.Equal(t, catalog.Active, stateOf(n))
	}

	// Refresh two, then all.
	jobs, err := cat.Jobs(1)
	require.NoError(t, err)
	before := jobs[0].ID
	selectRows(pair...)
	p.click("#bulk-refresh")
	p.waitFor("the refresh", `/^Refresh: job \d+ successful/.test(document.getElementById('status-msg').textContent)`)
	jobs, err = cat.Jobs(1)
	require.NoError(t, err)
	require.Greater(t, jobs[0].ID, before)
	require.ElementsMatch(t, pair, jobs[0].Requested)
	p.click("#refresh-all")
	p.waitFor("the refresh of all", `/^Refresh all: job \d+ (successful|failed|skipped)/.test(document.getElementById('status-msg').textContent)`)
	jobs, err = cat.Jobs(1)
	require.NoError(t, err)
	require.True(t, jobs[0].All)
	require.Contains(t, p.text("#status-msg"), fmt.Sprintf("job %d %s.", jobs[0].ID, jobs[0].Status))

	// Delete two, after the confirmation.
	selectRows("Zone01", "Zone02")
	p.click("#bulk-delete")
	p.waitFor("the confirmation", `document.getElementById('confirm-dialog').open`)
	p.shot("13-confirm-delete")
	p.click("#confirm-ok")
	p.waitFor("the deletion", `document.getElementById('page-info').textContent === '1–10 of 19'`)
	for _, n := range []string{"Zone01", "Zone02"} {
		_, err := cat.Get(n)
		require.ErrorIs(t, err, catalog.ErrNotFound)
	}

	// A destination, and an export to it.
	p.click(`#segments-body tr[data-name="VipCustomers"] td.name a`)
	p.waitFor("the details", `document.body.dataset.view === 'details' && document.getElementById('details-props').textContent.includes('VipCustomers')`)
	out := filepath.Join(t.TempDir(), "vip.csv")
	p.click("#dest-add summary")
	p.typeIn("#dest-name", "vipfile")
	p.typeIn("#dest-to", "csv:"+out)
	p.click(`#dest-form button[type="submit"]`)
	p.waitFor("the destination", `document.querySelector('#dest-table tbody tr[data-name="vipfile"]')`)
	p.click(`#dest-table tbody tr[data-name="vipfile"] button`)
	p.waitFor("the export", `/^Export to vipfile: job \d+ successful/.test(document.getElementById('status-msg').textContent) && document.querySelectorAll('#exports-table tbody tr td').length > 1`)
	vip, err := cat.Get("VipCustomers")
	require.NoError(t, err)
	exported, err := os.ReadFile(out)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(exported)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, int(vip.MemberCount)+1)
	p.view("14-destination", "#dest-title")

	// A problem from the API: renaming onto a name that is taken.
	p.click("#details-rename")
	p.waitFor("the rename dialog", `document.getElementById('rename-dialog').open`)
	p.typeIn("#rename-name", "RecentBuyers")
	p.click("#rename-ok")
	p.waitFor("the problem", `!document.getElementById('error-box').hidden && document.querySelector('#error-box .problem').dataset.code === 'catalog.exists' && document.getElementById('error-box').textContent.includes('RecentBuyers')`)
	p.shot("15-rename-problem")
	require.Equal(t, catalog.Active, stateOf("VipCustomers"))

	// An edit: the builder shows the stored definition; the JSON mode
	// shows it as JSON; the description saved.
	p.click("#details-edit")
	p.waitFor("the builder", `document.body.dataset.view === 'builder' && document.getElementById('b-name').value === 'VipCustomers' && document.getElementById('view-builder').dataset.pending === 'false'`)
	require.Equal(t, "IsVip", evalAs[string](p, `document.querySelector('#groups .cond.pred input.attr').value`))
	p.click("#tab-json")
	var shownDef map[string]any
	require.NoError(t, json.Unmarshal([]byte(evalAs[string](p, `document.getElementById('json-text').value`)), &shownDef))
	require.Equal(t, "VipCustomers", shownDef["name"])
	p.click("#tab-builder")
	p.typeIn("#b-description", "Edited on the page.")
	p.waitFor("the check", `document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'true'`)
	p.click("#b-save")
	p.waitFor("the details", `document.body.dataset.view === 'details' && document.getElementById('details-props').textContent.includes('Edited on the page.')`)
	vip, err = cat.Get("VipCustomers")
	require.NoError(t, err)
	require.Equal(t, "Edited on the page.", vip.Description)

	// The example's definition shows in the builder (an aggregate, an
	// exists condition, an except group) and comes back from it unchanged.
	p.run(chromedp.Navigate(e.url + "/#/edit/HighValueEscalated"))
	p.waitFor("the example in the builder", `document.body.dataset.view === 'builder' && document.getElementById('b-name').value === 'HighValueEscalated' && document.getElementById('view-builder').dataset.pending === 'false'`)
	require.Equal(t, "except", evalAs[string](p, `document.querySelector('#groups > .group:nth-child(2) select.setop').value`))
	require.Equal(t, []string{"Order", "SupportCase"}, evalAs[[]string](p, `[...document.querySelectorAll('#groups > .group:first-child .cond.related > .inline select.entity')].map(s => s.value)`))
	require.Equal(t, []string{"sum", "Amount", "greaterThanOrEqual", "500"}, evalAs[[]string](p, `(function(){ const a = document.querySelector('#groups .cond.related .aggregate'); return [a.querySelector('select.fn').value, a.querySelector('input.aggAttr').value, a.querySelector('select.operator').value, a.querySelector('input.value1').value]; })()`))
	require.Equal(t, "true", attr(p, "#view-builder", "data-valid"))
	p.shot("16-builder-example")
	p.click("#tab-json")
	example, err := cat.Get("HighValueEscalated")
	require.NoError(t, err)
	var stored, fromBuilder any
	require.NoError(t, json.Unmarshal(example.Definition, &stored))
	require.NoError(t, json.Unmarshal([]byte(evalAs[string](p, `document.getElementById('json-text').value`)), &fromBuilder))
	require.Equal(t, stored, fromBuilder)

	// A draft: an invalid definition saves as a draft, which cannot be
	// activated.
	p.click(`a[href="#/"]`)
	p.waitFor("the list", `document.body.dataset.view === 'list'`)
	p.click("#new-segment")
	p.waitFor("the builder", `document.body.dataset.view === 'builder' && document.querySelector('#groups .cond.pred input.attr')`)
	p.typeIn("#b-name", "DraftOne")
	p.typeIn(`#groups .cond.pred input.attr`, "Agee")
	p.waitFor("the problem", `document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'false'`)
	p.click("#b-save")
	p.waitFor("the draft's details", `document.body.dataset.view === 'details' && document.getElementById('details-badges').textContent.includes('draft') && document.getElementById('details-activate').disabled && document.getElementById('details-problems').textContent.includes('Agee')`)
	require.Contains(t, p.text("#status-msg"), "as a draft")
	require.Equal(t, catalog.Draft, stateOf("DraftOne"))
	p.shot("17-draft")

	// A viewer sees no action it may not take.
	p.click("#sign-out")
	p.waitFor("the sign-in form", `document.body.dataset.view === 'login'`)
	p.typeIn("#login-token", viewerToken)
	p.click(`#login-form button[type="submit"]`)
	// Back where the session ended: the draft's details, without their
	// actions.
	p.waitFor("the viewer's details", `document.body.dataset.view === 'details' && document.getElementById('details-props').textContent.includes('DraftOne')`)
	for _, id := range []string{"details-edit", "details-refresh", "details-activate", "details-delete", "dest-add"} {
		require.True(t, evalAs[bool](p, fmt.Sprintf(`document.getElementById(%q).hidden`, id)), "a viewer sees #%s", id)
	}
	p.click("#nav-segments")
	p.waitFor("the viewer's list", `document.body.dataset.view === 'list' && document.querySelectorAll('#segments-body tr[data-name]').length > 0`)
	for _, id := range []string{"new-segment", "quick-open", "bulk-refresh", "bulk-delete", "refresh-all"} {
		require.True(t, evalAs[bool](p, fmt.Sprintf(`document.getElementById(%q).hidden`, id)), "a viewer sees #%s", id)
	}
	require.Equal(t, "viewer", p.text("#session-role"))
	p.shot("18-viewer")

	p.mu.Lock()
	defer p.mu.Unlock()
	require.Empty(t, p.errors, "the page logged errors")
	require.Empty(t, p.external, "the page made requests outside the server")
}

// TestBrowserAnalyses uses the page's analyses as a person would: a
// segment's inspection, whose last running size is its members; the
// explanation of a member and of a customer who is not one; and the
// overlap of two segments selected in the list, equal to the catalog's.
func TestBrowserAnalyses(t *testing.T) {
	ctx := t.Context()
	e := newBrowserEnv(t)
	p := newPage(t, e.url)
	cat := e.cat
	const example = "HighValueEscalated"
	seg, err := cat.Get(example)
	require.NoError(t, err)
	require.Positive(t, seg.MemberCount)

	p.run(chromedp.Navigate(e.url + "/#/segments/" + example))
	p.waitFor("the inspection", `document.querySelector('#inspect-table')`)
	running := evalAs[[]string](p, `[...document.querySelectorAll('#inspect-table td[data-testid="running"]')].map(td => td.textContent)`)
	require.NotEmpty(t, running)
	require.Equal(t, thousands(uint64(seg.MemberCount)), running[len(running)-1], "the last running size is the segment's members")
	p.view("21-inspection", "#inspect-title")

	prev, err := cat.PreviewWith(ctx, example, 1, catalog.PreviewOptions{})
	require.NoError(t, err)
	member := prev.Rows[0][0]
	p.typeIn("#explain-key", member)
	p.click(`#explain-form button[type="submit"]`)
	p.waitFor("the member's explanation", `document.querySelector('#explain-out [data-testid="verdict"]')`)
	require.Equal(t, "Customer "+member+" is a member.", p.text(`#explain-out [data-testid="verdict"]`))
	require.Contains(t, p.text("#explain-out"), "rows match")
	p.view("22-explain", "#explain-title")
	p.typeIn("#explain-key", "nobody-at-all")
	p.click(`#explain-form button[type="submit"]`)
	p.waitFor("the unknown key's problem", `document.getElementById('explain-out').textContent.includes('nobody-at-all')`)

	// The overlap of two segments selected in the list.
	names := []string{example, "VipCustomers"}
	p.run(chromedp.Navigate(e.url + "/#/"))
	p.waitFor("the list", `document.body.dataset.view === 'list' && document.querySelector('#segments-body tr[data-name="VipCustomers"]')`)
	for _, n := range names {
		p.click(fmt.Sprintf(`#segments-body tr[data-name=%q] input.row-select`, n))
	}
	p.waitFor("the overlap button", `!document.getElementById('bulk-overlap').disabled`)
	p.click("#bulk-overlap")
	p.waitFor("the overlap", `document.querySelectorAll('#overlap-table tbody tr').length === 4`)
	ov, err := cat.Overlap(ctx, names, analysis.OverlapOptions{})
	require.NoError(t, err)
	// The page asks for the segments in the order they were selected.
	counts := evalAs[[]string](p, `[...document.querySelectorAll('#overlap-table tbody tr')].map(tr => tr.children[1].textContent)`)
	want := make([]string, len(ov.Regions))
	for i, r := range ov.Regions {
		want[i] = thousands(r.Count)
	}
	require.Equal(t, want, counts)
	p.choose("#overlap-by", "Customer.Country")
	p.waitFor("the breakdown", `document.querySelectorAll('#overlap-table thead th').length > 5`)
	p.view("23-overlap", "#overlap-title")
}

// TestBrowserDifferentiators asks the page what sets a segment apart, as a
// person would: against all customers and against another segment chosen
// in the list, the attributes ranked and scored as the catalog ranks and
// scores them, with the values that drive them.
func TestBrowserDifferentiators(t *testing.T) {
	ctx := t.Context()
	e := newBrowserEnv(t)
	p := newPage(t, e.url)
	cat := e.cat
	const example = "HighValueEscalated"
	p.run(chromedp.Navigate(e.url + "/#/segments/" + example))
	p.waitFor("the comparison form", `!document.getElementById('apart-form').hidden && document.querySelector('#apart-against option[value="VipCustomers"]')`)
	for _, against := range []string{"", "VipCustomers"} {
		p.choose("#apart-against", against)
		p.click(`#apart-form button[type="submit"]`)
		want, err := cat.Differentiators(ctx, example, catalog.DifferentiatorsOptions{Against: against})
		require.NoError(t, err)
		p.waitFor("the differentiators", fmt.Sprintf(`document.querySelectorAll('#apart-table tbody tr').length === %d && document.getElementById('apart-out').textContent.includes(%q)`,
			len(want.Attributes), map[string]string{"": "all ", "VipCustomers": "against VipCustomers"}[against]))
		attrs := evalAs[[]string](p, `[...document.querySelectorAll('#apart-table tbody tr')].map(tr => tr.dataset.attribute)`)
		scores := evalAs[[]string](p, `[...document.querySelectorAll('#apart-table td[data-testid="score"]')].map(td => td.textContent)`)
		for i, a := range want.Attributes {
			require.Equal(t, a.Attribute, attrs[i], "against %q", against)
			require.Equal(t, fmt.Sprintf("%.3f", a.Score), scores[i], "%s against %q", a.Attribute, against)
		}
		top := want.Attributes[0]
		row := p.text(fmt.Sprintf(`#apart-table tr[data-attribute=%q]`, top.Attribute))
		if top.Statistic == analysis.TotalVariation {
			require.Contains(t, row, top.Values[0].Value)
		} else {
			require.Contains(t, row, "Mean ")
			require.Contains(t, row, "at or below "+top.KSAt)
		}
		if against == "" {
			p.view("24-differentiators", "#apart-title")
		}
	}
	// A segment never refreshed has nothing to compare yet.
	p.run(chromedp.Navigate(e.url + "/#/segments/YoungShoppers"))
	p.waitFor("the refresh hint", `document.getElementById('apart-form').hidden && document.getElementById('apart-out').textContent.includes('Refresh the segment')`)
}

// TestBrowserEditPreview previews an edit in the segment editor before
// saving it, as a person would: the counts and sample keys of the
// customers it would add and remove are the catalog's PreviewEdit, nothing
// is saved, an edit of the definition clears the stale preview, a
// definition with a problem shows it, and a new segment has no preview.
func TestBrowserEditPreview(t *testing.T) {
	ctx := t.Context()
	e := newBrowserEnv(t)
	p := newPage(t, e.url)
	cat := e.cat
	before, err := cat.Get("VipCustomers")
	require.NoError(t, err)

	p.run(chromedp.Navigate(e.url + "/#/edit/VipCustomers"))
	p.waitFor("the editor", `document.body.dataset.view === 'builder' && document.getElementById('b-name').value === 'VipCustomers' && document.getElementById('view-builder').dataset.pending === 'false' && !document.getElementById('b-preview-edit').hidden`)
	p.click("#tab-json")
	edited := `{"name": "VipCustomers", "groups": [{"condition": {"and": [{"attribute": "Customer.IsVip", "operator": "isTrue"}, {"attribute": "Customer.Country", "operator": "notEquals", "value": "US"}]}}, {"setOperator": "union", "condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": 75}}]}`
	p.typeIn("#json-text", edited)
	p.waitFor("the check", `document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'true'`)
	p.click("#b-preview-edit")
	p.waitFor("the preview", `document.querySelector('#b-edit-preview [data-testid="edit-summary"]')`)
	want, err := cat.PreviewEdit(ctx, "VipCustomers", []byte(edited), catalog.EditPreviewOptions{Samples: 10})
	require.NoError(t, err)
	require.Positive(t, want.Added)
	require.Positive(t, want.Removed)
	require.Contains(t, p.text(`#b-edit-preview [data-testid="edit-summary"]`), fmt.Sprintf("Not saved: %s members", thousands(want.Members)))
	require.Contains(t, p.text(`#b-edit-preview [data-testid="edit-summary"]`), fmt.Sprintf("against its %s current members", thousands(want.Current)))
	added, removed := p.text(`#b-edit-preview [data-testid="edit-added"]`), p.text(`#b-edit-preview [data-testid="edit-removed"]`)
	require.True(t, strings.HasPrefix(added, "Would add: "+thousands(want.Added)), added)
	require.True(t, strings.HasPrefix(removed, "Would remove: "+thousands(want.Removed)), removed)
	require.Contains(t, added, strings.Join(want.AddedKeys, ", "))
	require.Contains(t, removed, strings.Join(want.RemovedKeys, ", "))
	p.view("25-edit-preview", "#b-edit-preview")
	after, err := cat.Get("VipCustomers")
	require.NoError(t, err)
	require.Equal(t, before.Definition, after.Definition, "a preview saves nothing")
	require.Equal(t, before.MemberCount, after.MemberCount)

	// An edit after the preview makes it stale: it is cleared.
	p.typeIn("#json-text", `{"name": "VipCustomers", "groups": [{"condition": {"attribute": "Customer.Countr", "operator": "equals", "value": "US"}}]}`)
	p.waitFor("the stale preview cleared", `document.getElementById('b-edit-preview').children.length === 0`)
	// A definition with a problem: the preview shows it.
	p.waitFor("the check", `document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'false'`)
	p.click("#b-preview-edit")
	p.waitFor("the problem", `document.getElementById('b-edit-preview').textContent.includes('Countr')`)

	// A new segment has nothing to compare with.
	p.run(chromedp.Navigate(e.url + "/#/new"))
	p.waitFor("the new segment's builder", `document.body.dataset.view === 'builder' && document.getElementById('b-name').value === ''`)
	require.True(t, evalAs[bool](p, `document.getElementById('b-preview-edit').hidden`))
}
