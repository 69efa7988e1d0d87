package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressDelay is how long loading runs before a progress bar appears: a
// load that ends sooner shows nothing.
const progressDelay = time.Second

// loadProgress shows a progress bar on a terminal while a slow load runs.
// Its methods are safe for concurrent use, should the loader report from
// several goroutines.
type loadProgress struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	delay   time.Duration
	// throttle is the least time between two redraws.
	throttle time.Duration
	start    time.Time
	now      func() time.Time
	bar      *progressbar.ProgressBar
	entity   string
}

func newLoadProgress(w io.Writer) *loadProgress {
	return &loadProgress{w: w, enabled: isTerminal(w), delay: progressDelay, throttle: 100 * time.Millisecond, start: time.Now(), now: time.Now}
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

// report is the storage.Options.Progress callback.
func (p *loadProgress) report(entity string, rows, bytesRead, bytesTotal int64) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		if p.now().Sub(p.start) < p.delay {
			return
		}
		total := bytesTotal
		if total <= 0 {
			total = -1 // unknown size: a spinner
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("loading "+entity),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(p.throttle),
			progressbar.OptionClearOnFinish(),
		)
		p.entity = entity
	}
	if entity != p.entity {
		p.entity = entity
		p.bar.Reset()
		p.bar.Describe("loading " + entity)
	}
	if bytesTotal > 0 {
		p.bar.ChangeMax64(bytesTotal)
		_ = p.bar.Set64(bytesRead)
	} else {
		_ = p.bar.Set64(rows)
	}
}

// done removes the bar, if one is shown.
func (p *loadProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
		p.bar = nil
	}
}
