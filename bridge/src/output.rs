//! How the command line prints its reports: a table for people, JSON for programs. Each
//! report type implements [`Report`] beside its definition.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
}

pub trait Report: Serialize {
    /// The report as lines of text, each ending in a newline.
    fn table(&self) -> String;

    fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Prints `report` to standard output in `format`.
pub fn print(report: &impl Report, format: Format) {
    match format {
        Format::Table => print!("{}", report.table()),
        Format::Json => println!("{}", report.json()),
    }
}

/// Milliseconds as seconds with one decimal, as every table shows durations and times.
pub fn seconds(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

/// The value, or `-` when there is none.
pub fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or("-".into(), |v| v.to_string())
}

/// `s` cut to `width` characters, the last one an ellipsis when cut.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        s.chars()
            .take(width - 1)
            .chain(std::iter::once('…'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("KMeans", 10), "KMeans");
        assert_eq!(truncate("LogisticRegression", 8), "Logisti…");
    }
}
