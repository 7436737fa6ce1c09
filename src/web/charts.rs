//! The charts of the runs page, drawn on the server as SVG (plotters' SVG backend; text is
//! written as SVG `<text>`, so no font files are read and nothing is fetched).
//!
//! Each series differs by more than its colour, so the charts read in greyscale and to people
//! who do not tell the colours apart: the size lines have their own dash pattern and marker,
//! the change bars their own lightness (dark removed, mid added, light changed) with a black
//! outline.

use plotters::prelude::*;

use crate::store::timeline::Timeline;
use crate::store::RunInfo;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 300;

/// A day of UTC time, for axis labels.
fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// How each size line is drawn: colour, dash (none for the first) and marker.
const LINE_COLORS: [RGBColor; 4] = [
    RGBColor(0x21, 0x66, 0xac),
    RGBColor(0xb2, 0x18, 0x2b),
    RGBColor(0x1b, 0x78, 0x37),
    RGBColor(0x54, 0x27, 0x88),
];

/// The catalog's size per type after each run, over time.
pub fn sizes_svg(t: &Timeline) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = draw_sizes(&root, t);
        let _ = root.present();
    }
    svg
}

fn draw_sizes(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, t: &Timeline) -> Drawn {
    root.fill(&WHITE)?;
    let (first, last) = match (t.runs.first(), t.runs.last()) {
        (Some(f), Some(l)) => (f.0.finished_at_ms, l.0.finished_at_ms),
        _ => return nothing_yet(root),
    };
    // One run, or runs within a minute: widen the axis to a day either side.
    let pad = if last - first < 60_000 {
        86_400_000
    } else {
        (last - first) / 20
    };
    let top = t
        .runs
        .iter()
        .flat_map(|(_, sizes)| sizes.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut chart = ChartBuilder::on(root)
        .caption("Images in the catalog, per type", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((first - pad)..(last + pad), y_range(top))?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|ms| date(*ms))
        .x_desc("run finished (UTC)")
        .y_desc("images")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, name) in t.types.iter().enumerate() {
        let color = LINE_COLORS[i % LINE_COLORS.len()];
        let style = color.stroke_width(2);
        let points: Vec<(i64, i64)> = t
            .runs
            .iter()
            .map(|(p, sizes)| (p.finished_at_ms, sizes[i]))
            .collect();
        let label = crate::output::sanitize(name);
        let series = match i % 3 {
            0 => chart.draw_series(LineSeries::new(points.clone(), style))?,
            1 => chart.draw_series(DashedLineSeries::new(points.clone(), 8, 5, style))?,
            _ => chart.draw_series(DashedLineSeries::new(points.clone(), 2, 4, style))?,
        };
        series.label(label).legend(move |(x, y)| {
            EmptyElement::at((x + 10, y))
                + PathElement::new(vec![(-10, 0), (10, 0)], color.stroke_width(2))
                + marker(i, color)
        });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| EmptyElement::at(p) + marker(i, color)),
        )?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// What a chart shows before the mirror has a committed run.
fn nothing_yet(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Drawn {
    root.draw(&Text::new(
        "no committed run yet",
        (20, 40),
        ("sans-serif", 16).into_font(),
    ))?;
    Ok(())
}

/// The image-count axis: up to `top` with an eighth above it for the legend.
fn y_range(top: i64) -> std::ops::Range<i64> {
    0..(top + top / 8 + 1)
}

/// The series' legend, boxed, at `at`.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    at: SeriesLabelPosition,
) -> Drawn {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The marker of size line `i`: a circle, a triangle, a cross, a square.
fn marker<DB: DrawingBackend>(i: usize, color: RGBColor) -> DynElement<'static, DB, (i32, i32)> {
    match i % 4 {
        0 => Circle::new((0, 0), 4, color.filled()).into_dyn(),
        1 => TriangleMarker::new((0, 0), 5, color.filled()).into_dyn(),
        2 => Cross::new((0, 0), 4, color.stroke_width(2)).into_dyn(),
        _ => Rectangle::new([(-3, -3), (3, 3)], color.filled()).into_dyn(),
    }
}

/// Added, changed and removed images per committed run: three bars a run, oldest run left.
pub fn changes_svg(runs: &[&RunInfo]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = draw_changes(&root, runs);
        let _ = root.present();
    }
    svg
}

/// The kinds of change, with the lightness that tells them apart without colour.
const KINDS: [(&str, RGBColor); 3] = [
    ("added", RGBColor(0x1b, 0x78, 0x37)),
    ("changed", RGBColor(0xfd, 0xb8, 0x63)),
    ("removed", RGBColor(0x67, 0x00, 0x1f)),
];

fn draw_changes(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    runs: &[&RunInfo],
) -> Drawn {
    root.fill(&WHITE)?;
    if runs.is_empty() {
        return nothing_yet(root);
    }
    let counts = |r: &RunInfo| [r.added, r.changed, r.removed];
    let top = runs
        .iter()
        .flat_map(|r| counts(r))
        .max()
        .unwrap_or(0)
        .max(1);
    let n = runs.len();
    let finished: Vec<String> = runs
        .iter()
        .map(|r| {
            r.finished_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        })
        .collect();
    let mut chart = ChartBuilder::on(root)
        .caption("Changes per run", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y_range(top))?;
    chart
        .configure_mesh()
        .x_labels(n.min(6))
        .y_labels(6)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            finished.get(i as usize).cloned().unwrap_or_default()
        })
        .x_desc("run finished (UTC)")
        .y_desc("images")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let width = 0.8 / 3.0;
    for (k, (name, color)) in KINDS.iter().enumerate() {
        let color = *color;
        chart
            .draw_series(runs.iter().enumerate().flat_map(|(i, r)| {
                let x0 = i as f64 - 0.4 + k as f64 * width;
                let v = counts(r)[k];
                [
                    Rectangle::new([(x0, 0), (x0 + width, v)], color.filled()),
                    Rectangle::new([(x0, 0), (x0 + width, v)], BLACK.stroke_width(1)),
                ]
            }))?
            .label(*name)
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + Rectangle::new([(0, -5), (12, 5)], color.filled())
                    + Rectangle::new([(0, -5), (12, 5)], BLACK.stroke_width(1))
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunPoint;

    #[test]
    fn a_size_chart_has_dates_a_legend_and_escaped_labels() {
        let day = 86_400_000;
        let t = Timeline {
            types: vec!["BUILD_IN".into(), "<b>".into()],
            runs: (0..3)
                .map(|i| {
                    let p = RunPoint {
                        run_id: i + 1,
                        finished_at_ms: 1_768_800_000_000 + i * day,
                    };
                    (p, vec![10 + i, 5])
                })
                .collect(),
        };
        let svg = sizes_svg(&t);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("2026-01-"), "dates on the axis");
        assert!(svg.contains(">BUILD_IN\n<") || svg.contains("BUILD_IN"));
        assert!(!svg.contains("<b>"), "labels are escaped");
        assert!(svg.contains("&lt;b&gt;"));
    }
}
