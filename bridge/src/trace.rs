//! The job-level trace format of the recorded traces (`TRACES_DIR`, docs/EVALUATION.md;
//! pipe-separated, header row, one row per job):
//! `ID|APP_ID|STARTED_AT|FINISHED_AT|APP_EVENT_ID|JOB_ID|STARTED_AT|FINISHED_AT|DURATION_MS|SCALE_OUT`.
//! Timestamps are `YYYY-MM-DD HH:MM:SS.mmm` (UTC; the fraction may be shorter).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::history::{JobRecord, JobScaleOut, RunRecord};
use crate::store::TraceRow;

pub const HEADER: &str = "ID|APP_ID|STARTED_AT|FINISHED_AT|APP_EVENT_ID|JOB_ID|STARTED_AT|FINISHED_AT|DURATION_MS|SCALE_OUT";

/// One run of a trace, with its jobs in job-id order.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRun {
    pub app_event_id: i64,
    pub app_name: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub jobs: Vec<TraceJob>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceJob {
    pub job_id: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub scale_out: u32,
}

impl TraceRun {
    pub fn runtime_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }

    /// The run as policy history (all jobs; `is_adaptive` as given).
    pub fn to_record(&self, is_adaptive: bool, target_ms: i64) -> RunRecord {
        RunRecord {
            app_event_id: self.app_event_id.to_string(),
            is_adaptive,
            start_ms: self.start_ms,
            runtime_ms: self.runtime_ms(),
            target_ms,
            jobs: self
                .jobs
                .iter()
                .map(|j| JobRecord {
                    job_id: j.job_id,
                    scale_out: j.scale_out,
                    duration_ms: j.duration_ms,
                })
                .collect(),
        }
    }
}

/// Reads and parses a trace file; errors name the file, the line and the column.
pub fn read(path: &std::path::Path) -> Result<Vec<TraceRun>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a trace; errors name the line and the column.
pub fn parse(text: &str) -> Result<Vec<TraceRun>, String> {
    let mut runs: BTreeMap<i64, TraceRun> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if line.is_empty() || (index == 0 && line.starts_with("ID|")) {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() != 10 {
            return Err(format!(
                "line {line_no}: expected 10 '|'-separated fields, found {}",
                fields.len()
            ));
        }
        let int = |i: usize, name: &str| -> Result<i64, String> {
            fields[i]
                .trim()
                .parse()
                .map_err(|_| format!("line {line_no}: {name} '{}' is not an integer", fields[i]))
        };
        let time = |i: usize, name: &str| -> Result<i64, String> {
            parse_timestamp(fields[i].trim())
                .ok_or_else(|| format!("line {line_no}: {name} '{}' is not a timestamp", fields[i]))
        };
        let app_event_id = int(4, "APP_EVENT_ID")?;
        let job = TraceJob {
            job_id: int(5, "JOB_ID")?,
            start_ms: time(6, "job STARTED_AT")?,
            end_ms: time(7, "job FINISHED_AT")?,
            duration_ms: int(8, "DURATION_MS")?,
            scale_out: u32::try_from(int(9, "SCALE_OUT")?)
                .map_err(|_| format!("line {line_no}: SCALE_OUT is negative"))?,
        };
        let run = match runs.get_mut(&app_event_id) {
            Some(run) => run,
            None => runs.entry(app_event_id).or_insert(TraceRun {
                app_event_id,
                app_name: fields[1].trim().to_string(),
                start_ms: time(2, "application STARTED_AT")?,
                end_ms: time(3, "application FINISHED_AT")?,
                jobs: Vec::new(),
            }),
        };
        run.jobs.push(job);
    }
    let mut runs: Vec<TraceRun> = runs.into_values().collect();
    for run in &mut runs {
        run.jobs.sort_by_key(|j| j.job_id);
    }
    Ok(runs)
}

/// The finished runs of application `app` in the store, in the trace format.
pub fn export(store: &crate::store::Store, app: &str) -> Result<String, String> {
    let rows = store
        .reader()
        .and_then(|r| r.trace_rows(app, JobScaleOut::Mean))
        .map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Err(format!(
            "no finished runs of '{app}' in {}",
            store.path().display()
        ));
    }
    Ok(write(&rows))
}

/// Writes rows from the store in the trace format.
pub fn write(rows: &[TraceRow]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in rows {
        let _ = writeln!(
            out,
            "{id}|{name}|{}|{}|{id}|{}|{}|{}|{}|{}",
            format_timestamp(r.app_start_ms),
            format_timestamp(r.app_end_ms),
            r.job_id,
            format_timestamp(r.job_start_ms),
            format_timestamp(r.job_end_ms),
            r.job_end_ms - r.job_start_ms,
            r.scale_out,
            id = r.app_event_id,
            name = r.app_name,
        );
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS[.f]` (UTC) to epoch milliseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let (date, time) = s.split_once([' ', 'T'])?;
    let mut d = date.split('-');
    let (year, month, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':');
    let (h, m, sec): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let digits: String = fraction.chars().take(3).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = format!("{digits:0<3}").parse().ok()?;
    Some(((days_from_civil(year, month, day) * 24 + h) * 60 + m) * 60_000 + sec * 1_000 + millis)
}

pub fn format_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1_000 % 60,
        rest % 1_000
    )
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let ms = parse_timestamp("2021-07-05 06:21:44.98").unwrap();
        assert_eq!(format_timestamp(ms), "2021-07-05 06:21:44.980");
        assert_eq!(parse_timestamp("1970-01-01 00:00:00.001"), Some(1));
        assert_eq!(
            parse_timestamp("2024-02-29 12:00:00"),
            Some(1_709_208_000_000)
        );
        assert_eq!(parse_timestamp("2024-13-01 00:00:00"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn parses_the_shared_format() {
        let text = "ID|APP_ID|STARTED_AT|FINISHED_AT|APP_EVENT_ID|JOB_ID|STARTED_AT|FINISHED_AT|DURATION_MS|SCALE_OUT\n\
            2|KMeans|2021-07-05 06:24:05.000|2021-07-05 06:30:00.000|2|1|2021-07-05 06:25:00.000|2021-07-05 06:25:01.500|1500|12\n\
            2|KMeans|2021-07-05 06:24:05.000|2021-07-05 06:30:00.000|2|0|2021-07-05 06:24:05.000|2021-07-05 06:25:00.000|55000|12\n\
            1|KMeans|2021-07-05 06:17:26.604|2021-07-05 06:24:04.928|1|0|2021-07-05 06:17:26.604|2021-07-05 06:21:44.98|258376|36\n";
        let runs = parse(text).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].app_event_id, 1);
        assert_eq!(
            runs[1].jobs.iter().map(|j| j.job_id).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(runs[1].runtime_ms(), 355_000);
        let err = parse("ID|x\n1|2|3\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn written_rows_parse_back() {
        let rows = vec![TraceRow {
            app_event_id: "7".into(),
            app_name: "Demo".into(),
            app_start_ms: 1_000,
            app_end_ms: 9_000,
            job_id: 0,
            job_start_ms: 1_500,
            job_end_ms: 4_000,
            scale_out: 3,
        }];
        let runs = parse(&write(&rows)).unwrap();
        assert_eq!(runs[0].jobs[0].duration_ms, 2_500);
        assert_eq!(
            (runs[0].start_ms, runs[0].end_ms, runs[0].app_name.as_str()),
            (1_000, 9_000, "Demo")
        );
    }
}
