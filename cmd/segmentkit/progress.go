package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/segmentkit/segmentkit/internal/exact"
)

// progressDelay is how long loading runs before a progress bar appears: a
// load that ends sooner shows nothing.
const progressDelay = time.Second

// loadProgress shows a progress bar on a terminal while a slow load runs:
// the entity, its share read, the rate over the whole load and the time
// since it began. Its methods are safe for concurrent use, should the
// loader report from several goroutines.
type loadProgress struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	delay   time.Duration
	// throttle is the least time between two redraws.
	throttle time.Duration
	now      func() time.Time

	start    time.Time // when the load began
	lastDraw time.Time
	drawn    int // the length of the line on screen; 0 when none
	// read is the bytes read of each entity so far: storage.Load reads
	// several at once, and their reports interleave.
	read map[string]int64
}

func newLoadProgress(w io.Writer) *loadProgress {
	p := &loadProgress{w: w, enabled: isTerminal(w), delay: progressDelay, throttle: 100 * time.Millisecond, now: time.Now}
	p.begin()
	return p
}

// isTerminal reports whether w is a character device, such as a terminal:
// a bar written to a file or a pipe would only be noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// begin starts timing a load.
func (p *loadProgress) begin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.lastDraw = p.now(), time.Time{}
	p.read = map[string]int64{}
}

// report is the storage.Options.Progress callback.
func (p *loadProgress) report(entity string, rows, bytesRead, bytesTotal int64) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read[entity] = bytesRead
	var all int64
	for _, n := range p.read {
		all += n
	}
	now := p.now()
	elapsed := now.Sub(p.start)
	if elapsed < p.delay || now.Sub(p.lastDraw) < p.throttle {
		return
	}
	p.lastDraw = now
	p.draw(progressLine(entity, rows, bytesRead, bytesTotal, all, elapsed))
}

// progressLine is the bar's text: the bytes read of the entity against
// its size (its rows when the size is unknown), the rate of all the bytes
// read since the load began, and the time since then.
func progressLine(entity string, rows, bytesRead, bytesTotal, allRead int64, elapsed time.Duration) string {
	const width = 24
	var b strings.Builder
	fmt.Fprintf(&b, "loading %s ", entity)
	if bytesTotal > 0 {
		frac := min(float64(bytesRead)/float64(bytesTotal), 1)
		n := int(frac * width)
		fmt.Fprintf(&b, "[%s%s] %3.0f%% %s of %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac,
			formatBytes(bytesRead), formatBytes(bytesTotal))
	} else {
		fmt.Fprintf(&b, "%s rows", exact.FormatCount(rows))
	}
	if secs := elapsed.Seconds(); secs > 0 && allRead > 0 {
		fmt.Fprintf(&b, ", %s/s", formatBytes(int64(float64(allRead)/secs)))
	}
	fmt.Fprintf(&b, ", %s elapsed", elapsed.Round(100*time.Millisecond))
	return b.String()
}

// draw replaces the line on screen with line.
func (p *loadProgress) draw(line string) {
	pad := ""
	if p.drawn > len(line) {
		pad = strings.Repeat(" ", p.drawn-len(line))
	}
	io.WriteString(p.w, "\r"+line+pad)
	p.drawn = len(line)
}

// done removes the bar, if one is shown.
func (p *loadProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn > 0 {
		io.WriteString(p.w, "\r"+strings.Repeat(" ", p.drawn)+"\r")
		p.drawn = 0
	}
}
