package engine

import "time"

var asOfBench = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
