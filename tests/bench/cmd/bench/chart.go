package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// targetColors are the bar colors of qualtrics, kv and floor.
var targetColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

// panel is one bar chart of the figure: one group of bars per metric key, one bar per plugin.
type panel struct {
	Title  string
	YLabel string
	Keys   []string
	Groups []string
	// Legend is drawn in this panel only.
	Legend bool
}

// writeChart draws the medians of start-up, memory, cached-read throughput and p50 latency as
// four grouped bar charts in one PNG.
func writeChart(path string, r *report) error {
	var rpsKeys, groups []string
	for _, c := range concurrencies {
		rpsKeys = append(rpsKeys, fmt.Sprintf("rps_c%d", c))
		groups = append(groups, callers(c))
	}
	reads := fmt.Sprintf("after %d reads", r.Settings.Reads+r.Settings.WarmupReads)
	panels := []panel{
		{"Start-up (ms, lower is better)", "ms", []string{"start_handshake_ms", "start_first_answer_ms", "exec_handshake_ms"},
			[]string{"to handshake line", "to first answer", "plugin alone:\nexec to handshake line"}, true},
		{"Resident memory (MiB, lower is better)", "MiB",
			[]string{"rss_setup_mib", "rss_reads_mib", "anon_setup_mib", "anon_reads_mib"},
			[]string{"RSS\nafter Setup", "RSS\n" + reads, "anonymous\nafter Setup", "anonymous\n" + reads}, false},
		{"Cached reads per second (higher is better)", "reads/s", rpsKeys, groups, false},
		// Latency with more callers is mostly queueing, which the throughput panel shows.
		{"Cached read latency, 1 caller (µs, lower is better)", "µs", []string{"p50_c1_us", "p99_c1_us"},
			[]string{"p50", "p99"}, false},
	}
	const cols, rows = 2, 2
	plots := make([][]*plot.Plot, rows)
	for i, pn := range panels {
		p, err := barPanel(pn, r)
		if err != nil {
			return err
		}
		plots[i/cols] = append(plots[i/cols], p)
	}

	img := vgimg.New(30*vg.Centimeter, 20*vg.Centimeter)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter / 2, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	canvases := plot.Align(plots, tiles, dc)
	for y := range plots {
		for x := range plots[y] {
			plots[y][x].Draw(canvases[y][x])
		}
	}

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func barPanel(pn panel, r *report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.Title
	p.Y.Label.Text = pn.YLabel
	p.Y.Min = 0
	width := vg.Points(14)
	top := 0.0
	for i, t := range r.Targets {
		values := make(plotter.Values, len(pn.Keys))
		for j, key := range pn.Keys {
			values[j] = r.Stats[t.Key][key].Median
			top = max(top, values[j])
		}
		bars, err := plotter.NewBarChart(values, width)
		if err != nil {
			return nil, err
		}
		bars.Color = targetColors[i%len(targetColors)]
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(i-len(r.Targets)/2) * width
		p.Add(bars)
		if pn.Legend {
			p.Legend.Add(t.Label, bars)
		}
	}
	// Headroom above the highest bar keeps the legend clear of the bars.
	p.Y.Max = top * 1.4
	p.Legend.Top = true
	p.NominalX(pn.Groups...)
	return p, nil
}
