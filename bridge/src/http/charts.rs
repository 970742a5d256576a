//! The run page's charts, drawn as inline SVG (no script, no asset to fetch). Times are
//! seconds since the run started.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::runs::RunView;

const SIZE: (u32, u32) = (860, 320);
const EXECUTORS: RGBColor = RGBColor(31, 119, 180);
const TARGET: RGBColor = RGBColor(214, 39, 40);
const FINISH: RGBColor = RGBColor(44, 160, 44);
const PREDICTED: RGBColor = RGBColor(255, 127, 14);
const JOB_BAND: RGBColor = RGBColor(225, 230, 240);

fn seconds(view: &RunView, ms: i64) -> f64 {
    view.since_start(ms) as f64 / 1000.0
}

/// The x range: the run, and the target when it lies beyond.
fn time_axis(view: &RunView) -> f64 {
    let mut end = seconds(view, view.until_ms);
    if view.detail.summary.is_adaptive {
        end = end.max(view.detail.summary.target_runtime_ms as f64 / 1000.0);
    }
    (end * 1.05).max(1.0)
}

/// A chart with both axes in seconds or counts.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame both charts share: caption, margins, axes from 0 to the maxima.
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    caption: &str,
    x_max: f64,
    y_max: f64,
) -> Result<Chart<'a, 'b>, String> {
    ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(chart_error)
}

/// Executors over time, each job as a band, the target and the actual finish as lines.
pub fn executors_chart(view: &RunView) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let x_max = time_axis(view);
        let y_max = view.executors.iter().map(|p| p.1).max().unwrap_or(1).max(1) as f64 * 1.25;
        let mut chart = frame(&root, "Executors over time", x_max, y_max)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the start")
            .y_desc("executors")
            .disable_x_mesh()
            .draw()
            .map_err(chart_error)?;
        let bands = view.detail.jobs.iter().filter_map(|job| {
            let start = seconds(view, job.start_ms?);
            let end = seconds(view, job.end_ms.unwrap_or(view.until_ms));
            Some(Rectangle::new(
                [(start, 0.0), (end, y_max)],
                JOB_BAND.filled(),
            ))
        });
        chart.draw_series(bands).map_err(chart_error)?;
        let mut steps: Vec<(f64, f64)> = Vec::new();
        for &(t, n) in &view.executors {
            let t = seconds(view, t);
            if let Some(&(_, previous)) = steps.last() {
                steps.push((t, previous));
            }
            steps.push((t, f64::from(n)));
        }
        if let Some(&(_, last)) = steps.last() {
            steps.push((seconds(view, view.until_ms), last));
        }
        chart
            .draw_series(LineSeries::new(steps, EXECUTORS.stroke_width(2)))
            .map_err(chart_error)?
            .label("executors")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], EXECUTORS.stroke_width(2)));
        if view.detail.summary.is_adaptive {
            let target = view.detail.summary.target_runtime_ms as f64 / 1000.0;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    [(target, 0.0), (target, y_max)],
                    TARGET.stroke_width(2),
                )))
                .map_err(chart_error)?
                .label("target")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], TARGET.stroke_width(2)));
        }
        if let Some(end) = view.detail.summary.end_ms {
            let end = seconds(view, end);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    [(end, 0.0), (end, y_max)],
                    FINISH.stroke_width(2),
                )))
                .map_err(chart_error)?
                .label("finish")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], FINISH.stroke_width(2)));
        }
        legend(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// After each job, when the bridge predicted the run would end, against the target and the
/// actual finish. None when no job carries a prediction (profiling runs, `noop`).
pub fn predictions_chart(view: &RunView) -> Result<Option<String>, String> {
    let points: Vec<(f64, f64)> = view
        .detail
        .jobs
        .iter()
        .filter_map(|job| {
            Some((
                seconds(view, job.end_ms?),
                seconds(view, job.predicted_end_ms?),
            ))
        })
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    let summary = &view.detail.summary;
    let target = summary.target_runtime_ms as f64 / 1000.0;
    let finish = summary.end_ms.map(|end| seconds(view, end));
    let x_max = time_axis(view);
    let y_max = points
        .iter()
        .map(|p| p.1)
        .chain([target])
        .chain(finish)
        .fold(1.0, f64::max)
        * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = frame(&root, "Predicted finish after each job", x_max, y_max)?;
        chart
            .configure_mesh()
            .x_desc("job ended at (s)")
            .y_desc("predicted finish (s)")
            .draw()
            .map_err(chart_error)?;
        let horizontal = |y: f64, color: RGBColor| {
            std::iter::once(PathElement::new(
                [(0.0, y), (x_max, y)],
                color.stroke_width(2),
            ))
        };
        chart
            .draw_series(horizontal(target, TARGET))
            .map_err(chart_error)?
            .label("target")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], TARGET.stroke_width(2)));
        if let Some(finish) = finish {
            chart
                .draw_series(horizontal(finish, FINISH))
                .map_err(chart_error)?
                .label("actual finish")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], FINISH.stroke_width(2)));
        }
        chart
            .draw_series(LineSeries::new(points.clone(), PREDICTED.stroke_width(1)))
            .map_err(chart_error)?;
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, PREDICTED.filled())),
            )
            .map_err(chart_error)?
            .label("predicted finish")
            .legend(|(x, y)| Circle::new((x + 8, y), 4, PREDICTED.filled()));
        legend(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(Some(svg))
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(chart_error)
}

fn chart_error<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing a chart: {e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::view::tests::detail;

    #[test]
    fn the_executors_chart_has_the_step_line_the_target_and_the_finish() {
        let svg = executors_chart(&RunView::of(detail(Some(121_000)))).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for label in ["Executors over time", "executors", "target", "finish"] {
            assert!(svg.contains(label), "no '{label}' in the chart");
        }
        assert!(svg.contains("<polyline"));
    }

    #[test]
    fn the_predictions_chart_needs_a_prediction() {
        let mut d = detail(Some(121_000));
        assert_eq!(predictions_chart(&RunView::of(d.clone())).unwrap(), None);
        d.jobs[0].predicted_end_ms = Some(130_000);
        let svg = predictions_chart(&RunView::of(d)).unwrap().unwrap();
        assert!(svg.contains("predicted finish") && svg.contains("<circle"));
    }
}
