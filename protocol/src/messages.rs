//! The messages: the envelope, its four payloads, and the reply. Field names, nesting and JSON
//! types are those of `docs/PROTOCOL.md`: an existing bridge reads what Pacer sends unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The envelope: `{"event_type": NAME, "payload": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "payload")]
pub enum Event {
    #[serde(rename = "APPLICATION_START")]
    ApplicationStart(Box<ApplicationStart>),
    #[serde(rename = "JOB_START")]
    JobStart(JobStart),
    #[serde(rename = "JOB_END")]
    JobEnd(JobEnd),
    #[serde(rename = "APPLICATION_END")]
    ApplicationEnd(ApplicationEnd),
}

/// The event types as they appear in `event_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ApplicationStart,
    JobStart,
    JobEnd,
    ApplicationEnd,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::ApplicationStart,
        EventType::JobStart,
        EventType::JobEnd,
        EventType::ApplicationEnd,
    ];

    pub fn wire_name(self) -> &'static str {
        match self {
            EventType::ApplicationStart => "APPLICATION_START",
            EventType::JobStart => "JOB_START",
            EventType::JobEnd => "JOB_END",
            EventType::ApplicationEnd => "APPLICATION_END",
        }
    }

    pub fn from_wire_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.wire_name() == name)
    }
}

impl Event {
    pub fn event_type(&self) -> EventType {
        match self {
            Event::ApplicationStart(_) => EventType::ApplicationStart,
            Event::JobStart(_) => EventType::JobStart,
            Event::JobEnd(_) => EventType::JobEnd,
            Event::ApplicationEnd(_) => EventType::ApplicationEnd,
        }
    }

    /// The `app_event_id` the message carries; APPLICATION_START has none yet.
    pub fn app_event_id(&self) -> Option<&str> {
        match self {
            Event::ApplicationStart(_) => None,
            Event::JobStart(p) => Some(&p.app_event_id),
            Event::JobEnd(p) => Some(&p.app_event_id),
            Event::ApplicationEnd(p) => Some(&p.app_event_id),
        }
    }

    pub fn set_app_event_id(&mut self, id: &str) {
        let slot = match self {
            Event::ApplicationStart(_) => return,
            Event::JobStart(p) => &mut p.app_event_id,
            Event::JobEnd(p) => &mut p.app_event_id,
            Event::ApplicationEnd(p) => &mut p.app_event_id,
        };
        id.clone_into(slot);
    }

    /// The scale-out the message reported (`num_executors`); APPLICATION_START has none.
    pub fn num_executors(&self) -> Option<i64> {
        match self {
            Event::ApplicationStart(_) => None,
            Event::JobStart(p) => Some(p.num_executors),
            Event::JobEnd(p) => Some(p.num_executors),
            Event::ApplicationEnd(p) => Some(p.num_executors),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationStart {
    pub application_id: String,
    pub app_name: String,
    /// Epoch milliseconds.
    pub app_time: i64,
    pub is_adaptive: bool,
    pub is_training: bool,
    pub app_specs: AppSpecs,
    pub driver_specs: ResourceSpecs,
    pub executor_specs: ResourceSpecs,
    pub environment_specs: EnvironmentSpecs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSpecs {
    pub algorithm_name: String,
    pub algorithm_args: Vec<String>,
    pub datasize_mb: i64,
    /// Milliseconds.
    pub target_runtime: i64,
    pub min_executors: i64,
    pub max_executors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSpecs {
    pub cores: i64,
    pub memory: String,
    pub memory_overhead: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentSpecs {
    pub machine_type: String,
    pub hadoop_version: String,
    pub spark_version: String,
    pub scala_version: String,
    pub java_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStart {
    pub app_event_id: String,
    /// The job's start time, epoch milliseconds.
    pub app_time: i64,
    pub job_id: i64,
    pub num_executors: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEnd {
    pub app_event_id: String,
    /// The job's end time, epoch milliseconds.
    pub app_time: i64,
    pub job_id: i64,
    pub num_executors: i64,
    pub rescaling_time_ratio: f64,
    /// Keyed by the stage id as a decimal string.
    pub stages: BTreeMap<String, Stage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub stage_id: String,
    pub stage_name: String,
    pub num_tasks: i64,
    pub parent_stage_ids: Vec<i64>,
    pub attempt_id: i64,
    pub failure_reason: String,
    pub start_time: i64,
    pub end_time: i64,
    pub start_scale_out: i64,
    pub end_scale_out: i64,
    pub rescaling_time_ratio: f64,
    pub rdd_num_partitions: i64,
    pub rdd_num_cached_partitions: i64,
    pub rdd_mem_size: i64,
    pub rdd_disk_size: i64,
    pub metrics: StageMetrics,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StageMetrics {
    pub cpu_utilization: f64,
    pub gc_time_ratio: f64,
    pub shuffle_read_write_ratio: f64,
    pub input_output_ratio: f64,
    pub memory_spill_ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationEnd {
    pub app_event_id: String,
    pub app_time: i64,
    pub num_executors: i64,
}

/// The bridge's answer to every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub app_event_id: String,
    pub recommended_scale_out: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_wire_name(t.wire_name()), Some(t));
        }
        assert_eq!(EventType::from_wire_name("JOB_MIDDLE"), None);
    }
}
