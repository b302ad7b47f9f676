package main

import (
	"math"
	"strings"
	"testing"
)

func TestFormatStats(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{formatCPU(0), "0.0%"},
		{formatCPU(0.125), "12.5%"},
		{formatCPU(1.5), "150.0%"},
		{formatBytes(0), "0B"},
		{formatBytes(1023), "1023B"},
		{formatBytes(1024), "1.00KiB"},
		{formatBytes(812 << 10), "812KiB"},
		{formatBytes(45<<20 + 300<<10), "45.3MiB"},
		{formatBytes(3 << 30), "3.00GiB"},
		{formatBytes(math.MaxInt64), "8.00EiB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestStatusStatsFromAnOlderTree(t *testing.T) {
	stats, err := statusStats(2, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].sampled || stats[1].sampled || stats[0].description != "" {
		t.Errorf("stats of a version 0 reply: %+v", stats)
	}
}

func TestStatusStatsRefusesMalformedColumns(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cpus         []float64
		rss          []int64
		descriptions []string
		want         string
	}{
		{"short cpus", []float64{0}, []int64{1, 2}, nil, "malformed status: 2 names but 1 entries"},
		{"long descriptions", nil, nil, []string{"a", "b", "c"}, "malformed status: 2 names but 3 entries"},
		{"cpus without rss", []float64{0, 0}, nil, nil, "malformed status: 2 CPU shares but 0 RSS values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := statusStats(2, tc.cpus, tc.rss, tc.descriptions)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestStatusStatsIgnoresImpossibleValues(t *testing.T) {
	cpus := []float64{0.5, -1, math.NaN(), math.Inf(1), 1e300, 0.25}
	rss := []int64{1 << 20, -1, 1, 1, 1, -5}
	stats, err := statusStats(len(cpus), cpus, rss, make([]string, len(cpus)))
	if err != nil {
		t.Fatal(err)
	}
	if !stats[0].sampled || stats[0].cpu != 0.5 || stats[0].rss != 1<<20 {
		t.Errorf("a valid sample: %+v", stats[0])
	}
	for i, st := range stats[1:] {
		if st.sampled {
			t.Errorf("CPU %v, RSS %d taken as a sample", cpus[i+1], rss[i+1])
		}
	}
}
