//! The bench's picture: what each admission hop adds to a VM create (p50 solid, p99
//! dashed) against catalog size, as an SVG beside the table in docs/.

use crate::hop_bench::{Hop, HopFigures};
use anyhow::{Result, anyhow};
use plotters::prelude::*;
use std::path::Path;

/// Each hop's added p50 and p99 at concurrency 1, per catalog size.
pub type Series = Vec<(Hop, Vec<(usize, f64, f64)>)>;

/// The series of every hop but the baseline, from the figures measured at each size.
pub fn series(measured: &[(usize, Vec<(Hop, HopFigures)>)]) -> Series {
    let mut out: Series = Vec::new();
    for (size, hops) in measured {
        let Some((_, base)) = hops.iter().find(|(h, _)| *h == Hop::Baseline) else {
            continue;
        };
        for (hop, f) in hops.iter().filter(|(h, _)| *h != Hop::Baseline) {
            let point = (*size, f.c1.p50_ms - base.c1.p50_ms, f.c1.p99_ms - base.c1.p99_ms);
            match out.iter_mut().find(|(h, _)| h == hop) {
                Some((_, points)) => points.push(point),
                None => out.push((*hop, vec![point])),
            }
        }
    }
    out
}

/// Draws `series` into the SVG file `path`.
pub fn draw(series: &Series, path: &Path) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let sizes = series.iter().flat_map(|(_, p)| p.iter().map(|p| p.0 as f64));
    let (lo, hi) = sizes.fold((f64::MAX, 1.0f64), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let values = series.iter().flat_map(|(_, p)| p.iter().flat_map(|p| [p.1, p.2]));
    let (ymin, ymax) = values.fold((0.0f64, 1.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Added VM create latency at concurrency 1 (p50 solid, p99 dashed)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((lo.min(hi / 10.0)..hi * 1.5).log_scale(), ymin * 1.1..ymax * 1.1)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("images in the catalog")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("ms added over no webhook")
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (hop, points)) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        let p50: Vec<(f64, f64)> = points.iter().map(|p| (p.0 as f64, p.1)).collect();
        let p99: Vec<(f64, f64)> = points.iter().map(|p| (p.0 as f64, p.2)).collect();
        chart
            .draw_series(LineSeries::new(p50.clone(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(hop.label())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart
            .draw_series(p50.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(DashedLineSeries::new(p99, 6, 4, colour.stroke_width(1)))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
