//! Reports: the comparison table of an evaluation (Markdown), and line charts as PNG (equity
//! curves, learning curves). Chart text needs a TrueType font: the first of a few usual system
//! fonts found is used; without one, charts are drawn without text and the report says so.

use crate::ceiling::Ceiling;
use crate::evaluation::{Metrics, Run};
use anyhow::{Result, anyhow};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;

/// Fonts looked for, in order (Debian's `fonts-dejavu-core`, then others common on Linux).
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Whether chart text can be drawn (a font was found and registered), looked up once.
pub fn has_font() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        FONTS.iter().filter_map(|p| std::fs::read(p).ok()).any(|bytes| {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
        })
    })
}

/// One line of a chart.
pub struct Line<'a> {
    /// Its legend.
    pub name: &'a str,
    /// Its values, one per step of the x axis.
    pub values: &'a [f64],
}

/// One chart of a figure: a title and its lines, on one scale.
pub struct Panel<'a> {
    /// Its title.
    pub title: &'a str,
    /// Its lines.
    pub series: &'a [Line<'a>],
}

/// Height of one panel, pixels (the figure is 1000 wide).
pub const PANEL_HEIGHT: u32 = 320;

/// The panels, one above the other, each with its own scale, into the PNG `path`; the first value
/// of every line is at `first_x`, the next at `first_x + 1`, and so on.
pub fn line_chart(path: &Path, x_label: &str, first_x: f64, panels: &[Panel<'_>]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let root =
        BitMapBackend::new(path, (1000, PANEL_HEIGHT * panels.len().max(1) as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    for (area, panel) in root.split_evenly((panels.len().max(1), 1)).iter().zip(panels) {
        draw_panel(area, (x_label, first_x), panel).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    (x_label, first_x): (&str, f64),
    panel: &Panel<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let series = panel.series;
    let finite = || series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite());
    let (lo, hi) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo < hi {
        (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let len = series.iter().map(|s| s.values.len()).max().unwrap_or(0).max(2);
    let text = has_font();
    let mut builder = ChartBuilder::on(area);
    builder.margin(14);
    if text {
        builder.caption(panel.title, ("sans-serif", 20)).x_label_area_size(34).y_label_area_size(70);
    }
    let mut chart = builder.build_cartesian_2d(first_x..first_x + (len - 1) as f64, lo..hi)?;
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc(x_label);
    } else {
        mesh.disable_x_mesh().disable_y_mesh().x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    for (k, s) in series.iter().enumerate() {
        let colour = Palette99::pick(k).to_rgba().stroke_width(2);
        let points =
            s.values.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, &v)| (first_x + i as f64, v));
        let line = chart.draw_series(LineSeries::new(points, colour))?;
        if text {
            line.label(s.name).legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
        }
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()?;
    }
    Ok(())
}

fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:+.3} %", 100.0 * x) } else { "–".into() }
}

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() { format!("{x:.digits$}") } else { "–".into() }
}

/// The mark after an agent whose price P&L exceeds its funding P&L.
pub const PRICE_FLAG: &str = "⚑";

/// The comparison table of `runs` (each with its figures) and, below them, the `ceiling` of the
/// same books with each agent's share of it, in Markdown; a note under it explains
/// [`PRICE_FLAG`] when an agent carries it.
pub fn table(runs: &[(&Run, Metrics)], ceiling: &Ceiling) -> String {
    let mut out = String::from(
        "| agent | config | total | annual | of ceiling | Sharpe | Sortino | max DD | Calmar | trades/day \
         | win rate | profit factor | hold h | funding $ | price $ | fees $ | liq. | util. | HOLD/ENTER/EXIT |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut flagged = false;
    let share = |pnl: f64| {
        if ceiling.profit() > 0.0 { format!("{:.0} %", 100.0 * pnl / ceiling.profit()) } else { "–".into() }
    };
    for (run, m) in runs {
        let mix = m.action_mix.map(|x| format!("{:.0}", 100.0 * x));
        let noise = m.price > m.funding && run.entries > 0;
        flagged |= noise;
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:+.2} | {:+.2} | {:.2} | {} | {:.1} % | {} % |",
            run.agent,
            if noise { format!(" {PRICE_FLAG}") } else { String::new() },
            run.config,
            pct(m.total_return),
            pct(m.annual_return),
            share(m.funding + m.price - m.fees),
            num(m.sharpe, 2),
            num(m.sortino, 2),
            pct(m.max_drawdown).trim_start_matches('+'),
            num(m.calmar, 2),
            num(m.trades_per_day, 2),
            if m.win_rate.is_finite() { format!("{:.0} %", 100.0 * m.win_rate) } else { "–".into() },
            num(m.profit_factor, 2),
            num(m.holding_hours, 1),
            m.funding,
            m.price,
            m.fees,
            m.liquidations,
            100.0 * m.utilization,
            mix.join("/"),
        );
    }
    if let Some((run, _)) = runs.first() {
        let capital = run.equity[0];
        let _ = writeln!(
            out,
            "| ceiling | {} | {} | – | 100 % | – | – | – | – | {} trades | – | – | – | {:+.2} | – | {:.2} | – | – | – |",
            run.config,
            pct(ceiling.profit() / capital),
            ceiling.trades,
            ceiling.funding,
            ceiling.fees,
        );
    }
    if flagged {
        let _ = writeln!(
            out,
            "\n{PRICE_FLAG} price P&L above funding P&L: the agent earned from price moves between the \
             venues' hourly bars, not from funding; such a result does not carry over to a live book."
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_a_png_of_the_asked_size() {
        let path = std::env::temp_dir().join(format!("arbpolicy-chart-{}.png", std::process::id()));
        let a = [1.0, 2.0, 1.5, f64::NAN, 3.0];
        let top = [Line { name: "a", values: &a }, Line { name: "b", values: &[2.0; 5] }];
        let bottom = [Line { name: "c", values: &[f64::NAN; 3] }];
        let panels = [Panel { title: "top", series: &top }, Panel { title: "bottom", series: &bottom }];
        line_chart(&path, "hour", 0.0, &panels).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, after the signature, length and type.
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 1000);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 2 * PANEL_HEIGHT);
    }
}
