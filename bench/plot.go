package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writePlot draws round-trip latency and one-way throughput against
// payload size, one line per contender, side by side, into a PNG.
func writePlot(r *report, path string) error {
	// The legends go where the lines are not: latency rises to the right,
	// throughput too.
	left, err := r.sizePlot("Round trip p50 (lower is better)", "microseconds", true, func(size int) string { return rtMetric("p50", size) })
	if err != nil {
		return err
	}
	right, err := r.sizePlot("One-way throughput (higher is better)", "MB/s", false, func(size int) string { return owMetric("mbs", size) })
	if err != nil {
		return err
	}
	const width, height = 30 * vg.Centimeter, 13 * vg.Centimeter
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%w: plot: %w", errReport, err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: plot: %w", errReport, err)
	}
	return f.Close()
}

// sizePlot is one log-log plot of metric(size) for every contender.
func (r *report) sizePlot(title, unit string, legendTopLeft bool, metric func(int) string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "payload size"
	p.Y.Label.Text = unit
	var lines []any
	for _, c := range r.cols {
		var pts plotter.XYs
		for _, size := range r.cfg.sizes {
			if v, ok := r.res.med(metric(size), c.key); ok && v > 0 {
				pts = append(pts, plotter.XY{X: float64(size), Y: v})
			}
		}
		if len(pts) > 0 {
			lines = append(lines, c.name, pts)
		}
	}
	if len(lines) == 0 {
		// A run that measured none of it (-work, -sizes): an empty panel
		// that says so, on linear axes, since a log axis cannot span
		// no values.
		p.Title.Text += ": not measured in this run"
		return p, nil
	}
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	var ticks plot.ConstantTicks
	for _, size := range r.cfg.sizes {
		ticks = append(ticks, plot.Tick{Value: float64(size), Label: sizeName(size)})
	}
	p.X.Tick.Marker = ticks
	p.Legend.Top, p.Legend.Left = legendTopLeft, legendTopLeft
	p.Add(plotter.NewGrid())
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, fmt.Errorf("%w: plot: %w", errReport, err)
	}
	return p, nil
}
